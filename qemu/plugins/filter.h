/*
 * filter.h -- WHICH instructions ffwd's plugins count: one definition,
 * compiled into the BBV plugin (the profile's interval grid, the positions
 * file) and into the trigger (a rerun's stops), so that a rerun stops at the
 * N-th instruction the profile counted even when the kernel, interrupts and
 * other processes execute a different number of instructions in between.
 *
 * Each plugin is its own shared object loaded by QEMU, and QEMU offers no
 * way for two plugins to share code or state, so this is a header of static
 * functions; each plugin has its own copy of the state below.
 *
 * Options (plugin arguments, all combine):
 *   mode=user      only instructions of blocks in the lower (TTBR0) half of
 *                  the address space that run at EL0: user mode (ff_user_block)
 *   range=LO-HI    only blocks whose first instruction's virtual address is
 *                  in [LO, HI)
 *   roi=on         only between a region-begin hint and a region-end hint,
 *                  executed by any process (HINT #100 / #101: `ffwd-guest
 *                  roi-begin/roi-end`, FFWD_ROI_BEGIN/END of guest/ffwd-roi.h;
 *                  HINT #102 of `ffwd-guest roi -- CMD` begins too)
 *   process=roi    only the guest TASKS of the region: the task that executes
 *                  HINT #100 or #102, and every task it (or one of them)
 *                  creates afterwards with clone() -- children, their
 *                  children, threads. A task keeps its id across execve, so
 *                  `ffwd-guest roi -- CMD` (HINT #102, then execve CMD) counts
 *                  CMD, not ffwd-guest. Tasks are told apart by the id the
 *                  guest kernel writes to CONTEXTIDR_EL1 at every context
 *                  switch (CONFIG_PID_IN_CONTEXTIDR, set in Debian's arm64
 *                  kernel): the filter follows every `msr contextidr_el1, Xt`.
 *                  A task leaves the region at exit / exit_group.
 *   process=TTBR0  only while TTBR0_EL1's translation base is TTBR0 (one
 *                  address space; ASID/CnP bits ignored): follows every
 *                  `msr ttbr0_el1, Xt`.
 *
 * Counting is EXACT, per retired instruction (an inline add before each
 * instruction of a block that passes the static filters, mode and range):
 * a block cut short by an exception counts only what ran, so page faults
 * and interrupts taken at different places in a rerun do not move the count.
 * The dynamic filters (roi, process) change only at an instruction that
 * switches them (a hint, an msr, a system call), in a callback on that
 * vCPU's own thread; the count is then
 *
 *     counted = base + (active ? static_insns - mark : 0)
 *
 * with static_insns the per-instruction inline counter.
 *
 * An inline count runs BEFORE its instruction, so an instruction that
 * faults (a data abort, a first use of the FPU, an alignment fault) would
 * count once for the try and once when it runs again after the handler --
 * and how often a program faults differs between runs (page cache, fault
 * around). So at the entry of the synchronous exception vector (VBAR_EL1 +
 * 0x400 from EL0, + 0x200 from EL1 when kernel code counts), for every
 * exception class but a system call (whose instruction completes), the
 * faulting instruction (ELR_EL1) is taken out of the count again.
 *
 * Per-block counting (count=tb, what ff_count_per_block() chooses for a
 * plugin that reads counts only at block starts and once the machine is
 * stopped: icount, bbv, trigger): one inline add of the block's length,
 * before its first instruction, instead of one per instruction, and the
 * block's description stored as the vCPU's last block. A block is left early
 * only by a synchronous exception (QEMU takes interrupts between blocks; the
 * icount mode's I/O recompiles are the exception, so `--deterministic` runs
 * say count=insn), so at the synchronous vector the instructions of the last
 * block from ELR_EL1 on are taken out again: the count is the same as the
 * per-instruction one, at a fraction of the cost. Only user code (EL0) is
 * counted so: QEMU also leaves a block early, without an exception, to redo
 * an access to a device register that is not the block's last instruction
 * (cpu_io_recompile, whatever the clock mode), and only the kernel touches
 * devices. A block with a dynamic filter's callback inside it keeps the
 * per-instruction count too (a switch reads the count in mid-block).
 * Next to the filtered count, per-block counting keeps the count of every
 * instruction started (ff_all: a faulting instruction counts for its try
 * and again when it runs, as an inline count per instruction would).
 *
 * A new child is recognised either way round: when its parent returns from
 * clone() (x0 = the child's id), or when a task not yet in the region runs
 * first at the instruction after that clone's `svc` with x0 = 0 (a child
 * scheduled before its parent returns).
 */
#ifndef FFWD_PLUGIN_FILTER_H
#define FFWD_PLUGIN_FILTER_H

#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qemu-plugin-api.h"

/* every plugin uses some of these: unused ones are no warning */
#define FF_FN static __attribute__((unused))

#define FF_MAX_VCPUS 256
#define FF_MSR_MASK 0xffffffe0u
#define FF_MSR_TTBR0_EL1 0xd5182000u      /* msr ttbr0_el1, Xt (op0=3 op1=0 CRn=2 CRm=0 op2=0) */
#define FF_MSR_CONTEXTIDR_EL1 0xd518d020u /* msr contextidr_el1, Xt (CRn=13 CRm=0 op2=1) */
#define FF_SVC0 0xd4000001u               /* svc #0 */
#define FF_TTBR_BADDR 0x0000fffffffffffeULL
/* arm64 system call numbers (include/uapi/asm-generic/unistd.h) */
#define FF_NR_EXIT 93
#define FF_NR_EXIT_GROUP 94
#define FF_NR_CLONE 220
#define FF_NR_CLONE3 435
#define FF_CLONE_THREAD 0x00010000ULL

/* A translated block as the count knows it (interned: one per distinct
 * address, length and kind, whatever the number of retranslations). */
struct ff_tb {
    uint64_t va;
    uint32_t n;
    bool counted; /* passes the static filters */
    bool per_tb;  /* counted by one add at its start (else per instruction) */
};

/* The per-vCPU scoreboard entry of the count. */
struct ff_sb {
    uint64_t static_insns; /* retired instructions of statically counted blocks */
    uint64_t all_insns;    /* every instruction started (plugins that call ff_count_per_block) */
    uint64_t last_tb;      /* struct ff_tb * of the block started last (per-block counting only) */
    uint64_t stale;        /* nonzero: a dynamic filter changed on another vCPU (ff_cb_catch_up) */
};

struct ff_vcpu {
    uint64_t ttbr0; /* translation base last written */
    uint64_t tid;   /* task id last written to CONTEXTIDR_EL1 */
    unsigned gen;   /* ff.gen when `active` was last decided */
    bool active;    /* counting now (dynamic filters) */
    uint64_t base, mark;
    uint64_t armed;       /* what ff_arm added to the raw static count */
    uint64_t corrections; /* faults taken out of the raw static count */
};

/* A task of the region (process=roi). */
struct ff_task {
    uint64_t tid, tgid;
};

/* A clone() by a task of the region whose child is not known yet. */
struct ff_clone {
    uint64_t parent, tgid, ret_pc, child;
    bool thread;
};

static struct {
    /* options */
    bool user_only, roi_mode;
    uint64_t range_lo, range_hi;
    int process_mode; /* 0 none, 1 fixed TTBR0, 2 the region's tasks */
    uint64_t process_ttbr0;
    /* state */
    volatile bool roi_active;
    volatile unsigned gen; /* bumped whenever roi_active or the task set changes */
    volatile bool saw_contextidr;
    GArray *tasks;  /* struct ff_task; under mu */
    GArray *clones; /* struct ff_clone; under mu */
    GHashTable *post_svc; /* virtual addresses right after a user `svc` (TB starts to watch) */
    pthread_mutex_t mu;
    struct ff_vcpu v[FF_MAX_VCPUS];
    struct qemu_plugin_scoreboard *score;
    qemu_plugin_u64 static_insns; /* per vCPU: retired instructions of statically counted blocks */
    qemu_plugin_u64 all_insns, last_tb, stale; /* struct ff_sb */
    void (*on_switch)(unsigned v, bool active); /* told on v's thread when v starts or stops counting */
    bool per_tb, per_tb_ok;             /* count per block (ff_count_per_block) */
    GHashTable *tbs;                    /* interned struct ff_tb; under mu */
    struct qemu_plugin_register *xreg[31];
    struct qemu_plugin_register *esr, *elr, *vbar; /* ESR_EL1, ELR_EL1, VBAR_EL1 (gdbstub names) */
    struct qemu_plugin_register *cpsr;             /* PSTATE: the exception level a block is translated at */
    uint64_t kernel_low_blocks;                    /* EL1 blocks at lower-half addresses (not user code) */
    uint64_t faults_uncounted;
    const char *who; /* plugin name for messages */
    uint64_t tasks_ever, clones_missed;
} ff = {.range_hi = UINT64_MAX, .roi_active = true, .gen = 1, .mu = PTHREAD_MUTEX_INITIALIZER};

/* Does the filter need callbacks at run time (roi or process)? */
FF_FN bool ff_dynamic(void) { return ff.roi_mode || ff.process_mode; }

/* Parse one plugin argument if it is a filter option: 1 taken, 0 not a
 * filter option, -1 bad value (message printed). */
FF_FN int ff_option(const char *a)
{
    if (!strcmp(a, "mode=user"))
        ff.user_only = true;
    else if (!strcmp(a, "mode=all"))
        ff.user_only = false;
    else if (!strcmp(a, "count=insn"))
        ff.per_tb = false;
    else if (!strcmp(a, "count=tb"))
        ff.per_tb = ff.per_tb_ok;
    else if (!strcmp(a, "roi=on"))
        ff.roi_mode = true, ff.roi_active = false;
    else if (!strcmp(a, "roi=off"))
        ff.roi_mode = false, ff.roi_active = true;
    else if (!strncmp(a, "range=", 6)) {
        char *lo = g_strdup(a + 6), *dash = strchr(lo, '-');
        int bad = !dash;
        if (dash) {
            *dash = 0;
            bad = ffwd_plugin_u64(lo, &ff.range_lo) < 0 || ffwd_plugin_u64(dash + 1, &ff.range_hi) < 0 ||
                  ff.range_lo >= ff.range_hi;
        }
        g_free(lo);
        if (bad) {
            fprintf(stderr, "%s: bad range '%s' (LO-HI, LO < HI)\n", ff.who, a + 6);
            return -1;
        }
    } else if (!strcmp(a, "process=roi"))
        ff.process_mode = 2;
    else if (!strncmp(a, "process=", 8)) {
        if (ffwd_plugin_u64(a + 8, &ff.process_ttbr0) < 0) {
            fprintf(stderr, "%s: bad process '%s' (roi or a TTBR0 value)\n", ff.who, a + 8);
            return -1;
        }
        ff.process_ttbr0 &= FF_TTBR_BADDR;
        ff.process_mode = 1;
    } else
        return 0;
    return 1;
}

#define FF_OPTIONS_HELP "mode=all|user, roi=on, range=LO-HI, process=roi|TTBR0, count=tb|insn"

FF_FN void ff_init(const char *who)
{
    ff.who = who;
    ff.tasks = g_array_new(FALSE, FALSE, sizeof(struct ff_task));
    ff.clones = g_array_new(FALSE, FALSE, sizeof(struct ff_clone));
    ff.post_svc = g_hash_table_new(g_int64_hash, g_int64_equal);
    ff.tbs = g_hash_table_new(g_bytes_hash, g_bytes_equal);
    ff.score = qemu_plugin_scoreboard_new(sizeof(struct ff_sb));
    ff.static_insns = (qemu_plugin_u64){ff.score, offsetof(struct ff_sb, static_insns)};
    ff.all_insns = (qemu_plugin_u64){ff.score, offsetof(struct ff_sb, all_insns)};
    ff.last_tb = (qemu_plugin_u64){ff.score, offsetof(struct ff_sb, last_tb)};
    ff.stale = (qemu_plugin_u64){ff.score, offsetof(struct ff_sb, stale)};
}

/* A dynamic filter changed (the region began or ended, the task set
 * changed): every vCPU decides again at its next counted block -- at once
 * through ff_block_counts where a plugin calls it per block, else through
 * ff_cb_catch_up, a conditional callback on the vCPU's stale flag. */
FF_FN void ff_changed(void)
{
    ff.gen++;
    for (int i = 0; i < qemu_plugin_num_vcpus() && i < FF_MAX_VCPUS; i++)
        qemu_plugin_u64_set(ff.stale, (unsigned)i, 1);
}

/* The plugin reads counts only at block starts (its block callbacks) and
 * once the vCPUs are stopped: count per block unless count=insn says not.
 * Call after ff_init, before the options. */
FF_FN void ff_count_per_block(void) { ff.per_tb = ff.per_tb_ok = true; }

/* Do the static filters pass every instruction? Then the count of every
 * instruction started is the raw static count plus one per correction (a
 * faulting instruction counts for its try): no add of its own. */
FF_FN bool ff_static_all(void) { return !ff.user_only && ff.range_lo == 0 && ff.range_hi == UINT64_MAX; }

/* Every instruction started on vCPU v (plugins that called ff_count_per_block). */
FF_FN uint64_t ff_all(unsigned v)
{
    if (v < FF_MAX_VCPUS && ff_static_all())
        return qemu_plugin_u64_get(ff.static_insns, v) - ff.v[v].armed + ff.v[v].corrections;
    return qemu_plugin_u64_get(ff.all_insns, v);
}
FF_FN uint64_t ff_all_sum(void)
{
    uint64_t sum = 0;
    for (int i = 0; i < qemu_plugin_num_vcpus(); i++)
        sum += ff_all((unsigned)i);
    return sum;
}

/* Register handles are the same for every vCPU: look them up once (from a
 * vCPU-init callback: QEMU lists registers only there). */
FF_FN void ff_vcpu_init(void)
{
    if (ff.xreg[0] || ff.esr)
        return;
    pthread_mutex_lock(&ff.mu);
    GArray *regs = qemu_plugin_get_registers();
    for (guint i = 0; regs && i < regs->len; i++) {
        qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
        unsigned r;
        char tail;
        if (d->name && sscanf(d->name, "x%u%c", &r, &tail) == 1 && r < 31)
            ff.xreg[r] = d->handle;
        else if (d->name && !strcmp(d->name, "ESR_EL1"))
            ff.esr = d->handle;
        else if (d->name && !strcmp(d->name, "ELR_EL1"))
            ff.elr = d->handle;
        else if (d->name && !strcmp(d->name, "VBAR"))
            ff.vbar = d->handle;
        else if (d->name && !strcmp(d->name, "cpsr"))
            ff.cpsr = d->handle;
    }
    if (regs)
        g_array_free(regs, TRUE);
    pthread_mutex_unlock(&ff.mu);
    if (!ff.xreg[0] && ff.process_mode)
        fprintf(stderr, "%s: QEMU lists no x0..x30 registers: process=... cannot follow the guest\n", ff.who);
    if (!ff.esr || !ff.elr || !ff.vbar)
        fprintf(stderr, "%s: QEMU lists no ESR_EL1/ELR_EL1/VBAR: a faulting instruction counts twice\n", ff.who);
    if (!ff.cpsr && ff.user_only)
        fprintf(stderr, "%s: QEMU lists no cpsr: kernel code at lower-half addresses counts as user code\n", ff.who);
}

FF_FN uint64_t ff_reg(struct qemu_plugin_register *h)
{
    uint64_t val = 0;
    if (h) {
        GByteArray *buf = g_byte_array_sized_new(8);
        int n = qemu_plugin_read_register(h, buf);
        if (n > 0)
            memcpy(&val, buf->data, n >= 8 ? 8 : (size_t)n);
        g_byte_array_free(buf, TRUE);
    }
    return val;
}

FF_FN uint64_t ff_xreg(unsigned r)
{
    uint64_t val = 0;
    if (r < 31 && ff.xreg[r]) {
        GByteArray *buf = g_byte_array_sized_new(8);
        if (qemu_plugin_read_register(ff.xreg[r], buf) >= 8)
            memcpy(&val, buf->data, 8);
        g_byte_array_free(buf, TRUE);
    }
    return val;
}

/* Is task `tid` in the region? Under mu. */
FF_FN struct ff_task *ff_task_find(uint64_t tid)
{
    for (guint i = 0; i < ff.tasks->len; i++) {
        struct ff_task *t = &g_array_index(ff.tasks, struct ff_task, i);
        if (t->tid == tid)
            return t;
    }
    return NULL;
}

/* Under mu. */
FF_FN void ff_task_add(uint64_t tid, uint64_t tgid)
{
    if (!tid || ff_task_find(tid))
        return;
    struct ff_task t = {tid, tgid};
    g_array_append_val(ff.tasks, t);
    ff.tasks_ever++;
    ff_changed();
}

/* What the dynamic filters say for vCPU v right now. */
FF_FN bool ff_wanted(unsigned v)
{
    if (!ff.roi_active)
        return false;
    switch (ff.process_mode) {
    case 1:
        return ff.v[v].ttbr0 == ff.process_ttbr0;
    case 2: {
        pthread_mutex_lock(&ff.mu);
        bool in = ff_task_find(ff.v[v].tid) != NULL;
        pthread_mutex_unlock(&ff.mu);
        return in;
    }
    default:
        return true;
    }
}

/* Re-decide whether vCPU v counts; on its own thread. */
FF_FN void ff_update(unsigned v)
{
    struct ff_vcpu *c = &ff.v[v];
    unsigned gen = ff.gen;
    bool want = ff_wanted(v);
    c->gen = gen;
    if (want == c->active)
        return;
    uint64_t s = qemu_plugin_u64_get(ff.static_insns, v);
    if (want)
        c->mark = s;
    else
        c->base += s - c->mark;
    c->active = want;
    if (ff.on_switch)
        ff.on_switch(v, want);
}

/* Counted instructions of vCPU v so far (exact once v is stopped). */
FF_FN uint64_t ff_counted(unsigned v)
{
    if (v >= FF_MAX_VCPUS)
        return 0;
    if (!ff_dynamic())
        return qemu_plugin_u64_get(ff.static_insns, v) - ff.v[v].armed;
    struct ff_vcpu *c = &ff.v[v];
    return c->base + (c->active ? qemu_plugin_u64_get(ff.static_insns, v) - c->mark : 0);
}

/* The raw static count doubles as an alarm: a block-level conditional
 * callback on ff.static_insns >= FF_ALARM (ff_register_alarm) runs once
 * `distance` more instructions have been counted on vCPU v. The counts do
 * not change. Own vCPU thread only (the inline add is a plain read-modify-
 * write). */
#define FF_ALARM (1ULL << 62)
FF_FN void ff_arm(unsigned v, uint64_t distance)
{
    if (v >= FF_MAX_VCPUS)
        return;
    uint64_t raw = qemu_plugin_u64_get(ff.static_insns, v), want = FF_ALARM - distance;
    qemu_plugin_u64_set(ff.static_insns, v, want);
    ff.v[v].armed += want - raw;
    ff.v[v].mark += want - raw; /* a dynamic filter's mark is a raw count too */
}

FF_FN void ff_register_alarm(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb, void *udata)
{
    qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, cb, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_GE, ff.static_insns,
                                             FF_ALARM, udata);
}

/* At the start of a statically counted block (dynamic filters only): does
 * vCPU v count it? Catches up with a change made on another vCPU. */
FF_FN bool ff_block_counts(unsigned v)
{
    if (v >= FF_MAX_VCPUS)
        return false;
    if (ff.v[v].gen != ff.gen)
        ff_update(v);
    return ff.v[v].active;
}

/* A block-level conditional callback on ff.stale != 0 (for plugins without
 * a callback per block): vCPU v catches up with a change made elsewhere. */
FF_FN void ff_cb_catch_up(unsigned v, void *udata)
{
    (void)udata;
    if (v >= FF_MAX_VCPUS)
        return;
    qemu_plugin_u64_set(ff.stale, v, 0); /* before gen is read: a change after it is seen next time */
    ff_block_counts(v);
}

/* ---- callbacks at the instructions that switch the dynamic filters ---- */

FF_FN void ff_cb_hint(unsigned v, void *udata)
{
    uint32_t w = (uint32_t)(uintptr_t)udata;
    if (v >= FF_MAX_VCPUS)
        return;
    if (ff.process_mode == 2 && (w == FFWD_HINT_ROI_BEGIN || w == FFWD_HINT_ROI_TREE)) {
        if (!ff.saw_contextidr)
            fprintf(stderr,
                    "%s: the guest kernel never wrote CONTEXTIDR_EL1 (it needs CONFIG_PID_IN_CONTEXTIDR): "
                    "process=roi cannot tell tasks apart and counts nothing\n",
                    ff.who);
        else {
            pthread_mutex_lock(&ff.mu);
            ff_task_add(ff.v[v].tid, ff.v[v].tid);
            pthread_mutex_unlock(&ff.mu);
        }
    }
    if (ff.roi_mode && w != FFWD_HINT_ROI_END && !ff.roi_active)
        ff.roi_active = true, ff_changed();
    else if (ff.roi_mode && w == FFWD_HINT_ROI_END && ff.roi_active)
        ff.roi_active = false, ff_changed();
    ff_update(v);
}

FF_FN void ff_cb_ttbr0(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    ff.v[v].ttbr0 = ff_xreg((unsigned)(uintptr_t)udata) & FF_TTBR_BADDR;
    ff_update(v);
}

FF_FN void ff_cb_contextidr(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    ff.v[v].tid = ff_xreg((unsigned)(uintptr_t)udata) & 0xffffffffu;
    ff.saw_contextidr = true;
    ff_update(v);
}

/* Before a user-mode `svc #0`: clone and exit of the region's tasks. */
FF_FN void ff_cb_svc(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    uint64_t tid = ff.v[v].tid;
    pthread_mutex_lock(&ff.mu);
    struct ff_task *t = ff_task_find(tid);
    if (t) {
        uint64_t nr = ff_xreg(8), pc = (uint64_t)(uintptr_t)udata;
        if (nr == FF_NR_CLONE || nr == FF_NR_CLONE3) {
            /* clone3's flags are in memory: its children count as processes */
            struct ff_clone c = {.parent = tid, .tgid = t->tgid, .ret_pc = pc + 4,
                                 .thread = nr == FF_NR_CLONE && (ff_xreg(0) & FF_CLONE_THREAD)};
            g_array_append_val(ff.clones, c);
        } else if (nr == FF_NR_EXIT) {
            g_array_remove_index_fast(ff.tasks, (guint)(t - &g_array_index(ff.tasks, struct ff_task, 0)));
            ff_changed();
        } else if (nr == FF_NR_EXIT_GROUP) {
            uint64_t g = t->tgid;
            for (guint i = ff.tasks->len; i-- > 0;)
                if (g_array_index(ff.tasks, struct ff_task, i).tgid == g)
                    g_array_remove_index_fast(ff.tasks, i);
            ff_changed();
        }
    }
    pthread_mutex_unlock(&ff.mu);
    ff_update(v);
}

/* At a block right after some user `svc`: a clone by the region returning,
 * in the parent (x0 = child id) or in the child (x0 = 0). */
FF_FN void ff_cb_after_svc(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    uint64_t pc = (uint64_t)(uintptr_t)udata, tid = ff.v[v].tid;
    pthread_mutex_lock(&ff.mu);
    if (!ff.clones->len) {
        pthread_mutex_unlock(&ff.mu);
        return;
    }
    uint64_t x0 = ff_xreg(0);
    for (guint i = 0; i < ff.clones->len; i++) {
        struct ff_clone *c = &g_array_index(ff.clones, struct ff_clone, i);
        if (c->ret_pc != pc)
            continue;
        if (c->parent == tid) {
            if ((int64_t)x0 > 0 && c->child && c->child != x0) {
                /* a task taken for this child was another's: the count ran with it */
                struct ff_task *w = ff_task_find(c->child);
                if (w)
                    g_array_remove_index_fast(ff.tasks, (guint)(w - &g_array_index(ff.tasks, struct ff_task, 0)));
                ff.clones_missed++;
            }
            if ((int64_t)x0 > 0)
                ff_task_add(x0, c->thread ? c->tgid : x0);
            g_array_remove_index_fast(ff.clones, i);
            ff_changed();
            break;
        }
        if (x0 == 0 && !c->child && !ff_task_find(tid)) {
            c->child = tid; /* the child runs before its parent returned */
            ff_task_add(tid, c->thread ? c->tgid : tid);
            break;
        }
    }
    pthread_mutex_unlock(&ff.mu);
    ff_update(v);
}

/* At a kernel block at offset 0x400 (from EL0) or 0x200 (from EL1) of a
 * 2 KiB-aligned table: if it is the synchronous exception vector, take the
 * faulting instruction out of the count (it runs again after the handler). */
FF_FN void ff_cb_sync(unsigned v, void *udata)
{
    uint64_t va = (uint64_t)(uintptr_t)udata;
    if (v >= FF_MAX_VCPUS || !ff.vbar || !ff.esr || !ff.elr)
        return;
    if (va != (ff_reg(ff.vbar) & ~0x7ffULL) + (va & 0x7ff))
        return;
    unsigned ec = (unsigned)(ff_reg(ff.esr) >> 26) & 0x3f;
    /* SVC/HVC/SMC (AArch32 0x11-0x13, AArch64 0x15-0x17) complete (and end
     * their block); an instruction abort (0x20, 0x21) or a misaligned PC
     * (0x22) is raised when the instruction is fetched, before anything
     * counted it (an AArch64 block never crosses a page) */
    if ((ec >= 0x11 && ec <= 0x13) || (ec >= 0x15 && ec <= 0x17) || (ec >= 0x20 && ec <= 0x22))
        return;
    uint64_t pc = ff_reg(ff.elr), not_run = 1; /* per instruction: the faulting one only */
    bool counted;
    const struct ff_tb *t = ff.per_tb ? (const struct ff_tb *)(uintptr_t)qemu_plugin_u64_get(ff.last_tb, v) : NULL;
    if (t && pc >= t->va && pc - t->va < 4ULL * t->n) {
        /* the block the fault left: counted whole at its start, so what
         * did not run comes out -- the faulting instruction and the rest
         * (of every instruction started, only the rest) */
        uint64_t idx = (pc - t->va) / 4;
        if (t->per_tb) {
            not_run = t->n - idx;
            if (!ff_static_all())
                qemu_plugin_u64_set(ff.all_insns, v, qemu_plugin_u64_get(ff.all_insns, v) - (not_run - 1));
        }
        counted = t->counted;
    } else
        counted = (!ff.user_only || !(pc >> 48)) && pc >= ff.range_lo && pc < ff.range_hi;
    if (!counted)
        return;
    /* the raw count (counted = raw - armed, or base + raw - mark while a
     * dynamic filter is active: when it is not, the next activation marks
     * the raw count afresh) */
    qemu_plugin_u64_set(ff.static_insns, v, qemu_plugin_u64_get(ff.static_insns, v) - not_run);
    ff.v[v].corrections++;
    if (!ff_dynamic() || ff.v[v].active)
        ff.faults_uncounted++;
}

/* The interned description of a block (its address is what the block
 * stores as the vCPU's last one). */
FF_FN const struct ff_tb *ff_tb_info(uint64_t va, size_t n, bool counted, bool per_tb)
{
    struct ff_tb key;
    memset(&key, 0, sizeof key); /* the padding is hashed too */
    key.va = va;
    key.n = (uint32_t)n;
    key.counted = counted;
    key.per_tb = per_tb;
    GBytes *k = g_bytes_new(&key, sizeof key);
    pthread_mutex_lock(&ff.mu);
    GBytes *have = g_hash_table_lookup(ff.tbs, k);
    if (!have) {
        g_hash_table_add(ff.tbs, k);
        have = k;
    } else
        g_bytes_unref(k);
    pthread_mutex_unlock(&ff.mu);
    return g_bytes_get_data(have, NULL);
}

/* ---- translation ---- */

/* Is a block at lower-half address va user code? The address alone does not
 * say: the kernel runs some code at its physical address (the early boot
 * with the MMU off, the identity map: __pi_memset, clear_page), and QEMU
 * keys AArch64 blocks by physical page (CF_PCREL), so the block translated
 * there then also serves the kernel's memset at its own address -- counted
 * as user code, a few hundred instructions more or less whenever the kernel
 * zeroes memory. A block is translated on the vCPU that is about to run it,
 * so PSTATE.EL now is the block's exception level. */
FF_FN bool ff_user_block(uint64_t va)
{
    if (va >> 48)
        return false;
    if (!ff.cpsr)
        return true;
    uint64_t ps = ff_reg(ff.cpsr);
    if (((ps >> 2) & 3) == 0)
        return true;
    ff.kernel_low_blocks++;
    return false;
}

/* Does instruction word w get a dynamic filter's callback? */
FF_FN bool ff_switch_insn(uint32_t w, bool user)
{
    return ((ff.roi_mode || ff.process_mode == 2) &&
            (w == FFWD_HINT_ROI_BEGIN || w == FFWD_HINT_ROI_END || w == FFWD_HINT_ROI_TREE)) ||
           (ff.process_mode == 1 && (w & FF_MSR_MASK) == FF_MSR_TTBR0_EL1) ||
           (ff.process_mode == 2 && (w & FF_MSR_MASK) == FF_MSR_CONTEXTIDR_EL1) ||
           (ff.process_mode == 2 && user && w == FF_SVC0);
}

/* Instrument a new block: the callbacks of the dynamic filters, and the
 * exact count of statically counted blocks (per instruction, or per block
 * with the correction of ff_cb_sync). Returns whether the block passes the
 * static filters (mode, range). */
FF_FN bool ff_tb_trans(struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint64_t va = qemu_plugin_tb_vaddr(tb);
    bool user = ff_user_block(va);
    bool counted = (!ff.user_only || user) && va >= ff.range_lo && va < ff.range_hi && n;
    if (!user && n && ((va & 0x7ff) == 0x400 || (!ff.user_only && (va & 0x7ff) == 0x200)))
        qemu_plugin_register_vcpu_tb_exec_cb(tb, ff_cb_sync, QEMU_PLUGIN_CB_R_REGS, (void *)(uintptr_t)va);
    bool watch = false;
    if (ff.process_mode == 2 && user && n) {
        pthread_mutex_lock(&ff.mu);
        watch = g_hash_table_contains(ff.post_svc, &va);
        pthread_mutex_unlock(&ff.mu);
        /* at block level, before every callback the plugin registers: a
         * child that returns from clone() before its parent (always after a
         * vfork: busybox's xargs, glibc's posix_spawn and system()) joins
         * the region here, and its first block counts, in the count and in
         * a plugin's decision at the block's start alike */
        if (watch)
            qemu_plugin_register_vcpu_tb_exec_cb(tb, ff_cb_after_svc, QEMU_PLUGIN_CB_R_REGS, (void *)(uintptr_t)va);
    }
    /* user code only: kernel code reads device registers, and QEMU leaves
     * a block early, without an exception, to redo an I/O access that is not
     * its last instruction (cpu_io_recompile) */
    bool per_tb = ff.per_tb && n && user && !watch;
    for (size_t i = 0; per_tb && ff_dynamic() && i < n; i++) {
        uint32_t w = 0;
        if (qemu_plugin_insn_data(qemu_plugin_tb_get_insn(tb, i), &w, 4) == 4 && ff_switch_insn(w, user))
            per_tb = false;
    }
    if (ff.per_tb && n) {
        /* on the first instruction, after every block-level callback (they
         * see the count before the block, as with a count per instruction) */
        struct qemu_plugin_insn *first = qemu_plugin_tb_get_insn(tb, 0);
        const struct ff_tb *info = ff_tb_info(va, n, counted, per_tb);
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(first, QEMU_PLUGIN_INLINE_STORE_U64, ff.last_tb,
                                                            (uint64_t)(uintptr_t)info);
        if (per_tb) {
            if (!ff_static_all())
                qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(first, QEMU_PLUGIN_INLINE_ADD_U64, ff.all_insns,
                                                                    n);
            if (counted)
                qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(first, QEMU_PLUGIN_INLINE_ADD_U64,
                                                                    ff.static_insns, n);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (ff.per_tb_ok && !per_tb && !ff_static_all()) /* the plugin reads ff_all */
            qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, ff.all_insns, 1);
        if (counted && !per_tb)
            qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, ff.static_insns,
                                                                1);
        if (!ff_dynamic())
            continue;
        uint32_t w = 0;
        if (qemu_plugin_insn_data(insn, &w, 4) != 4)
            continue;
        if ((ff.roi_mode || ff.process_mode == 2) &&
            (w == FFWD_HINT_ROI_BEGIN || w == FFWD_HINT_ROI_END || w == FFWD_HINT_ROI_TREE))
            qemu_plugin_register_vcpu_insn_exec_cb(insn, ff_cb_hint, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)w);
        if (ff.process_mode == 1 && (w & FF_MSR_MASK) == FF_MSR_TTBR0_EL1)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, ff_cb_ttbr0, QEMU_PLUGIN_CB_R_REGS,
                                                   (void *)(uintptr_t)(w & 31u));
        if (ff.process_mode == 2 && (w & FF_MSR_MASK) == FF_MSR_CONTEXTIDR_EL1)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, ff_cb_contextidr, QEMU_PLUGIN_CB_R_REGS,
                                                   (void *)(uintptr_t)(w & 31u));
        if (ff.process_mode == 2 && user && w == FF_SVC0) {
            uint64_t pc = qemu_plugin_insn_vaddr(insn), next = pc + 4;
            qemu_plugin_register_vcpu_insn_exec_cb(insn, ff_cb_svc, QEMU_PLUGIN_CB_R_REGS, (void *)(uintptr_t)pc);
            pthread_mutex_lock(&ff.mu);
            if (!g_hash_table_contains(ff.post_svc, &next)) {
                uint64_t *k = g_new(uint64_t, 1);
                *k = next;
                g_hash_table_add(ff.post_svc, k);
            }
            pthread_mutex_unlock(&ff.mu);
        }
    }
    return counted;
}

/* A one-line summary of what was followed (for the plugin's exit message). */
FF_FN void ff_summary(FILE *f)
{
    fprintf(f, "%s: %llu faulting instructions taken out of the count; %llu kernel blocks at lower-half addresses\n",
            ff.who, (unsigned long long)ff.faults_uncounted, (unsigned long long)ff.kernel_low_blocks);
    if (ff.process_mode == 2)
        fprintf(f, "%s: process=roi followed %llu task(s)%s\n", ff.who, (unsigned long long)ff.tasks_ever,
                ff.clones_missed ? " (a child was mistaken for another task once: counts may differ)" : "");
}

#endif
