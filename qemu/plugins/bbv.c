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
 * instructions of that block executed in the interval (the block's length
 * per execution). An interval closes at the first counted block that starts
 * at or after N counted instructions, so it holds N plus less than a block.
 *
 * What is counted: the filters of filter.h (mode, range, roi, process),
 * shared with the trigger plugin, exactly per retired instruction.
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
    uint64_t count[MAX_VCPUS]; /* in the current interval */
};

struct vcpu {
    gzFile out;
    uint64_t interval_end; /* counted instructions at which the interval closes */
    GPtrArray *touched;    /* blocks with count > 0 in this interval */
    uint64_t intervals;    /* lines written */
    bool started;          /* the first interval's start was recorded */
};

static GHashTable *blocks; /* key: "haddr:n"; value: struct block* */
static GPtrArray *by_id;   /* struct block*, index id - 1 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_id = 1, interval = 100000000ULL;
static struct vcpu vcpus[MAX_VCPUS];
static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 exact; /* exact retired instructions per vCPU (all) */
static char *prefix;
static FILE *positions;

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
                (unsigned long long)qemu_plugin_u64_sum(exact), (unsigned long long)qemu_plugin_u64_get(exact, v),
                (unsigned long long)ff_counted(v));
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
    if (v >= MAX_VCPUS || (ff_dynamic() && !ff_block_counts(v)))
        return;
    struct vcpu *c = &vcpus[v];
    /* Per-vCPU state is only touched by its own vCPU thread (and at exit);
     * the lock guards the shared positions file only. */
    uint64_t counted = ff_counted(v);
    if (!c->started) {
        c->started = true;
        record_start(v, "");
    } else if (counted >= c->interval_end) {
        close_interval(v);
        while (c->interval_end <= counted)
            c->interval_end += interval;
        record_start(v, "");
    }
    if (b->count[v] == 0)
        g_ptr_array_add(c->touched, b);
    b->count[v] += b->n;
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
    for (size_t i = 0; i < n; i++)
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(qemu_plugin_tb_get_insn(tb, i),
                                                            QEMU_PLUGIN_INLINE_ADD_U64, exact, 1);
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
        g_hash_table_insert(blocks, g_strdup(key), b);
        g_ptr_array_add(by_id, b);
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
        if (vcpus[v].started)
            record_start((unsigned)v, "end ");
        gzclose(vcpus[v].out);
        vcpus[v].out = NULL;
    }
    pthread_mutex_lock(&mu);
    if (positions)
        fclose(positions);
    positions = NULL;
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
    pthread_mutex_unlock(&mu);
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
        } else if ((f = ff_option(a)) < 0)
            return -1;
        else if (f > 0)
            continue;
        else {
            fprintf(stderr, "ffwd-bbv: unknown option '%s' (out=PREFIX, interval=N, " FF_OPTIONS_HELP ")\n", a);
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
    blocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    by_id = g_ptr_array_new();
    score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
    exact = (qemu_plugin_u64){score, 0};
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
