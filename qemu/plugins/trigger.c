/*
 * trigger.c -- ffwd's instruction-count trigger (QEMU TCG plugin, API v4).
 *
 *   -plugin libffwd-trigger.so,sock=PATH,at=N1:N2:...|targets=FILE[,scope=all|vcpuK]
 *                             [,mode=all|user][,roi=on][,range=LO-HI][,process=roi|TTBR0]
 *
 * FILE: one target per line, "N" or "N PC LO HI" (PC in hex): a LANDMARK (the
 * profile's PREFIX.landmarks, bbv.c). Counts of two runs drift by a few
 * instructions (a store-exclusive retried after an interrupt, a program that
 * reads the clock), so a stop at count N alone falls on different
 * instructions in two reruns. With a landmark the vCPU is held at the first
 * counted block that starts at PC once LO counted instructions have run
 * (the profile's run of that block, whatever the drift below half the
 * block's own period), so it stops where that block ends -- where the
 * profile's count N was. Should no such block come by HI (or N), the stop is
 * taken by count there ("lm=miss").
 *
 * Counts exactly the instructions the BBV plugin counts with the same
 * filters (filter.h: mode, range, roi, process; without filters: every
 * retired instruction) and, when a translation block is about to run that
 * would reach the next target N (all vCPUs together, or one vCPU with
 * scope=vcpuK), blocks that vCPU at the block's start and tells ffwd over
 * the unix socket PATH:
 *
 *   plugin -> ffwd   "hello vcpus=V\n"               once, at start
 *   plugin -> ffwd   "reached N count=C vcpu=I tb=T stop=S[ lm=hit|miss]\n"
 *                    C counted so far, T = block length, S the count it was
 *                    to reach (N, or after an "again" on a landmark C + T of
 *                    that hold); lm: how a landmark target was found
 *   ffwd -> plugin   "go\n"                          after ffwd has asked QEMU to stop
 *   ffwd -> plugin   "query\n"   -> "counts TOTAL A0 A1 ... counted K0 K1 ...\n"
 *                    (TOTAL, Ai: every retired instruction; Ki: counted, per vCPU)
 *   ffwd -> plugin   "again\n"   the last target was not reached after all (the
 *                    block was cut short by an exception, or the stop fell in
 *                    the kernel): stop again at the next counted block that
 *                    reaches it (for a landmark: C + T, the held block's end)
 *
 * A target at an interval start of the profile (the counted count at the
 * first block of the interval) is reached by the block that ENDS there, so
 * the machine stops right before the interval's first instruction.
 *
 * After "go" the block runs to its end and the vCPU stops at the next block
 * boundary (QEMU checks for a stop request there), so the machine stops at
 * most one translation block past N; should QEMU be slow to act on the stop,
 * the next block waits for it, bounding the overshoot at two blocks. ffwd
 * reads the exact count with "query" and reports the overshoot. A cheap conditional callback filters
 * blocks: the helper runs only when the target is near.
 */
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "filter.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 left;   /* BIAS + instructions until the next target (filter only) */
/* The filter's counter is decremented by whole blocks, possibly after the
 * callback that re-armed it: a large bias keeps it from wrapping around. */
#define BIAS (1ULL << 62)
/* Only a vCPU's own thread writes its `left`: the inline decrement is a plain
 * load-add-store, so a store from another thread could be lost (and a vCPU
 * with a lost re-arm or hold would run far past the target). Another vCPU
 * asks it to look again through `poke`, which no inline op touches; pokes are
 * set and cleared under `mu`. */
static qemu_plugin_u64 poke;
struct target {
    uint64_t n;      /* reported as the target (the profile's count) */
    uint64_t stop;   /* count at which the vCPU is held (n; after an "again" on a landmark: C + T) */
    uint64_t pc, lo, hi; /* landmark: hold at the block at pc once lo counted ran, by count from hi (pc 0: none) */
};
static struct target *targets; /* sorted by n; grows as the list is read */
static unsigned ntargets, next_target;
static uint64_t hold_c, hold_tb; /* the count and block length of the last hold */

/* Counted instructions at which vCPUs must start looking at target k. */
static uint64_t arm_at(unsigned k)
{
    return targets[k].pc && targets[k].lo < targets[k].stop ? targets[k].lo : targets[k].stop;
}
static int scope_vcpu = -1;    /* -1: all vCPUs together */
static int sock = -1;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
/* A stop is in progress while stop_gen != released_gen: every vCPU entering a
 * block then waits, so with several vCPUs the others cannot run ahead while
 * QEMU is asked to stop; "go" releases them all. */
static unsigned stop_gen, released_gen;
#define MAX_VCPUS 256
static bool settle[MAX_VCPUS]; /* released vCPUs that must give QEMU time to stop them */

static void send_line(const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t w = send(sock, s + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

/* Counted instructions that the next target is compared with. */
static uint64_t current(unsigned vcpu)
{
    if (scope_vcpu >= 0)
        return ff_counted(vcpu);
    uint64_t sum = 0;
    int n = qemu_plugin_num_vcpus();
    for (int i = 0; i < n; i++)
        sum += ff_counted((unsigned)i);
    return sum;
}

/* Arm this vCPU's filter with the distance to the next target. With all
 * vCPUs counting together each may run only its share before the sum gets
 * there. Called on the vCPU's own thread. */
static void arm_self(unsigned vcpu, uint64_t distance)
{
    int n = qemu_plugin_num_vcpus();
    uint64_t share = scope_vcpu < 0 && n > 1 ? distance / (uint64_t)n : distance;
    if (share > BIAS)
        share = BIAS;
    qemu_plugin_u64_set(left, vcpu, BIAS + share);
}

/* Make every other vCPU that counts towards the target come to near_target
 * at its next block (to take its new share, or to be held). Under mu. */
static void poke_others(unsigned vcpu)
{
    if (scope_vcpu >= 0)
        return; /* only the counted vCPU matters, and it is this one */
    int n = qemu_plugin_num_vcpus();
    for (int i = 0; i < n; i++)
        if ((unsigned)i != vcpu)
            qemu_plugin_u64_set(poke, (unsigned)i, 1);
}

/* A block's callback data, packed into the pointer: length (bits 0-11; TCG
 * blocks hold at most 512 instructions), whether the static filters count it
 * (bit 12: a block that does not count cannot reach a target: a poke or an
 * "again" lands on any block, often in the kernel), and its virtual address
 * (bits 13-63: the 48-bit address and whether it is in the upper half). */
#define UD_COUNTED (1ULL << 12)
#define UD_LEN(u) ((uint64_t)(uintptr_t)(u) & 0xfffULL)
#define UD_VADDR(u) (((uint64_t)(uintptr_t)(u) >> 14) | (((uint64_t)(uintptr_t)(u) >> 13 & 1) ? 0xffff000000000000ULL : 0))
#define UD_MAKE(len, counted, va) \
    ((void *)(uintptr_t)(((uint64_t)(len) & 0xfff) | ((counted) ? UD_COUNTED : 0) | (((va) >> 63) << 13) | \
                         (((va) & 0xffffffffffffULL) << 14)))

/* Runs at the start of a block when the filter says the target is near, or
 * when another vCPU poked this one. */
static void near_target(unsigned vcpu, void *udata)
{
    uint64_t tb_len = UD_LEN(udata);
    if (scope_vcpu >= 0 && (int)vcpu != scope_vcpu) {
        qemu_plugin_u64_set(left, vcpu, 2 * BIAS);
        return;
    }
    pthread_mutex_lock(&mu);
    qemu_plugin_u64_set(poke, vcpu, 0);
    /* its own share ran out (not merely poked): the others get new shares too */
    bool exhausted = qemu_plugin_u64_get(left, vcpu) <= BIAS + 2 * tb_len;
    if (stop_gen != released_gen) {
        /* another vCPU reached the target: hold this one too until "go" */
        while (stop_gen != released_gen && sock >= 0)
            pthread_cond_wait(&cv, &mu);
        if (vcpu < MAX_VCPUS)
            settle[vcpu] = true;
        qemu_plugin_u64_set(left, vcpu, BIAS);
        qemu_plugin_u64_set(poke, vcpu, 1); /* the next block settles, counted or not */
        pthread_mutex_unlock(&mu);
        return;
    }
    if (vcpu < MAX_VCPUS && settle[vcpu]) {
        /* The block after the released one: QEMU normally stopped the vCPU
         * before it (the exit check precedes this callback). If the stop
         * request is late, give it time here, so the stop still lands within
         * two blocks of the target. */
        settle[vcpu] = false;
        pthread_mutex_unlock(&mu);
        struct timespec d = {0, 50 * 1000 * 1000};
        nanosleep(&d, NULL);
        pthread_mutex_lock(&mu);
        uint64_t c0 = current(vcpu);
        arm_self(vcpu, next_target < ntargets && arm_at(next_target) > c0 ? arm_at(next_target) - c0
                       : next_target < ntargets                           ? 0
                                                                          : BIAS);
        pthread_mutex_unlock(&mu);
        return;
    }
    if (next_target >= ntargets) {
        arm_self(vcpu, BIAS);
        pthread_mutex_unlock(&mu);
        return;
    }
    const struct target *t = &targets[next_target];
    uint64_t c = current(vcpu), arm = arm_at(next_target);
    bool block_counts = ((uint64_t)(uintptr_t)udata & UD_COUNTED) && (!ff_dynamic() || ff_block_counts(vcpu));
    const char *lm = "";
    bool hold = block_counts && c + tb_len >= t->stop;
    if (t->pc && block_counts && c >= t->lo) {
        /* a landmark: its block, or by count once it is overdue */
        hold = UD_VADDR(udata) == t->pc || c >= (t->hi > t->stop ? t->hi : t->stop);
        lm = UD_VADDR(udata) == t->pc ? " lm=hit" : " lm=miss";
    }
    if (!hold) { /* not yet: the filter fired early (it counts whole blocks) */
        /* Counting all vCPUs, every vCPU gets its share of what is left now:
         * one that was idle must not keep an old, larger share. */
        arm_self(vcpu, c < arm ? arm - c : 0);
        if (exhausted)
            poke_others(vcpu);
        pthread_mutex_unlock(&mu);
        return;
    }
    char line[200];
    snprintf(line, sizeof line, "reached %llu count=%llu vcpu=%u tb=%llu stop=%llu%s\n", (unsigned long long)t->n,
             (unsigned long long)c, vcpu, (unsigned long long)tb_len, (unsigned long long)t->stop, lm);
    hold_c = c;
    hold_tb = tb_len;
    next_target++;
    unsigned gen = ++stop_gen;
    poke_others(vcpu); /* their next block comes to this callback and is held */
    send_line(line);
    /* hold this vCPU until ffwd has asked QEMU to stop */
    while (released_gen != gen && sock >= 0)
        pthread_cond_wait(&cv, &mu);
    if (vcpu < MAX_VCPUS)
        settle[vcpu] = true;
    qemu_plugin_u64_set(left, vcpu, BIAS); /* the next block comes back here */
    /* ... counted or not: a block cut short by a fault goes on in the
     * kernel's handler, which must wait for the stop request as well */
    qemu_plugin_u64_set(poke, vcpu, 1);
    pthread_mutex_unlock(&mu);
}

/* Dynamic filters: at the start of every statically counted block, on the
 * vCPU's own thread (the inline filter cannot see roi/process state). */
static void dyn_block(unsigned vcpu, void *udata)
{
    if (!ff_block_counts(vcpu))
        return;
    if (scope_vcpu >= 0 && (int)vcpu != scope_vcpu)
        return;
    uint64_t tb_len = UD_LEN(udata);
    unsigned k = next_target;
    if ((vcpu < MAX_VCPUS && settle[vcpu]) || (k < ntargets && current(vcpu) + tb_len >= arm_at(k)))
        near_target(vcpu, udata);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    bool counted = ff_tb_trans(tb);
    /* another vCPU's poke: every block, counted or not, so a stop holds all */
    void *ud = UD_MAKE(n, counted, qemu_plugin_tb_vaddr(tb));
    qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, near_target, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_NE, poke, 0,
                                             ud);
    if (counted && ff_dynamic())
        qemu_plugin_register_vcpu_tb_exec_cb(tb, dyn_block, QEMU_PLUGIN_CB_NO_REGS, ud);
    else if (counted) {
        /* filter: left - BIAS <= 2n (order-independent of the block's own decrement) */
        qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, near_target, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_LE, left,
                                                 BIAS + 2 * n, ud);
        qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, left,
                                                          (uint64_t)-(int64_t)n);
    }
}

static void vcpu_init(qemu_plugin_id_t id, unsigned v)
{
    (void)id;
    (void)v;
    ff_vcpu_init();
}

static void *reader(void *arg)
{
    (void)arg;
    char buf[256];
    size_t have = 0;
    for (;;) {
        ssize_t r = recv(sock, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = 0;
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            *nl = 0;
            if (!strcmp(buf, "go")) {
                pthread_mutex_lock(&mu);
                released_gen = stop_gen;
                pthread_cond_broadcast(&cv);
                pthread_mutex_unlock(&mu);
            } else if (!strcmp(buf, "again")) {
                pthread_mutex_lock(&mu);
                if (next_target > 0) {
                    next_target--;
                    struct target *t = &targets[next_target];
                    if (t->pc) /* the held block's end, by count now: its next run is another place */
                        t->stop = hold_c + hold_tb, t->pc = 0;
                }
                int n = qemu_plugin_num_vcpus();
                for (int i = 0; i < n; i++) /* every vCPU re-arms at its next block */
                    qemu_plugin_u64_set(poke, (unsigned)i, 1);
                pthread_mutex_unlock(&mu);
            } else if (!strcmp(buf, "query")) {
                int n = qemu_plugin_num_vcpus();
                GString *out = g_string_new(NULL);
                g_string_append_printf(out, "counts %llu", (unsigned long long)ff_all_sum());
                for (int i = 0; i < n; i++)
                    g_string_append_printf(out, " %llu", (unsigned long long)ff_all((unsigned)i));
                g_string_append(out, " counted");
                for (int i = 0; i < n; i++)
                    g_string_append_printf(out, " %llu", (unsigned long long)ff_counted((unsigned)i));
                g_string_append(out, "\n");
                send_line(out->str);
                g_string_free(out, TRUE);
            }
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, have - used + 1);
            have -= used;
        }
        if (have == sizeof buf - 1)
            have = 0; /* garbage: drop */
    }
    /* ffwd went away: never block the guest again */
    pthread_mutex_lock(&mu);
    close(sock);
    sock = -1;
    ntargets = next_target;
    released_gen = stop_gen;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static int cmp_target(const void *a, const void *b)
{
    uint64_t x = ((const struct target *)a)->n, y = ((const struct target *)b)->n;
    return x < y ? -1 : x > y;
}

static unsigned targets_cap;

static void add_target(uint64_t n, uint64_t pc, uint64_t lo, uint64_t hi)
{
    if (ntargets == targets_cap) {
        targets_cap = targets_cap ? 2 * targets_cap : 64;
        targets = g_renew(struct target, targets, targets_cap);
    }
    targets[ntargets++] = (struct target){.n = n, .stop = n, .pc = pc, .lo = lo, .hi = hi};
}

/* targets=FILE: "N" or "N PC LO HI" per line ('#' comments). */
static int read_targets(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ffwd-trigger: cannot read %s\n", path);
        return -1;
    }
    char line[256];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        unsigned long long n, pc = 0, lo = 0, hi = 0;
        int k = sscanf(line, "%llu %llx %llu %llu", &n, &pc, &lo, &hi);
        if (k != 1 && k != 4) {
            fprintf(stderr, "ffwd-trigger: %s:%u: expected 'N' or 'N PC LO HI'\n", path, lineno);
            rc = -1;
        } else
            add_target(n, pc, lo, hi);
    }
    fclose(f);
    return rc;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-trigger", info))
        return -1;
    const char *path = NULL;
    ff_init("ffwd-trigger");
    ff_count_per_block(); /* counts are read at block starts and when stopped */
    for (int i = 0; i < argc; i++) {
        int f = ff_option(argv[i]);
        if (f < 0)
            return -1;
        if (f > 0)
            continue;
        if (!strncmp(argv[i], "sock=", 5))
            path = argv[i] + 5;
        else if (!strncmp(argv[i], "targets=", 8)) {
            if (read_targets(argv[i] + 8) < 0)
                return -1;
        } else if (!strncmp(argv[i], "at=", 3)) {
            for (char *p = argv[i] + 3; *p;) {
                char *end;
                add_target(strtoull(p, &end, 10), 0, 0, 0);
                if (end == p || (*end && *end != ':')) {
                    fprintf(stderr, "ffwd-trigger: bad at= list '%s'\n", argv[i] + 3);
                    return -1;
                }
                p = *end ? end + 1 : end;
            }
        } else if (!strcmp(argv[i], "scope=all"))
            scope_vcpu = -1;
        else if (!strncmp(argv[i], "scope=vcpu", 10))
            scope_vcpu = atoi(argv[i] + 10);
        else {
            fprintf(stderr,
                    "ffwd-trigger: unknown option '%s' (sock=PATH, at=N1:N2, targets=FILE, scope=all|vcpuK, "
                    FF_OPTIONS_HELP ")\n",
                    argv[i]);
            return -1;
        }
    }
    if (!path || !ntargets) {
        fprintf(stderr, "ffwd-trigger: needs sock=PATH and at=N1[:N2...] or targets=FILE\n");
        return -1;
    }
    qsort(targets, ntargets, sizeof *targets, cmp_target);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "ffwd-trigger: cannot connect to %s\n", path);
        return -1;
    }
    score = qemu_plugin_scoreboard_new(2 * sizeof(uint64_t));
    left = (qemu_plugin_u64){score, 0};
    poke = (qemu_plugin_u64){score, sizeof(uint64_t)};
    int nv = info->system_emulation ? info->system.max_vcpus : 1;
    char hello[64];
    snprintf(hello, sizeof hello, "hello vcpus=%d\n", nv);
    send_line(hello);
    pthread_t th;
    pthread_create(&th, NULL, reader, NULL);
    pthread_detach(th);
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    return 0;
}

