/*
 * bbv.c -- basic-block vectors for SimPoint (QEMU TCG plugin, API v4).
 *
 *   -plugin libffwd-bbv.so,out=PREFIX[,interval=N][,mode=all|user][,roi=on]
 *
 * For every vCPU, every N retired instructions (default 100 million) one
 * line in SimPoint 3.2's format goes to PREFIX.<vcpu>.bb.gz:
 *
 *     T:<id>:<count> :<id>:<count> ...
 *
 * ids from 1 in order of first appearance, count = instructions executed in
 * that block during the interval. A block is keyed by the host address of
 * its first instruction -- i.e. its guest-physical location in RAM, which
 * neither retranslation nor a different virtual mapping changes -- and its
 * length; the id is assigned once and stays for the whole run.
 * PREFIX.positions gets, per interval start, the exact global and per-vCPU
 * retired-instruction counts (the instruction-count trigger reaches them).
 *
 * mode=user counts only blocks in the lower (TTBR0, user) half of the
 * address space. roi=on counts only between `ffwd-guest roi-begin` and
 * `roi-end`, which execute the otherwise unused hints HINT #100 / #101.
 */
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

#define HINT_ROI_BEGIN 0xd5032c9fu /* HINT #100 */
#define HINT_ROI_END 0xd5032cbfu   /* HINT #101 */
#define MAX_VCPUS 64

struct block {
    uint64_t id;
    unsigned n;
    uint64_t count[MAX_VCPUS]; /* in the current interval */
};

struct vcpu {
    gzFile out;
    uint64_t interval_end; /* this vCPU's exact count at which the interval closes */
    GPtrArray *touched;    /* blocks with count > 0 in this interval */
    uint64_t intervals;
};

static GHashTable *blocks; /* key: "haddr:n" packed into a 128-bit-ish string; value: struct block* */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_id = 1, interval = 100000000ULL;
static struct vcpu vcpus[MAX_VCPUS];
static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 exact; /* exact retired instructions per vCPU */
static char *prefix;
static FILE *positions;
static int user_only, roi_mode, roi_active = 1;

static uint64_t global_count(void) { return qemu_plugin_u64_sum(exact); }

static int cmp_id(const void *a, const void *b)
{
    const struct block *x = *(struct block *const *)a, *y = *(struct block *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Close vCPU v's interval: one "T:..." line, counts reset. Called with mu held
 * (for the positions file) from v's own thread, or at exit. */
static void close_interval(unsigned v)
{
    struct vcpu *c = &vcpus[v];
    if (!c->out)
        return;
    g_ptr_array_sort(c->touched, cmp_id);
    gzprintf(c->out, "T");
    for (guint i = 0; i < c->touched->len; i++) {
        struct block *b = g_ptr_array_index(c->touched, i);
        gzprintf(c->out, ":%llu:%llu ", (unsigned long long)b->id, (unsigned long long)b->count[v]);
        b->count[v] = 0;
    }
    gzprintf(c->out, "\n");
    g_ptr_array_set_size(c->touched, 0);
    c->intervals++;
    if (positions) {
        int nv = qemu_plugin_num_vcpus();
        fprintf(positions, "%u %llu %llu", v, (unsigned long long)c->intervals, (unsigned long long)global_count());
        for (int i = 0; i < nv; i++)
            fprintf(positions, " %llu", (unsigned long long)qemu_plugin_u64_get(exact, (unsigned)i));
        fprintf(positions, "\n");
    }
}

static void block_exec(unsigned v, void *udata)
{
    struct block *b = udata;
    if (v >= MAX_VCPUS)
        return;
    /* Per-vCPU state is only touched by its own vCPU thread (and at exit, when
     * every vCPU has stopped): the lock guards the shared positions file only. */
    uint64_t done = qemu_plugin_u64_get(exact, v); /* retired before this block */
    struct vcpu *c = &vcpus[v];
    if (done >= c->interval_end) {
        pthread_mutex_lock(&mu);
        close_interval(v);
        pthread_mutex_unlock(&mu);
        c->interval_end = done - done % interval + interval;
    }
    if (roi_active) {
        if (b->count[v] == 0)
            g_ptr_array_add(c->touched, b);
        b->count[v] += b->n;
    }
}

static void roi_hint(unsigned v, void *udata)
{
    (void)v;
    roi_active = udata != NULL;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, exact, 1);
        if (roi_mode) {
            uint32_t w = 0;
            if (qemu_plugin_insn_data(insn, &w, 4) == 4 && (w == HINT_ROI_BEGIN || w == HINT_ROI_END))
                qemu_plugin_register_vcpu_insn_exec_cb(insn, roi_hint, QEMU_PLUGIN_CB_NO_REGS,
                                                       w == HINT_ROI_BEGIN ? (void *)1 : NULL);
        }
    }
    uint64_t va = qemu_plugin_tb_vaddr(tb);
    if (user_only && (va >> 48))
        return; /* kernel half: not counted in user mode */
    void *ha = n ? qemu_plugin_insn_haddr(qemu_plugin_tb_get_insn(tb, 0)) : NULL;
    char key[40];
    snprintf(key, sizeof key, "%llx:%zu", (unsigned long long)(uintptr_t)(ha ? ha : (void *)(uintptr_t)va), n);
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
    pthread_mutex_lock(&mu);
    for (int v = 0; v < MAX_VCPUS; v++) {
        if (!vcpus[v].out)
            continue;
        if (vcpus[v].touched->len)
            close_interval((unsigned)v); /* the last, partial interval */
        gzclose(vcpus[v].out);
        vcpus[v].out = NULL;
    }
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
    pthread_mutex_unlock(&mu);
    if (!vcpus[v].out)
        fprintf(stderr, "ffwd-bbv: cannot write %s\n", path);
    g_free(path);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-bbv", info))
        return -1;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4))
            prefix = g_strdup(argv[i] + 4);
        else if (!strncmp(argv[i], "interval=", 9)) {
            char *end;
            interval = strtoull(argv[i] + 9, &end, 10);
            if (*end || !interval) {
                fprintf(stderr, "ffwd-bbv: bad interval '%s'\n", argv[i] + 9);
                return -1;
            }
        } else if (!strcmp(argv[i], "mode=user"))
            user_only = 1;
        else if (!strcmp(argv[i], "mode=all"))
            user_only = 0;
        else if (!strcmp(argv[i], "roi=on"))
            roi_mode = 1, roi_active = 0;
        else {
            fprintf(stderr, "ffwd-bbv: unknown option '%s' (out=PREFIX, interval=N, mode=all|user, roi=on)\n",
                    argv[i]);
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
    fprintf(positions, "# vcpu interval global_insns_at_close per_vcpu_insns...\n");
    blocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
    exact = (qemu_plugin_u64){score, 0};
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
