/*
 * bbv.c -- basic-block vectors for SimPoint (QEMU TCG plugin, API v4).
 *
 *   -plugin libffwd-bbv.so,out=PREFIX[,interval=N][,mode=all|user][,roi=on]
 *                         [,range=LO-HI][,process=roi|TTBR0]
 *
 * For every vCPU, every N counted instructions (default 100 million) one
 * line in SimPoint 3.2's format goes to PREFIX.<vcpu>.bb.gz:
 *
 *     T:<id>:<count> :<id>:<count> ...
 *
 * ids from 1 in order of first appearance, sorted within a line; count =
 * instructions executed in that block during the interval. An interval
 * closes at the first block boundary at or after N counted instructions, so
 * it holds N plus less than one block.
 *
 * Block identity: the host address of the block's first instruction (a
 * pointer into guest RAM, i.e. its guest-PHYSICAL location, which neither
 * retranslation nor a different virtual mapping of the same page changes)
 * plus the block length. Blocks outside RAM (no host address) fall back to
 * the virtual address. The id is assigned once and kept for the whole run.
 *
 * What is counted (all filters combine):
 *   mode=user      only blocks in the lower, TTBR0 half of the address space
 *   roi=on         only between `ffwd-guest roi-begin` and `roi-end` (the
 *                  otherwise unused hints HINT #100 / #101, any process)
 *   range=LO-HI    only blocks whose first instruction's virtual address is
 *                  in [LO, HI) (hex or decimal)
 *   process=TTBR0  only while this vCPU's TTBR0_EL1 translation table base is
 *                  TTBR0 (ASID and CnP bits ignored); process=roi takes the
 *                  address space that executes the first roi-begin hint
 *                  (a workload that marks itself, see guest/ffwd-roi.h).
 *                  The plugin follows every `msr ttbr0_el1, Xt` the kernel
 *                  executes (context switches), reading Xt at that point.
 *
 * PREFIX.positions: one line per interval START with the exact retired-
 * instruction counts at that point (all instructions, counted or not):
 *     <vcpu> <interval> <all vCPUs together> <this vCPU>
 * so that an instruction-count trigger (libffwd-trigger.so) reaches the
 * start of a chosen interval again in a rerun.
 */
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

#define MSR_TTBR0_MASK 0xffffffe0u
#define MSR_TTBR0_EL1 0xd5182000u /* msr ttbr0_el1, Xt (op0=3 op1=0 CRn=2 CRm=0 op2=0) */
#define TTBR_BADDR 0x0000fffffffffffeULL
#define MAX_VCPUS 64

struct block {
    uint64_t id;
    unsigned n;
    uint64_t count[MAX_VCPUS]; /* in the current interval */
};

struct vcpu {
    gzFile out;
    uint64_t counted;      /* instructions counted into BBVs so far */
    uint64_t interval_end; /* value of `counted` at which the interval closes */
    GPtrArray *touched;    /* blocks with count > 0 in this interval */
    uint64_t intervals;    /* lines written */
    bool started;          /* the first interval's start was recorded */
    uint64_t ttbr0;        /* last value written to TTBR0_EL1 (translation base only) */
};

static GHashTable *blocks; /* key: "haddr:n"; value: struct block* */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_id = 1, interval = 100000000ULL;
static struct vcpu vcpus[MAX_VCPUS];
static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 exact; /* exact retired instructions per vCPU */
static char *prefix;
static FILE *positions;
static int user_only, roi_mode, roi_active = 1;
static uint64_t range_lo, range_hi = UINT64_MAX;
static int process_mode; /* 0 none, 1 fixed TTBR0, 2 taken at roi-begin */
static uint64_t process_ttbr0;
static volatile int process_known;
static struct qemu_plugin_register *xreg[31]; /* x0..x30 */

static int cmp_id(const void *a, const void *b)
{
    const struct block *x = *(struct block *const *)a, *y = *(struct block *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Record that vCPU v's next interval starts now (before the current block). */
static void record_start(unsigned v)
{
    pthread_mutex_lock(&mu);
    if (positions)
        fprintf(positions, "%u %llu %llu %llu\n", v, (unsigned long long)vcpus[v].intervals,
                (unsigned long long)qemu_plugin_u64_sum(exact), (unsigned long long)qemu_plugin_u64_get(exact, v));
    pthread_mutex_unlock(&mu);
}

/* Close vCPU v's interval: one "T:..." line, counts reset. Called from v's
 * own thread, or at exit when every vCPU has stopped. */
static void close_interval(unsigned v)
{
    struct vcpu *c = &vcpus[v];
    if (!c->out)
        return;
    g_ptr_array_sort(c->touched, cmp_id);
    gzputs(c->out, "T");
    for (guint i = 0; i < c->touched->len; i++) {
        struct block *b = g_ptr_array_index(c->touched, i);
        gzprintf(c->out, ":%llu:%llu ", (unsigned long long)b->id, (unsigned long long)b->count[v]);
        b->count[v] = 0;
    }
    gzputs(c->out, "\n");
    g_ptr_array_set_size(c->touched, 0);
    c->intervals++;
}

static void block_exec(unsigned v, void *udata)
{
    struct block *b = udata;
    if (v >= MAX_VCPUS || !roi_active)
        return;
    struct vcpu *c = &vcpus[v];
    if (process_mode && (!process_known || c->ttbr0 != process_ttbr0))
        return;
    /* Per-vCPU state is only touched by its own vCPU thread (and at exit);
     * the lock guards the shared positions file only. */
    if (!c->started) {
        c->started = true;
        record_start(v);
    } else if (c->counted >= c->interval_end) {
        close_interval(v);
        c->interval_end += interval;
        record_start(v);
    }
    if (b->count[v] == 0)
        g_ptr_array_add(c->touched, b);
    b->count[v] += b->n;
    c->counted += b->n;
}

static void roi_hint(unsigned v, void *udata)
{
    if (udata && process_mode == 2 && !process_known && v < MAX_VCPUS) {
        process_ttbr0 = vcpus[v].ttbr0;
        process_known = 1;
    }
    if (roi_mode)
        roi_active = udata != NULL;
}

/* Before `msr ttbr0_el1, Xt` executes: remember the new translation base. */
static void ttbr0_write(unsigned v, void *udata)
{
    unsigned rt = (unsigned)(uintptr_t)udata;
    uint64_t val = 0;
    if (v >= MAX_VCPUS)
        return;
    if (rt < 31 && xreg[rt]) {
        GByteArray *buf = g_byte_array_sized_new(8);
        if (qemu_plugin_read_register(xreg[rt], buf) >= 8)
            memcpy(&val, buf->data, 8);
        g_byte_array_free(buf, TRUE);
    }
    vcpus[v].ttbr0 = val & TTBR_BADDR;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, exact, 1);
        if (!roi_mode && !process_mode)
            continue;
        uint32_t w = 0;
        if (qemu_plugin_insn_data(insn, &w, 4) != 4)
            continue;
        if ((roi_mode || process_mode == 2) && (w == FFWD_HINT_ROI_BEGIN || w == FFWD_HINT_ROI_END))
            qemu_plugin_register_vcpu_insn_exec_cb(insn, roi_hint, QEMU_PLUGIN_CB_NO_REGS,
                                                   w == FFWD_HINT_ROI_BEGIN ? (void *)1 : NULL);
        if (process_mode && (w & MSR_TTBR0_MASK) == MSR_TTBR0_EL1)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, ttbr0_write, QEMU_PLUGIN_CB_R_REGS,
                                                   (void *)(uintptr_t)(w & 31u));
    }
    uint64_t va = qemu_plugin_tb_vaddr(tb);
    if (user_only && (va >> 48))
        return; /* kernel half: not counted in user mode */
    if (va < range_lo || va >= range_hi)
        return;
    void *ha = n ? qemu_plugin_insn_haddr(qemu_plugin_tb_get_insn(tb, 0)) : NULL;
    char key[48];
    snprintf(key, sizeof key, "%c%llx:%zu", ha ? 'p' : 'v', (unsigned long long)(ha ? (uintptr_t)ha : va), n);
    pthread_mutex_lock(&mu);
    struct block *b = g_hash_table_lookup(blocks, key);
    if (!b) {
        b = g_new0(struct block, 1);
        b->id = next_id++;
        b->n = (unsigned)n;
        g_hash_table_insert(blocks, g_strdup(key), b);
    }
    pthread_mutex_unlock(&mu);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    for (int v = 0; v < MAX_VCPUS; v++) {
        if (!vcpus[v].out)
            continue;
        if (vcpus[v].touched->len)
            close_interval((unsigned)v); /* the last, partial interval */
        gzclose(vcpus[v].out);
        vcpus[v].out = NULL;
    }
    pthread_mutex_lock(&mu);
    if (positions)
        fclose(positions);
    positions = NULL;
    pthread_mutex_unlock(&mu);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned v)
{
    (void)id;
    if (v >= MAX_VCPUS)
        return;
    char *path = g_strdup_printf("%s.%u.bb.gz", prefix, v);
    pthread_mutex_lock(&mu);
    vcpus[v].out = gzopen(path, "wb6");
    vcpus[v].touched = g_ptr_array_new();
    vcpus[v].interval_end = interval;
    if (process_mode && !xreg[0]) {
        /* register handles are the same for every vCPU of the machine */
        GArray *regs = qemu_plugin_get_registers();
        for (guint i = 0; regs && i < regs->len; i++) {
            qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
            unsigned r;
            char tail;
            if (d->name && sscanf(d->name, "x%u%c", &r, &tail) == 1 && r < 31)
                xreg[r] = d->handle;
        }
        if (regs)
            g_array_free(regs, TRUE);
    }
    pthread_mutex_unlock(&mu);
    if (!vcpus[v].out)
        fprintf(stderr, "ffwd-bbv: cannot write %s\n", path);
    if (process_mode && !xreg[0])
        fprintf(stderr, "ffwd-bbv: QEMU lists no x0..x30 registers: process=... cannot follow TTBR0\n");
    g_free(path);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-bbv", info))
        return -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "out=", 4))
            prefix = g_strdup(a + 4);
        else if (!strncmp(a, "interval=", 9)) {
            if (ffwd_plugin_u64(a + 9, &interval) < 0 || !interval) {
                fprintf(stderr, "ffwd-bbv: bad interval '%s'\n", a + 9);
                return -1;
            }
        } else if (!strcmp(a, "mode=user"))
            user_only = 1;
        else if (!strcmp(a, "mode=all"))
            user_only = 0;
        else if (!strcmp(a, "roi=on"))
            roi_mode = 1, roi_active = 0;
        else if (!strcmp(a, "roi=off"))
            roi_mode = 0, roi_active = 1;
        else if (!strncmp(a, "range=", 6)) {
            char *lo = g_strdup(a + 6), *dash = strchr(lo, '-');
            int bad = !dash;
            if (dash) {
                *dash = 0;
                bad = ffwd_plugin_u64(lo, &range_lo) < 0 || ffwd_plugin_u64(dash + 1, &range_hi) < 0 || range_lo >= range_hi;
            }
            g_free(lo);
            if (bad) {
                fprintf(stderr, "ffwd-bbv: bad range '%s' (LO-HI, LO < HI)\n", a + 6);
                return -1;
            }
        } else if (!strcmp(a, "process=roi"))
            process_mode = 2;
        else if (!strncmp(a, "process=", 8)) {
            if (ffwd_plugin_u64(a + 8, &process_ttbr0) < 0) {
                fprintf(stderr, "ffwd-bbv: bad process '%s' (roi or a TTBR0 value)\n", a + 8);
                return -1;
            }
            process_ttbr0 &= TTBR_BADDR;
            process_mode = 1, process_known = 1;
        } else {
            fprintf(stderr,
                    "ffwd-bbv: unknown option '%s' (out=PREFIX, interval=N, mode=all|user, roi=on, range=LO-HI, "
                    "process=roi|TTBR0)\n",
                    a);
            return -1;
        }
    }
    if (!prefix) {
        fprintf(stderr, "ffwd-bbv: needs out=PREFIX\n");
        return -1;
    }
    char *pp = g_strdup_printf("%s.positions", prefix);
    positions = fopen(pp, "w");
    g_free(pp);
    if (!positions) {
        fprintf(stderr, "ffwd-bbv: cannot write %s.positions\n", prefix);
        return -1;
    }
    fprintf(positions, "# ffwd-bbv positions: interval=%llu\n# vcpu interval insns_all_vcpus insns_this_vcpu\n",
            (unsigned long long)interval);
    blocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
    exact = (qemu_plugin_u64){score, 0};
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
