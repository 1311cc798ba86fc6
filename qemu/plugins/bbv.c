/*
 * bbv.c -- basic-block vectors for SimPoint (QEMU TCG plugin, API v4).
 *
 *   -plugin libffwd-bbv.so,out=PREFIX[,interval=N][,landmark=S][,mode=all|user]
 *                         [,roi=on][,range=LO-HI][,process=roi|TTBR0]
 *
 * For every vCPU, every N counted instructions (default 100 million) one
 * line in SimPoint 3.2's format goes to PREFIX.<vcpu>.bb.gz:
 *
 *     T:<id>:<count> :<id>:<count> ...
 *
 * ids from 1 in order of first appearance, sorted within a line; count =
 * instructions of that block executed in the interval (the block's length
 * per execution). An interval closes at the first counted block that starts
 * at or after N counted instructions, so it holds N plus less than a block.
 *
 * What is counted: the filters of filter.h (mode, range, roi, process),
 * shared with the trigger plugin, exactly per retired instruction (counted
 * per block, corrected where an exception leaves a block: filter.h).
 *
 * Block identity: the host address of the block's first instruction (a
 * pointer into guest RAM, i.e. its guest-PHYSICAL location, which neither
 * retranslation nor a different virtual mapping of the same page changes)
 * plus the block length. Blocks outside RAM (no host address) fall back to
 * the virtual address. The id is assigned once and kept for the whole run.
 *
 * PREFIX.blocks: per id, a key that does not depend on the run: a 64-bit
 * FNV-1a hash of the block's instruction bytes and its length,
 *     <id> <length> <hash hex> <vaddr hex>
 * so that the BBVs of two runs (a profile and the rerun that captures its
 * points: physical pages, ASLR and ids differ) can be compared.
 *
 * PREFIX.positions: one line per interval START with the exact retired-
 * instruction counts at that point,
 *     <vcpu> <interval> <all vCPUs, all insns> <this vCPU, all> <this vCPU, counted>
 * and at exit one line per vCPU with the counts at the END of its last interval,
 *     end <vcpu> <intervals> <all vCPUs, all> <this vCPU, all> <this vCPU, counted>
 * so that the trigger plugin (with the same filters) stops at the start of a
 * chosen interval again in a rerun.
 *
 * PREFIX.landmarks: where a rerun must stop so that two reruns stop at the
 * same instruction although their counts drift by a few instructions (a
 * store-exclusive retried after an interrupt, a program that reads the
 * clock). Every S counted instructions (landmark=S; 0: none) and at every
 * interval start, at the first counted block X that starts at or after
 * that count, one line
 *     <vcpu> <counted before X> <X vaddr> <P vaddr> <counted before P> <gap>
 * with P the counted block that ran just before X on that vCPU (the block
 * the trigger holds: the machine stops when P ends, i.e. at X) and gap the
 * counted instructions since P's previous run (0: its first). A rerun holds
 * the first run of P within gap/2 of where the profile ran it: the same run
 * of P whatever the drift, as long as the drift is below gap/2.
 */
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "filter.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

#define MAX_VCPUS 64

struct block {
    uint64_t id, hash, vaddr;
    unsigned n;
    uint64_t count[MAX_VCPUS]; /* in the current interval (helper path) */
    qemu_plugin_u64 slot;      /* the same, counted inline (fast path) */
    uint64_t ran;              /* fast path: bit v: ran on vCPU v in an interval already closed */
};

/* The fast path: nothing needs a look at every block as it runs, so a
 * block's counts are inline adds to its own scoreboard slot, and a
 * conditional callback runs only when the interval ends (filter.h's alarm
 * on the count). A dynamic filter (region, process) switches a vCPU's
 * counting at a few instructions: on_switch sets the slots' counts aside or
 * drops them there, and a change made on another vCPU is caught by a
 * conditional callback on the vCPU's stale flag (filter.h).
 *
 * Landmarks on the fast path: a landmark needs the blocks that ran just
 * before its point and how long before each had run last. A per-vCPU watch
 * flag, tested by a conditional callback on every block, is raised by the
 * alarm WATCH counted instructions before each landmark's point (and each
 * interval's end) and lowered once that landmark is written; while it is up
 * every block goes through landmark() as on the helper path. A block not
 * seen since the watch began ran at least that long ago: its gap is that
 * lower bound (the trigger's window, half the gap, only narrows, and P is
 * the same block the helper path picks: one whose gap is at least
 * LANDMARK_MIN_GAP < WATCH either way). */
#define CHUNK 4096 /* block slots per scoreboard */
#define WATCH 8192 /* counted instructions watched before a landmark */
static bool fast, no_inline; /* inline=off: the helper path whatever the options (tests) */
static GPtrArray *chunks; /* struct qemu_plugin_scoreboard *, CHUNK u64 per vCPU each */
static size_t chunk_used = CHUNK;
static qemu_plugin_u64 watch; /* per vCPU: nonzero while blocks are watched (fast path, landmarks) */

/* A virtual address where counted blocks start (what the trigger matches a
 * landmark by: a physical block may be mapped at several addresses, and one
 * address may hold several blocks over time). */
struct site {
    uint64_t vaddr;
    uint64_t last[MAX_VCPUS]; /* counted before a block last ran here + 1 (0: never) */
    uint32_t gen[MAX_VCPUS];  /* the watch that set last[] (fast path; 0 on the helper path) */
    GPtrArray *blocks;        /* fast path: the blocks that started here (under mu) */
};

/* One translated block's callback data: the physical block and its address. */
struct tbref {
    struct block *b;
    struct site *site;
};

struct vcpu {
    gzFile out;
    uint64_t interval_end; /* counted instructions at which the interval closes */
    GPtrArray *touched;    /* blocks with count > 0 in this interval */
    uint64_t intervals;    /* lines written */
    bool started;          /* the first interval's start was recorded */
    uint64_t landmark_next; /* counted instructions at which the next landmark is due */
    uint64_t landmark_due;  /* counted at the last block before that (how long it waited) */
    struct site *prev;      /* where the counted block that ran last started, */
    uint64_t prev_at, prev_gap; /* counted before it, and since a block ran there before */
    bool watching, start_pending; /* fast path: blocks watched; an interval start's landmark is due */
    uint64_t raw_off;             /* fast path, dynamic filter: the raw count when v stopped counting */
    uint32_t gen;                 /* watches begun (fast path) */
    uint64_t watch_from;          /* counted when this watch began */
};

static GHashTable *blocks; /* key: "haddr:n"; value: struct block* */
static GHashTable *sites;  /* key: vaddr; value: struct site* */
static GHashTable *tbrefs; /* key: "vaddr:haddr:n"; value: struct tbref* */
static GPtrArray *by_id;   /* struct block*, index id - 1 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_id = 1, interval = 100000000ULL;
static struct vcpu vcpus[MAX_VCPUS];
static char *prefix;
static FILE *positions, *landmarks;
static uint64_t landmark_step = 0;
#define LANDMARK_MIN_GAP 2048

static int cmp_id(const void *a, const void *b)
{
    const struct block *x = *(struct block *const *)a, *y = *(struct block *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Record that vCPU v's next interval starts now (before the current block). */
static void record_start(unsigned v, const char *tag)
{
    pthread_mutex_lock(&mu);
    if (positions)
        fprintf(positions, "%s%u %llu %llu %llu %llu\n", tag, v, (unsigned long long)vcpus[v].intervals,
                (unsigned long long)ff_all_sum(), (unsigned long long)ff_all(v),
                (unsigned long long)ff_counted(v));
    if (positions) /* once an interval: ffwd shows the run's progress from the file */
        fflush(positions);
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

/* Fast path: close vCPU v's interval from the blocks' slots (by_id is in id
 * order: the line comes out sorted). Own vCPU thread, or at exit. */
static bool close_interval_fast(unsigned v, bool only_if_any)
{
    struct vcpu *c = &vcpus[v];
    if (!c->out)
        return false;
    /* under the lock: another vCPU's translation may grow by_id meanwhile */
    pthread_mutex_lock(&mu);
    guint nb = by_id->len;
    bool any = false;
    for (guint i = 0; i < nb && !any; i++) {
        struct block *b = g_ptr_array_index(by_id, i);
        any = qemu_plugin_u64_get(b->slot, v) != 0 || b->count[v] != 0;
    }
    if (!any && only_if_any) {
        pthread_mutex_unlock(&mu);
        return false;
    }
    gzputs(c->out, "T");
    for (guint i = 0; i < nb; i++) {
        struct block *b = g_ptr_array_index(by_id, i);
        uint64_t k = qemu_plugin_u64_get(b->slot, v) + b->count[v]; /* + what a filter switch set aside */
        if (k) {
            gzprintf(c->out, ":%llu:%llu ", (unsigned long long)b->id, (unsigned long long)k);
            qemu_plugin_u64_set(b->slot, v, 0);
            b->count[v] = 0;
            b->ran |= 1ULL << v;
        }
    }
    gzputs(c->out, "\n");
    pthread_mutex_unlock(&mu);
    c->intervals++;
    return true;
}

/* Fast path: did a block start at this site on vCPU v before (one that is
 * about to run has not added its count yet)? */
static bool site_ran(struct site *site, unsigned v)
{
    bool ran = false;
    pthread_mutex_lock(&mu); /* another vCPU's translation may add a block */
    for (guint i = 0; site->blocks && i < site->blocks->len && !ran; i++) {
        struct block *b = g_ptr_array_index(site->blocks, i);
        ran = (b->ran >> v & 1) || qemu_plugin_u64_get(b->slot, v) || b->count[v]; /* count: set aside */
    }
    pthread_mutex_unlock(&mu);
    return ran;
}

/* Block b is about to run on vCPU v with `counted` counted before it: a
 * landmark line if one is due (every landmark_step, and at interval starts),
 * then b becomes the previous block. Own vCPU thread only. */
static void landmark(unsigned v, struct site *site, uint64_t counted, bool is_start)
{
    struct vcpu *c = &vcpus[v];
    /* A grid landmark waits for a P that is easy to find again, for at most
     * half a step: one that ran before (a block that starts where an
     * interrupt returned to is new, and the rerun's interrupts return
     * elsewhere), but long before (a tight loop's block comes every few
     * instructions, and a rerun whose count drifted by half the loop would
     * take another iteration -- the last one's successor differs). An
     * interval start is a landmark as it is. */
    bool due = counted >= c->landmark_next &&
               (c->prev_gap >= LANDMARK_MIN_GAP || counted - c->landmark_due >= landmark_step / 2);
    if (counted < c->landmark_next)
        c->landmark_due = counted; /* the grid point is not reached yet */
    if ((is_start || due) && c->prev) {
        pthread_mutex_lock(&mu);
        fprintf(landmarks, "%u %llu %llx %llx %llu %llu\n", v, (unsigned long long)counted,
                (unsigned long long)site->vaddr, (unsigned long long)c->prev->vaddr, (unsigned long long)c->prev_at,
                (unsigned long long)c->prev_gap);
        pthread_mutex_unlock(&mu);
    }
    while (due && c->landmark_next <= counted)
        c->landmark_next += landmark_step;
    c->prev = site;
    c->prev_at = counted;
    if (site->gen[v] == c->gen) /* always on the helper path */
        c->prev_gap = site->last[v] ? counted - (site->last[v] - 1) : 0;
    else if (!site_ran(site, v))
        c->prev_gap = 0; /* its first run here, as the helper path would say */
    else if (counted > c->watch_from)
        c->prev_gap = counted - c->watch_from; /* not seen since the watch began: at least this */
    else
        c->prev = NULL; /* the watch's first block: nothing known about it */
    site->gen[v] = c->gen;
    site->last[v] = counted + 1;
}

/* Fast path with landmarks: begin or end watching vCPU v's blocks. */
static void watch_set(unsigned v, bool on, uint64_t counted)
{
    struct vcpu *c = &vcpus[v];
    c->watching = on;
    if (on) {
        c->gen++;
        c->watch_from = counted;
        c->prev = NULL;
    }
    qemu_plugin_u64_set(watch, v, on);
}

/* Fast path: arm the alarm for vCPU v's next event -- the interval's end,
 * or with landmarks the start of the next watch (WATCH before the next
 * landmark or interval end), beginning it if that is now. */
static void schedule(unsigned v, uint64_t counted)
{
    struct vcpu *c = &vcpus[v];
    uint64_t target = c->interval_end;
    if (landmarks && !c->watching) {
        uint64_t next = c->landmark_next < c->interval_end ? c->landmark_next : c->interval_end;
        uint64_t from = next > WATCH ? next - WATCH : 0;
        if (counted >= from)
            watch_set(v, true, counted);
        else
            target = from;
    }
    ff_arm(v, target > counted ? target - counted : 0);
}

/* Fast path with a dynamic filter (region, process): the slots count every
 * run of a block, also while vCPU v does not count. So when v stops
 * counting, the slots' counts are set aside in count[v] and the slots
 * cleared; when it starts again, what the slots gathered meanwhile is
 * dropped (nothing to drop if no statically counted block ran). Called by
 * filter.h's ff_update on v's own thread, at a block start or at the
 * switching instruction: a block is counted when v counted at its start, as
 * on the helper path. */
static void slots_clear(unsigned v, bool keep)
{
    pthread_mutex_lock(&mu); /* another vCPU's translation may grow by_id */
    for (guint i = 0; i < by_id->len; i++) {
        struct block *b = g_ptr_array_index(by_id, i);
        uint64_t k = qemu_plugin_u64_get(b->slot, v);
        if (k) {
            if (keep)
                b->count[v] += k;
            qemu_plugin_u64_set(b->slot, v, 0);
        }
    }
    pthread_mutex_unlock(&mu);
}

static void on_switch(unsigned v, bool active)
{
    if (v >= MAX_VCPUS)
        return;
    struct vcpu *c = &vcpus[v];
    if (active && qemu_plugin_u64_get(ff.static_insns, v) != c->raw_off)
        slots_clear(v, false);
    if (!active) { /* no alarm and no watch while v does not count */
        slots_clear(v, true);
        ff_arm(v, FF_ALARM / 2);
        c->raw_off = qemu_plugin_u64_get(ff.static_insns, v);
        if (landmarks)
            qemu_plugin_u64_set(watch, v, 0);
    } else if (c->started) {
        if (landmarks)
            qemu_plugin_u64_set(watch, v, c->watching);
        schedule(v, ff_counted(v));
    } else
        ff_arm(v, 0); /* look at the first counted block */
}

/* Fast path: the count reached the interval's end before a counted block
 * on vCPU v (or this is v's first counted block). */
static void due_cb(unsigned v, void *udata)
{
    (void)udata;
    if (v >= MAX_VCPUS)
        return;
    if (ff_dynamic() && !ff_block_counts(v)) {
        ff_arm(v, FF_ALARM / 2); /* on_switch arms again when v counts */
        return;
    }
    struct vcpu *c = &vcpus[v];
    uint64_t counted = ff_counted(v);
    if (!c->started) {
        c->started = true; /* no block ran before: no landmark (as on the helper path) */
        record_start(v, "");
    } else if (counted >= c->interval_end) {
        close_interval_fast(v, false);
        while (c->interval_end <= counted)
            c->interval_end += interval;
        record_start(v, "");
        if (landmarks && !c->watching)
            watch_set(v, true, counted);
        c->start_pending = true;
    }
    schedule(v, counted);
}

/* Fast path, landmarks: a counted block about to run on vCPU v while its
 * blocks are watched (after due_cb, registered before this). */
static void watch_cb(unsigned v, void *udata)
{
    struct tbref *ref = udata;
    if (v >= MAX_VCPUS)
        return;
    if (ff_dynamic() && !ff_block_counts(v))
        return;
    struct vcpu *c = &vcpus[v];
    uint64_t counted = ff_counted(v);
    landmark(v, ref->site, counted, c->start_pending);
    c->start_pending = false;
    uint64_t next = c->landmark_next < c->interval_end ? c->landmark_next : c->interval_end;
    if (next > counted + WATCH) { /* this landmark is written, the next is far */
        watch_set(v, false, counted);
        schedule(v, counted);
    }
}

static void block_exec(unsigned v, void *udata)
{
    struct tbref *ref = udata;
    struct block *b = ref->b;
    if (v >= MAX_VCPUS || (ff_dynamic() && !ff_block_counts(v)))
        return;
    struct vcpu *c = &vcpus[v];
    /* Per-vCPU state is only touched by its own vCPU thread (and at exit);
     * the lock guards the shared positions file only. */
    uint64_t counted = ff_counted(v);
    bool is_start = false;
    if (!c->started) {
        c->started = is_start = true;
        record_start(v, "");
    } else if (counted >= c->interval_end) {
        close_interval(v);
        while (c->interval_end <= counted)
            c->interval_end += interval;
        record_start(v, "");
        is_start = true;
    }
    if (b->count[v] == 0)
        g_ptr_array_add(c->touched, b);
    b->count[v] += b->n;
    if (landmarks)
        landmark(v, ref->site, counted, is_start);
}

/* Fast path, in this order: a change made on another vCPU seen before the
 * block (dynamic filters), the alarm, the watch (landmarks; ref: the block
 * at this address), the block's add -- all at block level, so before a
 * switch at its first instruction (a region's hint, a task's exit): the
 * block counts when vCPU v counted at its start, as on the helper path. */
static void fast_callbacks(struct qemu_plugin_tb *tb, struct block *b, size_t n, struct tbref *ref)
{
    if (ff_dynamic())
        qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, ff_cb_catch_up, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_NE,
                                                  ff.stale, 0, NULL);
    ff_register_alarm(tb, due_cb, NULL);
    if (ref)
        qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, watch_cb, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_NE, watch, 0,
                                                  ref);
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, b->slot, n);
}

/* FNV-1a, 64 bit: the block's code as a key independent of where it sits */
static uint64_t code_hash(struct qemu_plugin_tb *tb, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        unsigned char w[16];
        size_t len = qemu_plugin_insn_data(insn, w, sizeof w);
        for (size_t k = 0; k < len; k++)
            h = (h ^ w[k]) * 0x100000001b3ULL;
    }
    return h;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (!ff_tb_trans(tb))
        return; /* not counted (mode, range) */
    uint64_t va = qemu_plugin_tb_vaddr(tb);
    void *ha = qemu_plugin_insn_haddr(qemu_plugin_tb_get_insn(tb, 0));
    char key[48];
    snprintf(key, sizeof key, "%c%llx:%zu", ha ? 'p' : 'v', (unsigned long long)(ha ? (uintptr_t)ha : va), n);
    pthread_mutex_lock(&mu);
    struct block *b = g_hash_table_lookup(blocks, key);
    if (!b) {
        b = g_new0(struct block, 1);
        b->id = next_id++;
        b->n = (unsigned)n;
        b->vaddr = va;
        b->hash = code_hash(tb, n);
        if (fast) {
            if (chunk_used == CHUNK) {
                g_ptr_array_add(chunks, qemu_plugin_scoreboard_new(CHUNK * sizeof(uint64_t)));
                chunk_used = 0;
            }
            b->slot = (qemu_plugin_u64){g_ptr_array_index(chunks, chunks->len - 1), chunk_used++ * sizeof(uint64_t)};
        }
        g_hash_table_insert(blocks, g_strdup(key), b);
        g_ptr_array_add(by_id, b);
    }
    if (fast && !landmarks) {
        pthread_mutex_unlock(&mu);
        fast_callbacks(tb, b, n, NULL);
        return;
    }
    /* the callback's data: this block at this address (made once per pair,
     * whatever the number of retranslations) */
    char rkey[80];
    snprintf(rkey, sizeof rkey, "%llx:%s", (unsigned long long)va, key);
    struct tbref *ref = g_hash_table_lookup(tbrefs, rkey);
    if (!ref) {
        struct site *site = g_hash_table_lookup(sites, &va);
        if (!site) {
            site = g_new0(struct site, 1);
            site->vaddr = va;
            g_hash_table_insert(sites, &site->vaddr, site);
        }
        ref = g_new0(struct tbref, 1);
        ref->b = b;
        ref->site = site;
        if (fast) { /* a new pair: b starts at this site */
            if (!site->blocks)
                site->blocks = g_ptr_array_new();
            g_ptr_array_add(site->blocks, b);
        }
        g_hash_table_insert(tbrefs, g_strdup(rkey), ref);
    }
    pthread_mutex_unlock(&mu);
    if (fast) {
        fast_callbacks(tb, b, n, ref);
        return;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec, QEMU_PLUGIN_CB_NO_REGS, ref);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    for (int v = 0; v < MAX_VCPUS; v++) {
        if (!vcpus[v].out)
            continue;
        if (fast && ff_dynamic() && !ff.v[v].active)
            slots_clear((unsigned)v, false); /* what ran since v stopped counting */
        if (fast)
            close_interval_fast((unsigned)v, true); /* the last, partial interval */
        else if (vcpus[v].touched->len)
            close_interval((unsigned)v);
        if (vcpus[v].started)
            record_start((unsigned)v, "end ");
        gzclose(vcpus[v].out);
        vcpus[v].out = NULL;
    }
    pthread_mutex_lock(&mu);
    if (positions)
        fclose(positions);
    positions = NULL;
    if (landmarks && fclose(landmarks) != 0)
        fprintf(stderr, "ffwd-bbv: cannot write %s.landmarks\n", prefix);
    landmarks = NULL;
    char *bp = g_strdup_printf("%s.blocks", prefix);
    FILE *bf = fopen(bp, "w");
    if (bf) {
        fprintf(bf, "# ffwd-bbv blocks: id length code-hash vaddr\n");
        for (guint i = 0; i < by_id->len; i++) {
            struct block *b = g_ptr_array_index(by_id, i);
            fprintf(bf, "%llu %u %016llx %llx\n", (unsigned long long)b->id, b->n, (unsigned long long)b->hash,
                    (unsigned long long)b->vaddr);
        }
        if (fclose(bf) != 0)
            fprintf(stderr, "ffwd-bbv: cannot write %s\n", bp);
    } else
        fprintf(stderr, "ffwd-bbv: cannot write %s\n", bp);
    g_free(bp);
    pthread_mutex_unlock(&mu);
    ff_summary(stderr);
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
    vcpus[v].landmark_next = landmark_step;
    pthread_mutex_unlock(&mu);
    if (fast)
        ff_arm(v, 0); /* look at the first counted block */
    if (!vcpus[v].out)
        fprintf(stderr, "ffwd-bbv: cannot write %s\n", path);
    g_free(path);
    ff_vcpu_init();
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-bbv", info))
        return -1;
    ff_init("ffwd-bbv");
    ff_count_per_block(); /* counts are read at block starts only */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int f;
        if (!strncmp(a, "out=", 4))
            prefix = g_strdup(a + 4);
        else if (!strncmp(a, "interval=", 9)) {
            if (ffwd_plugin_u64(a + 9, &interval) < 0 || !interval) {
                fprintf(stderr, "ffwd-bbv: bad interval '%s'\n", a + 9);
                return -1;
            }
        } else if (!strncmp(a, "landmark=", 9)) {
            if (ffwd_plugin_u64(a + 9, &landmark_step) < 0) {
                fprintf(stderr, "ffwd-bbv: bad landmark step '%s'\n", a + 9);
                return -1;
            }
        } else if (!strcmp(a, "inline=off"))
            no_inline = true;
        else if ((f = ff_option(a)) < 0)
            return -1;
        else if (f > 0)
            continue;
        else {
            fprintf(stderr, "ffwd-bbv: unknown option '%s' (out=PREFIX, interval=N, landmark=S, inline=off, " FF_OPTIONS_HELP ")\n",
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
    fprintf(positions,
            "# ffwd-bbv positions v2: interval=%llu\n# vcpu interval insns_all_vcpus insns_this_vcpu "
            "counted_this_vcpu\n",
            (unsigned long long)interval);
    if (landmark_step) {
        char *lp = g_strdup_printf("%s.landmarks", prefix);
        landmarks = fopen(lp, "w");
        g_free(lp);
        if (!landmarks) {
            fprintf(stderr, "ffwd-bbv: cannot write %s.landmarks\n", prefix);
            return -1;
        }
        fprintf(landmarks,
                "# ffwd-bbv landmarks v1: step=%llu interval=%llu\n# vcpu counted_before_x x_vaddr p_vaddr "
                "counted_before_p p_gap\n",
                (unsigned long long)landmark_step, (unsigned long long)interval);
    }
    blocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    sites = g_hash_table_new(g_int64_hash, g_int64_equal);
    tbrefs = g_hash_table_new(g_str_hash, g_str_equal);
    by_id = g_ptr_array_new();
    fast = !no_inline;
    if (fast)
        chunks = g_ptr_array_new();
    if (fast && landmarks)
        watch = (qemu_plugin_u64){qemu_plugin_scoreboard_new(sizeof(uint64_t)), 0};
    if (fast && ff_dynamic())
        ff.on_switch = on_switch;
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
