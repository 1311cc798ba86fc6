/* run.c -- see run.h. */
#include "run.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/capture.h"
#include "../common/log.h"
#include "../guest/protocol.h"

static void prog(const struct ffwd_run_opts *o, const char *fmt, ...) FFWD_PRINTF(2, 3);
static void prog(const struct ffwd_run_opts *o, const char *fmt, ...)
{
    if (!o->progress)
        return;
    char buf[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ffwd_progress("%s", buf);
}

/* Capture the stopped machine into o->capture_dir under a unique name. */
static int do_capture_ic(struct ffwd_vm *vm, const struct ffwd_run_opts *o, struct ffwd_run_result *res,
                         const char *base, const char *kind, const char *detail, int64_t total,
                         const uint64_t *per_vcpu, unsigned nv)
{
    /* only an instruction-count stop is exact; a marker or a checkpoint
     * handshake may move on a few ms (the guest waits or has moved on) */
    const bool exact = !strcmp(kind, "icount");
    char name[200];
    for (int n = 0;; n++) {
        if (n == 0)
            snprintf(name, sizeof name, "%s", base);
        else
            snprintf(name, sizeof name, "%s-%d", base, n);
        char *p = xasprintf("%s/%s", o->capture_dir, name);
        bool exists = path_exists(p);
        free(p);
        if (!exists)
            break;
    }
    struct ffwd_capture_opts co = {.run_dir = vm->run_dir,
                                   .out_dir = o->capture_dir,
                                   .name = name,
                                   .resume = false,
                                   .may_settle = !exact,
                                   .undo_irq_entry = exact,
                                   .qmp = vm->qmp,
                                   .trigger = kind,
                                   .trigger_detail = detail ? detail : base,
                                   .icount_total = total,
                                   .icount_vcpu = per_vcpu,
                                   .icount_nvcpu = nv};
    struct ffwd_capture_result cr;
    if (ffwd_capture(&co, &cr) < 0)
        return -1;
    if (res->ncaptures == res->cap_captures) {
        res->cap_captures = res->cap_captures ? 2 * res->cap_captures : 16;
        res->captures = xrealloc(res->captures, res->cap_captures * sizeof *res->captures);
        res->capture_target = xrealloc(res->capture_target, res->cap_captures * sizeof *res->capture_target);
    }
    res->capture_target[res->ncaptures] = 0;
    res->captures[res->ncaptures++] = xstrdup(cr.path);
    if (cr.irq_entries_undone)
        prog(o, "%s: %u vCPU(s) had just taken an interrupt raised while the stop was on its way: captured right "
                "before it (the interrupt stays pending)",
             cr.path, cr.irq_entries_undone);
    if (cr.settle_attempts)
        prog(o, "captured %s (%s, VM stopped %.2f s; it ran 2 ms more %u time(s) to leave a disk request or an "
                "interrupt handler)",
             cr.path, kind, cr.seconds, cr.settle_attempts);
    else
        prog(o, "captured %s (%s, VM stopped %.2f s)", cr.path, kind, cr.seconds);
    return 0;
}

static int do_capture(struct ffwd_vm *vm, const struct ffwd_run_opts *o, struct ffwd_run_result *res,
                      const char *base, const char *kind)
{
    return do_capture_ic(vm, o, res, base, kind, NULL, -1, NULL, 0);
}

/* Is vCPU v, stopped, in the kernel (EL1)? With user-mode counting a stop is
 * meant at a user instruction, but a block that ends in a system call or a
 * fault, or a stop request that comes late, leaves the vCPU in kernel code.
 * Not so an interrupt raised while the trigger held the vCPU, which QEMU
 * delivers at the block boundary before it looks at the stop: the vCPU sits
 * at the entry of the IRQ/FIQ vector (offset 0x480/0x500 of the 2 KiB
 * table), nothing of the handler has run, and the capture takes the state
 * right before it (capture.c, undo_irq_entry). Sets *el1 (0 when it cannot
 * tell or at such an entry). */
static int stopped_in_kernel(struct ffwd_vm *vm, unsigned v, int *el1)
{
    *el1 = 0;
    json_t *ret = NULL;
    if (qmp_cmd(vm->qmp, "human-monitor-command",
                json_pack("{s:s, s:i}", "command-line", "info registers", "cpu-index", (int)v), &ret, 10) < 0)
        return -1;
    const char *t = json_string_value(ret);
    const char *ps = t ? strstr(t, "PSTATE=") : NULL, *el = ps ? strstr(ps, "EL") : NULL; /* "... EL1h" */
    const char *pcs = t ? strstr(t, "PC=") : NULL;
    unsigned long long pc = pcs ? strtoull(pcs + 3, NULL, 16) : 0;
    *el1 = el && el[2] == '1' && (pc & 0x7ff) != 0x480 && (pc & 0x7ff) != 0x500;
    json_decref(ret);
    return 0;
}

/* A new record in res->stops. */
static struct ffwd_stop *stop_add(struct ffwd_run_result *res)
{
    if (res->nstops == res->cap_stops) {
        res->cap_stops = res->cap_stops ? 2 * res->cap_stops : 16;
        res->stops = xrealloc(res->stops, res->cap_stops * sizeof *res->stops);
    }
    return &res->stops[res->nstops++];
}

/* The trigger plugin holds a vCPU at the block that reaches target N: ask
 * QEMU to stop, release the vCPU (it finishes that block and stops), read
 * the exact count, capture, continue. */
static int on_trigger(struct ffwd_vm *vm, const struct ffwd_run_opts *o, struct ffwd_run_result *res,
                      const char *text)
{
    unsigned long long n, c, tb, stop;
    unsigned v;
    char lm[8] = "";
    int k = sscanf(text, "reached %llu count=%llu vcpu=%u tb=%llu stop=%llu lm=%7s", &n, &c, &v, &tb, &stop, lm);
    if (k < 5 || (k == 6 && strcmp(lm, "hit") && strcmp(lm, "miss")))
        return ffwd_seterr("malformed message from the trigger plugin: '%s'", text);
    int landmark = k < 6 ? 0 : !strcmp(lm, "hit") ? 1 : 2;
    /* what a complete stop reaches: the end of the held block at a landmark
     * (a few instructions off n: the drift), else the count it aimed at */
    uint64_t want = landmark == 1 ? c + tb : stop;
    /* test hook: hold the vCPU this long before asking QEMU to stop, while
     * the guest's clock runs on (tests of an interrupt pending at the stop) */
    const char *hold = getenv("FFWD_TRIGGER_HOLD_MS");
    if (hold && atoi(hold) > 0)
        usleep((useconds_t)atoi(hold) * 1000);
    unsigned id;
    if (qmp_send(vm->qmp, "stop", NULL, &id) < 0)
        return -1;
    usleep(10000); /* QEMU handles `stop` at once: the vCPU's exit request is set by now */
    if (ffwd_vm_trigger_go(vm) < 0 || qmp_wait_reply(vm->qmp, "stop", id, NULL, 30) < 0)
        return -1;
    uint64_t total, per[64], counted[64];
    unsigned nv;
    if (ffwd_vm_trigger_counts(vm, &total, per, counted, 64, &nv) < 0)
        return -1;
    bool one = o->insn_scope >= 0 && (unsigned)o->insn_scope < nv;
    uint64_t reached = 0, all = one ? per[o->insn_scope] : total;
    if (one)
        reached = counted[o->insn_scope];
    else
        for (unsigned i = 0; i < nv; i++)
            reached += counted[i];
    /* same target again after a short stop or a stop in the kernel: one
     * record, retries counted */
    unsigned retries = 0, kernel_retries = 0;
    struct ffwd_stop *last = res->nstops ? &res->stops[res->nstops - 1] : NULL;
    if (last && last->target == n && !last->final) {
        retries = last->retries + !last->kernel_retries_added;
        kernel_retries = last->kernel_retries;
        if (!landmark)
            landmark = last->landmark; /* the retry is by count: how the stop was found stays */
        res->nstops--;
    }
    int in_kernel = 0;
    if (reached >= want && o->insn_filter_user && stopped_in_kernel(vm, v, &in_kernel) < 0)
        return -1;
    int64_t over = (int64_t)(reached - n);
    struct ffwd_stop *st = stop_add(res);
    *st = (struct ffwd_stop){.target = n,
                             .reached = reached,
                             .held = c,
                             .all = all,
                             .tb_len = tb,
                             .retries = retries,
                             .kernel_retries = kernel_retries + (in_kernel != 0),
                             .kernel_retries_added = in_kernel != 0,
                             .landmark = landmark,
                             .overshoot = over};
    if (in_kernel && kernel_retries < 8) {
        /* not where the profile meant (a user instruction), and the count
         * does not move in the kernel: stop at the first counted block after
         * the kernel returns to user mode instead */
        prog(o, "instruction count %llu: stopped in the kernel (a system call, a fault): again after it", n);
        if (ffwd_vm_trigger_again(vm) < 0)
            return -1;
        return qmp_cmd(vm->qmp, "cont", NULL, NULL, 30);
    }
    if (reached < want && retries < 1000) {
        /* the block that was to reach n was cut short (a page fault, an
         * interrupt): the count is exact, so stop at its end again */
        prog(o, "instruction count %llu: stopped at %llu, short by %lld (an exception in the block): again", n,
             (unsigned long long)reached, (long long)(want - reached));
        if (ffwd_vm_trigger_again(vm) < 0)
            return -1;
        return qmp_cmd(vm->qmp, "cont", NULL, NULL, 30);
    }
    st->final = true;
    prog(o, "instruction count %llu: held vCPU %u at %llu, stopped at %llu (overshoot %lld; the block was %llu "
            "instructions%s)",
         n, v, c, (unsigned long long)reached, (long long)over, tb,
         st->landmark == 1   ? "; at the profile's landmark block"
         : st->landmark == 2 ? "; the landmark block did not come by: by count"
                             : "");
    if (o->capture_dir) {
        char base[64], detail[128];
        snprintf(base, sizeof base, "insn-%llu", n);
        snprintf(detail, sizeof detail, "target %llu, stopped at %llu (overshoot %lld)", n,
                 (unsigned long long)reached, (long long)over);
        unsigned before = res->ncaptures;
        if (do_capture_ic(vm, o, res, base, "icount", detail, (int64_t)total, per, nv) < 0)
            return -1;
        if (res->ncaptures > before)
            res->capture_target[before] = n;
    }
    return qmp_cmd(vm->qmp, "cont", NULL, NULL, 30);
}

/* ---- stops in a replay: QEMU's own breakpoint at an instruction count ----
 * In a replay of QEMU's record/replay the instruction count IS the guest's
 * clock: `replay-break icount=N` stops the one vCPU before instruction N+1,
 * exactly, with every interrupt and disk completion where the record had
 * it (a hold by the trigger plugin lands late there: docs/record-replay.md).
 * QEMU keeps one breakpoint at a time: the next is set after each stop.
 * QEMU starts paused (-S), so a target at the very start is not passed. */
struct rr_stops {
    const uint64_t *t;
    unsigned n, next;
    bool armed;
    uint64_t aim;     /* the breakpoint set: t[next], or later while the disk is busy */
    unsigned settles; /* steps taken past t[next] so far */
};

/* A replay cannot be snapshotted while a disk request is in flight: its
 * completion is a replay event, held until the instruction count the record
 * had it at, so savevm is refused (replay_can_snapshot) or its drain of the
 * disk waits for ever (and so does QEMU's quit). Is one in flight? */
static int rr_disk_busy(struct ffwd_vm *vm, bool *busy)
{
    *busy = false;
    char *dp = xasprintf("%s/disk0.qcow2", vm->run_dir);
    bool has_disk = path_exists(dp);
    free(dp);
    if (!has_disk)
        return 0;
    int fd = open(vm->ram_path, O_RDONLY | O_CLOEXEC);
    void *ram = fd >= 0 ? mmap(NULL, vm->ram_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (fd >= 0)
        close(fd);
    if (ram == MAP_FAILED)
        return ffwd_seterr_errno("cannot map guest RAM %s", vm->ram_path);
    json_t *v = ffwd_capture_virtio_state(vm->qmp, ram, vm->ram_size, busy);
    munmap(ram, vm->ram_size);
    if (!v)
        return -1;
    json_decref(v);
    return 0;
}

/* The first breakpoint past a busy disk: 1,000 instructions on, doubling
 * up to 1 M per step; after this many steps the point is given up. */
#define RR_SETTLE_FIRST 1000ULL
#define RR_SETTLE_MAX_STEP 1000000ULL
#define RR_SETTLE_STEPS 200

/* The replay's instruction count now. */
static int rr_icount(struct ffwd_vm *vm, uint64_t *icount)
{
    json_t *ret = NULL;
    if (qmp_cmd(vm->qmp, "query-replay", NULL, &ret, 30) < 0)
        return -1;
    *icount = (uint64_t)json_integer_value(json_object_get(ret, "icount"));
    json_decref(ret);
    return 0;
}

/* Set the breakpoint at the next target not yet passed, and let the guest run. */
static int rr_arm(struct ffwd_vm *vm, const struct ffwd_run_opts *o, struct rr_stops *rs)
{
    uint64_t now;
    if (rr_icount(vm, &now) < 0)
        return -1;
    rs->armed = false;
    while (!rs->settles && rs->next < rs->n && rs->t[rs->next] < now) {
        prog(o, "instruction count %llu: the replay is already at %llu: not taken", (unsigned long long)rs->t[rs->next],
             (unsigned long long)now);
        rs->next++;
    }
    if (rs->next < rs->n) {
        if (!rs->settles)
            rs->aim = rs->t[rs->next];
        if (qmp_cmd(vm->qmp, "replay-break", json_pack("{s:I}", "icount", (json_int_t)rs->aim), NULL, 30) < 0)
            return -1;
        rs->armed = true;
    }
    return qmp_cmd(vm->qmp, "cont", NULL, NULL, 30);
}

/* Wait (briefly) for the replay to pause at the breakpoint just set. */
static bool rr_paused(struct ffwd_vm *vm, double timeout_s)
{
    double end = now_sec() + timeout_s;
    for (;;) {
        json_t *st = NULL;
        if (qmp_cmd(vm->qmp, "query-status", NULL, &st, 30) < 0)
            return false;
        const char *status = json_string_value(json_object_get(st, "status"));
        bool paused = !json_is_true(json_object_get(st, "running")) && status && !strcmp(status, "paused");
        json_decref(st);
        if (paused)
            return true;
        if (now_sec() >= end) /* a look without waiting (timeout 0) sleeps not at all */
            return false;
        usleep(2000);
    }
}

/* Has the replay stopped at the breakpoint? Then record the stop, capture
 * and go on to the next. */
static int rr_poll(struct ffwd_vm *vm, const struct ffwd_run_opts *o, struct ffwd_run_result *res,
                   struct rr_stops *rs)
{
    uint64_t n = rs->t[rs->next], at = 0;
    for (;;) {
        if (!rr_paused(vm, 0))
            return 0;
        if (rr_icount(vm, &at) < 0)
            return -1;
        if (at != rs->aim) /* paused by something else (a capture from outside); not ours */
            return 0;
        bool busy;
        if (rr_disk_busy(vm, &busy) < 0)
            return -1;
        if (!busy)
            break;
        if (rs->settles >= RR_SETTLE_STEPS) {
            prog(o, "instruction count %llu: the disk stayed busy up to %llu: not taken",
                 (unsigned long long)n, (unsigned long long)at);
            rs->next++, rs->settles = 0;
            return rr_arm(vm, o, rs);
        }
        uint64_t step = RR_SETTLE_FIRST << (rs->settles < 10 ? rs->settles : 10);
        rs->aim = at + (step < RR_SETTLE_MAX_STEP ? step : RR_SETTLE_MAX_STEP);
        rs->settles++;
        if (rr_arm(vm, o, rs) < 0)
            return -1;
        rr_paused(vm, 5); /* most steps end within milliseconds */
    }
    if (at != n)
        prog(o, "instruction count %llu: a disk request was in flight there (a replay cannot be snapshotted "
                "then): stopped %llu instructions later",
             (unsigned long long)n, (unsigned long long)(at - n));
    *stop_add(res) = (struct ffwd_stop){
        .target = n, .reached = at, .all = at, .retries = rs->settles, .overshoot = (int64_t)(at - n), .final = true};
    prog(o, "instruction count %llu: the replay stopped at %llu (QEMU's replay breakpoint)", (unsigned long long)n,
         (unsigned long long)at);
    if (o->capture_dir) {
        char base[64], detail[128];
        snprintf(base, sizeof base, "insn-%llu", (unsigned long long)n);
        snprintf(detail, sizeof detail, "target %llu, replay stopped at %llu", (unsigned long long)n,
                 (unsigned long long)at);
        unsigned before = res->ncaptures;
        uint64_t per[1] = {at};
        if (do_capture_ic(vm, o, res, base, "icount", detail, (int64_t)at, per, 1) < 0)
            return -1;
        if (res->ncaptures > before)
            res->capture_target[before] = n;
    }
    rs->next++, rs->settles = 0;
    return rr_arm(vm, o, rs);
}

/* "@ffwd: checkpoint NAME PADDR NONCE": capture, then write NONCE at PADDR
 * (guest RAM is the shared file) so the guest's wait loop ends. */
static int on_checkpoint(struct ffwd_vm *vm, const struct ffwd_run_opts *o, struct ffwd_run_result *res,
                         const char *text)
{
    char name[128];
    unsigned long long pa, nonce;
    if (sscanf(text, "%127s %llx %llx", name, &pa, &nonce) != 3)
        return ffwd_seterr("malformed checkpoint line from the guest: '%s'", text);
    path_name_sanitize(name);
    if (name[0] == '.')
        name[0] = '_';
    if (qmp_cmd(vm->qmp, "stop", NULL, NULL, 30) < 0)
        return -1;
    if (o->capture_dir) {
        if (do_capture(vm, o, res, name, "checkpoint") < 0)
            return -1;
    } else
        prog(o, "checkpoint %s: not captured (no capture directory given)", name);
    uint64_t ram_size = vm->ram_size;
    if (pa < VIRT_RAM_BASE || pa + 8 > VIRT_RAM_BASE + ram_size)
        return ffwd_seterr("checkpoint %s: handshake address 0x%llx is outside guest RAM", name, pa);
    int fd = open(vm->ram_path, O_WRONLY | O_CLOEXEC);
    uint64_t v = nonce;
    if (fd < 0 || pwrite(fd, &v, 8, (off_t)(pa - VIRT_RAM_BASE)) != 8) {
        if (fd >= 0)
            close(fd);
        return ffwd_seterr_errno("cannot release the guest's checkpoint wait (%s)", vm->ram_path);
    }
    close(fd);
    return qmp_cmd(vm->qmp, "cont", NULL, NULL, 30);
}

int ffwd_run_guest(const struct ffwd_vm_config *cfg, const struct ffwd_run_opts *o, struct ffwd_run_result *res)
{
    memset(res, 0, sizeof *res);
    res->t_kernel = res->t_init = res->t_root = res->t_cmd_start = res->t_cmd_exit = res->t_exit = -1;
    res->cmd_status = -1;
    double timeout = o->timeout_s > 0 ? o->timeout_s : 600;
    prog(o, "booting: QEMU %s", cfg->prof.accel);
    struct ffwd_vm *vm;
    if (ffwd_vm_start(cfg, &vm) < 0)
        return -1;
    snprintf(res->run_dir, sizeof res->run_dir, "%s", vm->run_dir);
    snprintf(res->console_log, sizeof res->console_log, "%s/console.log", vm->run_dir);
    prog(o, "run directory %s", vm->run_dir);
    double t0 = vm->t_start, deadline = t0 + timeout;
    int rc = 0;
    bool saw_expected = o->expect_marker == NULL;
    char errtext[1024] = "";
    struct rr_stops rs = {.t = cfg->insn_targets, .n = cfg->ninsn_targets};
    if (ffwd_vm_replay_stops(cfg) && rr_arm(vm, o, &rs) < 0)
        rc = ffwd_preerr("replay breakpoint");
    for (; rc == 0;) {
        struct ffwd_vm_event ev;
        double left = deadline - now_sec();
        if (o->tick)
            o->tick(o->tick_arg);
        if (rs.armed && rr_poll(vm, o, res, &rs) < 0) {
            if (ffwd_vm_exited(vm, 2)) { /* the guest ended before the breakpoint: its exit comes next */
                ffwd_clearerr();
                rs.armed = false;
            } else {
                rc = ffwd_preerr("replay breakpoint at instruction count %llu", (unsigned long long)rs.t[rs.next]);
                break;
            }
        }
        double wait = (o->tick || rs.armed) && left > 1 ? (rs.armed ? 0.2 : 1) : left;
        if (ffwd_vm_next_event(vm, wait > 0 ? wait : 0, &ev) < 0) {
            rc = -1;
            break;
        }
        double t = now_sec() - t0;
        if (ev.kind == VM_EV_TIMEOUT && now_sec() < deadline)
            continue; /* a tick */
        if (ev.kind == VM_EV_TIMEOUT) {
            if (o->expect_marker && !saw_expected)
                rc = ffwd_seterr("the guest did not reach marker '%s' within %.0f s (console: %s)", o->expect_marker,
                                 timeout, res->console_log);
            else
                rc = ffwd_seterr("the guest did not finish within %.0f s (console: %s)", timeout, res->console_log);
            break;
        }
        if (ev.kind == VM_EV_EXIT) {
            res->t_exit = t;
            res->qemu_status = ev.exit_status;
            prog(o, "QEMU exited%s", ev.exit_status ? " with an error" : "");
            break;
        }
        if (ev.kind == VM_EV_TRIGGER) {
            if (on_trigger(vm, o, res, ev.text) < 0) {
                rc = ffwd_preerr("instruction-count trigger");
                break;
            }
            continue;
        }
        if (ev.kind == VM_EV_KERNEL) {
            res->t_kernel = t;
            prog(o, "kernel up");
            continue;
        }
        if (ev.kind == VM_EV_PANIC) {
            snprintf(errtext, sizeof errtext, "the guest kernel panicked: %s", ev.text);
            continue; /* -no-reboot + panic=-1: QEMU exits next */
        }
        if (!strcmp(ev.name, FFWD_PROTO_INIT)) {
            res->t_init = t;
            prog(o, "init started");
        } else if (!strcmp(ev.name, FFWD_PROTO_ROOT)) {
            res->t_root = t;
            prog(o, "root disk %s mounted", ev.text);
        } else if (!strcmp(ev.name, FFWD_PROTO_CMD_START)) {
            res->t_cmd_start = t;
            prog(o, "workload started");
        } else if (!strcmp(ev.name, FFWD_PROTO_MARKER)) {
            if (res->nmarkers < FFWD_MAX_MARKERS) {
                snprintf(res->markers[res->nmarkers], sizeof res->markers[0], "%s", ev.text);
                res->marker_t[res->nmarkers++] = t;
            }
            if (o->expect_marker && !strcmp(ev.text, o->expect_marker))
                saw_expected = true;
            /* QEMU's CPU time with it: benchmarks take the CPU cost of a
             * stretch between two markers from here (bench/bench.h) */
            prog(o, "marker seen: %s (QEMU CPU %.3f s)", ev.text, proc_cpu_sec(vm->pid));
            if (o->capture_marker && o->capture_dir && !strcmp(ev.text, o->capture_marker)) {
                char base[140];
                snprintf(base, sizeof base, "marker-%.120s", ev.text);
                path_name_sanitize(base);
                if (qmp_cmd(vm->qmp, "stop", NULL, NULL, 30) < 0 || do_capture(vm, o, res, base, "marker") < 0 ||
                    qmp_cmd(vm->qmp, "cont", NULL, NULL, 30) < 0) {
                    rc = ffwd_preerr("capture at marker %s", ev.text);
                    break;
                }
            }
        } else if (!strcmp(ev.name, FFWD_PROTO_CHECKPOINT)) {
            prog(o, "checkpoint requested: %s", ev.text);
            if (on_checkpoint(vm, o, res, ev.text) < 0) {
                rc = -1;
                break;
            }
        } else if (!strcmp(ev.name, FFWD_PROTO_CMD_EXIT) || !strcmp(ev.name, FFWD_PROTO_EXIT)) {
            /* `ffwd-guest exit N` ends the run like the command's own exit */
            res->t_cmd_exit = t;
            res->cmd_status = atoi(ev.text);
            prog(o, "done: command exit status %s", ev.text);
        } else if (!strcmp(ev.name, FFWD_PROTO_ERROR)) {
            snprintf(errtext, sizeof errtext, "guest init: %s", ev.text);
            prog(o, "guest error: %s", ev.text);
        } else if (!strcmp(ev.name, FFWD_PROTO_POWEROFF)) {
            prog(o, "guest powering off");
        }
    }
    if (rc == 0 && res->t_exit < 0)
        rc = -1;
    if (rc == 0 && errtext[0])
        rc = ffwd_seterr("%s (console: %s)", errtext, res->console_log);
    if (rc == 0 && res->qemu_status != 0)
        rc = ffwd_seterr("QEMU exited with status %d (see %s/qemu.log)", res->qemu_status, res->run_dir);
    if (rc == 0 && !saw_expected)
        rc = ffwd_seterr("the guest powered off without reaching marker '%s' (console: %s)", o->expect_marker,
                         res->console_log);
    ffwd_vm_kill(vm);
    if (o->console_copy) {
        if (copy_file(res->console_log, o->console_copy, 0644) == 0)
            snprintf(res->console_log, sizeof res->console_log, "%s", o->console_copy);
        else
            ffwd_warn("could not keep the console log as %s: %s", o->console_copy, ffwd_errmsg());
    }
    if (!cfg->run_dir) { /* ffwd made it: tidy up what served only this run */
        char *caps = xasprintf("%s/captures", vm->run_dir);
        if (rc < 0 || res->cmd_status > 0) /* the guest command failing is a failure of every caller */
            ffwd_info("run directory kept for inspection: %s", vm->run_dir);
        else if (!o->keep_run_dir && !path_exists(caps) && rm_rf(vm->run_dir) == 0)
            res->run_dir_removed = true;
        free(caps);
    }
    ffwd_vm_free(vm);
    return rc;
}

void ffwd_run_result_free(struct ffwd_run_result *res)
{
    for (unsigned i = 0; i < res->ncaptures; i++)
        free(res->captures[i]);
    free(res->captures);
    free(res->capture_target);
    free(res->stops);
    res->captures = NULL;
    res->capture_target = NULL;
    res->stops = NULL;
    res->ncaptures = res->nstops = res->cap_captures = res->cap_stops = 0;
}
