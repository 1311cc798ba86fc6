/*
 * mem.c -- memory-access tracing and an online cache/TLB/instruction-class
 * model (QEMU TCG plugin, API v4).
 *
 *   -plugin libffwd-mem.so,out=PREFIX[,trace=on|off][,values=on][,from=N][,to=N][,roi=on]
 *           [,model=on,interval=N,l1i=SPEC,l1d=SPEC,l2=SPEC,llc=SPEC,itlb=SPEC,dtlb=SPEC]
 *
 * Window: accesses are recorded/modelled while the vCPU's retired
 * instructions are in [from, to) (counted per vCPU, at block granularity)
 * and, with roi=on, between `ffwd-guest roi-begin` and `roi-end`.
 *
 * Trace (trace=on, default): PREFIX.<vcpu>.trace, format in trace/trace.h
 * and docs/trace-format.md (load/store, size, PC, virtual and physical
 * address, instruction count; the value with values=on). Streamed: two
 * 1 MiB buffers per vCPU, compressed (gzip level 1) by a writer thread.
 *
 * Model (model=on): per vCPU a private hierarchy L1I + L1D -> L2 (-> LLC),
 * an ITLB and a DTLB; every `interval` instructions one CSV row in
 * PREFIX.<vcpu>.model.csv: instructions by class (ALU, mul/div, FP/SIMD,
 * load, store, branch, other) and accesses/misses of each structure.
 * Caches: SIZE:ASSOC:LINE[:lru|random]; TLBs: ENTRIES:ASSOC[:PAGE] (4 KiB
 * pages by default). Data caches see physical addresses; the L1I sees the
 * host address of the code in guest RAM, marked apart from data addresses
 * in the L2 (its low 21 bits equal the guest-physical ones), so code and
 * data never share a line in the model. TLBs see virtual pages (no ASID).
 * A store that misses allocates; write-backs are not modelled. An access
 * that crosses a line boundary looks up both lines and counts as one access
 * (a miss if either misses), as cachegrind does.
 */
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../model/cache.h"
#include "../../model/insnclass.h"
#include "../../trace/trace.h"
#include "filter.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

#define MAX_VCPUS 64
#define CODE_MARK (1ULL << 62)

enum { S_L1I, S_L1D, S_L2, S_LLC, S_ITLB, S_DTLB, S_N };
static const char *const s_names[S_N] = {"l1i", "l1d", "l2", "llc", "itlb", "dtlb"};

struct insn_info {
    uint64_t pc;
    unsigned idx, n; /* position in its block, the block's length */
};

struct block {
    unsigned n;
    uint16_t cls[IC_N];
    unsigned nlines, npages;
    uint64_t *lines; /* L1I lines (host addresses | CODE_MARK) the block spans */
    uint64_t *pages; /* virtual pages for the ITLB */
};

struct vcpu {
    bool active, opened;
    uint64_t all;     /* instructions executed (whole blocks) */
    uint64_t counted; /* instructions executed inside the window */
    struct trace_writer tw;
    struct cache c[S_N];
    bool have[S_N];
    uint64_t cls[IC_N];
    uint64_t prev_cls[IC_N], prev_acc[S_N], prev_miss[S_N], prev_counted;
    uint64_t interval_end, intervals;
    uint64_t exact, prev_exact; /* model rows: exact counts (filter.h), as the BBV plugin's intervals */
    FILE *csv;
};

static struct vcpu vcpus[MAX_VCPUS];
static char *prefix;
static bool do_trace = true, values, model;
static uint64_t from, to = UINT64_MAX, interval = 100000000ULL;
static struct cache_cfg cfgs[S_N];
static bool want[S_N];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void emit_interval(unsigned v)
{
    struct vcpu *c = &vcpus[v];
    if (!c->csv || c->counted == c->prev_counted)
        return;
    fprintf(c->csv, "%llu,%llu,%llu", (unsigned long long)c->intervals, (unsigned long long)c->prev_exact,
            (unsigned long long)(c->exact - c->prev_exact));
    c->prev_exact = c->exact;
    for (int k = 0; k < IC_N; k++) {
        fprintf(c->csv, ",%llu", (unsigned long long)(c->cls[k] - c->prev_cls[k]));
        c->prev_cls[k] = c->cls[k];
    }
    for (int s = 0; s < S_N; s++) {
        uint64_t a = c->have[s] ? c->c[s].accesses : 0, m = c->have[s] ? c->c[s].misses : 0;
        fprintf(c->csv, ",%llu,%llu", (unsigned long long)(a - c->prev_acc[s]), (unsigned long long)(m - c->prev_miss[s]));
        c->prev_acc[s] = a;
        c->prev_miss[s] = m;
    }
    fputc('\n', c->csv);
    c->prev_counted = c->counted;
    c->intervals++;
}

/* Below L1: L2, then LLC, on a miss. */
static void lower(struct vcpu *c, uint64_t addr)
{
    if (c->have[S_L2] && cache_access(&c->c[S_L2], addr))
        return;
    if (c->have[S_LLC])
        cache_access(&c->c[S_LLC], addr);
}

static void open_window(unsigned v)
{
    struct vcpu *c = &vcpus[v];
    c->opened = true;
    if (do_trace) {
        char *p = g_strdup_printf("%s.%u.trace", prefix, v);
        if (trace_open_write(&c->tw, p, v, c->all, values) < 0)
            fprintf(stderr, "ffwd-mem: cannot write %s\n", p);
        g_free(p);
    }
}

static void block_exec(unsigned v, void *udata)
{
    struct block *b = udata;
    if (v >= MAX_VCPUS)
        return;
    struct vcpu *c = &vcpus[v];
    bool in = (!ff_dynamic() || ff_block_counts(v)) && c->all >= from && c->all < to;
    c->all += b->n;
    c->active = in;
    if (!in)
        return;
    if (!c->opened)
        open_window(v);
    if (model) {
        /* the BBV plugin's rule: close at the first block at or after N
         * instructions, counted exactly. The exact count never exceeds the
         * instructions of the blocks begun (c->all), so it is read (a call
         * into QEMU) only once those reach the interval's end. */
        uint64_t ex = c->all >= c->interval_end ? ff_counted(v) : 0;
        if (ex >= c->interval_end) {
            c->exact = ex;
            emit_interval(v);
            while (c->interval_end <= ex)
                c->interval_end += interval;
        }
        for (int k = 0; k < IC_N; k++)
            c->cls[k] += b->cls[k];
        for (unsigned i = 0; i < b->nlines; i++)
            if (c->have[S_L1I] && !cache_access(&c->c[S_L1I], b->lines[i]))
                lower(c, b->lines[i]);
        for (unsigned i = 0; c->have[S_ITLB] && i < b->npages; i++)
            cache_access(&c->c[S_ITLB], b->pages[i]);
    }
    c->counted += b->n;
}

static void mem_access(unsigned v, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    if (v >= MAX_VCPUS || !vcpus[v].active)
        return;
    struct vcpu *c = &vcpus[v];
    const struct insn_info *ii = udata;
    struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
    uint64_t pa = hw && !qemu_plugin_hwaddr_is_io(hw) ? qemu_plugin_hwaddr_phys_addr(hw) : vaddr;
    unsigned size = 1u << qemu_plugin_mem_size_shift(info);
    if (model) {
        if (c->have[S_DTLB])
            cache_access(&c->c[S_DTLB], vaddr);
        uint64_t missed[2];
        unsigned nm = 0;
        if (c->have[S_L1D] && !cache_access_range(&c->c[S_L1D], pa, size, missed, &nm))
            for (unsigned i = 0; i < nm; i++)
                lower(c, missed[i]);
    }
    if (do_trace && c->tw.f) {
        /* the block's instructions were added to `counted` when it started:
         * this access is made by instruction idx of the block */
        struct trace_rec r = {.icount = c->counted - ii->n + ii->idx, .pc = ii->pc, .vaddr = vaddr, .paddr = pa,
                              .size = size,
                              .store = qemu_plugin_mem_is_store(info)};
        if (values) {
            qemu_plugin_mem_value mv = qemu_plugin_mem_get_value(info);
            r.has_value = true;
            r.value = mv.type == QEMU_PLUGIN_MEM_VALUE_U8    ? mv.data.u8
                      : mv.type == QEMU_PLUGIN_MEM_VALUE_U16 ? mv.data.u16
                      : mv.type == QEMU_PLUGIN_MEM_VALUE_U32 ? mv.data.u32
                      : mv.type == QEMU_PLUGIN_MEM_VALUE_U64 ? mv.data.u64
                                                             : mv.data.u128.low;
        }
        trace_write(&c->tw, &r);
    }
}


static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block *b = g_new0(struct block, 1);
    b->n = (unsigned)n;
    GArray *lines = g_array_new(FALSE, FALSE, sizeof(uint64_t)), *pages = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    unsigned lshift = want[S_L1I] ? (unsigned)__builtin_ctz(cfgs[S_L1I].line) : 6;
    unsigned pshift = want[S_ITLB] ? (unsigned)__builtin_ctz(cfgs[S_ITLB].line) : 12;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint32_t w = 0;
        qemu_plugin_insn_data(insn, &w, 4);
        b->cls[insn_classify(w)]++;
        uint64_t va = qemu_plugin_insn_vaddr(insn);
        uint64_t ha = (uint64_t)(uintptr_t)qemu_plugin_insn_haddr(insn);
        uint64_t line = ((ha ? ha : va) >> lshift << lshift) | CODE_MARK, page = va >> pshift << pshift;
        if (!lines->len || g_array_index(lines, uint64_t, lines->len - 1) != line)
            g_array_append_val(lines, line);
        if (!pages->len || g_array_index(pages, uint64_t, pages->len - 1) != page)
            g_array_append_val(pages, page);
        if (do_trace || (model && want[S_L1D]) || (model && want[S_DTLB])) {
            struct insn_info *ii = g_new(struct insn_info, 1);
            ii->pc = va;
            ii->idx = (unsigned)i;
            ii->n = (unsigned)n;
            qemu_plugin_register_vcpu_mem_cb(insn, mem_access, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, ii);
        }
    }
    ff_tb_trans(tb); /* roi hints, exact count (every block: mode=all) */
    b->nlines = lines->len;
    b->npages = pages->len;
    b->lines = (uint64_t *)(void *)g_array_free(lines, FALSE);
    b->pages = (uint64_t *)(void *)g_array_free(pages, FALSE);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned v)
{
    (void)id;
    ff_vcpu_init(); /* the registers the exact count needs */
    if (v >= MAX_VCPUS)
        return;
    struct vcpu *c = &vcpus[v];
    pthread_mutex_lock(&mu);
    c->interval_end = interval;
    if (model) {
        char err[200];
        for (int s = 0; s < S_N; s++)
            if (want[s]) {
                if (cache_init(&c->c[s], &cfgs[s], err, sizeof err) < 0)
                    fprintf(stderr, "ffwd-mem: %s: %s\n", s_names[s], err);
                else
                    c->have[s] = true;
            }
        char *p = g_strdup_printf("%s.%u.model.csv", prefix, v);
        c->csv = fopen(p, "w");
        if (!c->csv)
            fprintf(stderr, "ffwd-mem: cannot write %s\n", p);
        else {
            fprintf(c->csv, "interval,start,insns");
            for (int k = 0; k < IC_N; k++)
                fprintf(c->csv, ",%s", insn_class_names[k]);
            for (int s = 0; s < S_N; s++)
                fprintf(c->csv, ",%s_access,%s_miss", s_names[s], s_names[s]);
            fputc('\n', c->csv);
        }
        g_free(p);
    }
    pthread_mutex_unlock(&mu);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    char *sp = g_strdup_printf("%s.summary", prefix);
    FILE *sum = fopen(sp, "w");
    g_free(sp);
    for (unsigned v = 0; v < MAX_VCPUS; v++) {
        struct vcpu *c = &vcpus[v];
        if (c->csv) {
            c->exact = ff_counted(v);
            emit_interval(v);
            fclose(c->csv);
        }
        if (sum && (c->opened || c->csv)) {
            /* with the model: counted exactly, as its rows */
            fprintf(sum, "vcpu %u: %llu instructions in the window", v,
                    (unsigned long long)(model && from == 0 && to == UINT64_MAX ? c->exact : c->counted));
            if (c->tw.f)
                fprintf(sum, ", %llu accesses traced, %llu bytes before compression", (unsigned long long)c->tw.records,
                        (unsigned long long)c->tw.bytes_raw);
            fputc('\n', sum);
            for (int s = 0; s < S_N; s++)
                if (c->have[s])
                    fprintf(sum, "  %s: %llu accesses, %llu misses\n", s_names[s],
                            (unsigned long long)c->c[s].accesses, (unsigned long long)c->c[s].misses);
        }
        if (c->tw.f)
            trace_close_write(&c->tw);
        for (int s = 0; s < S_N; s++)
            if (c->have[s])
                cache_free(&c->c[s]);
    }
    if (sum)
        fclose(sum);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-mem", info))
        return -1;
    ff_init("ffwd-mem");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        char err[200];
        int s = -1;
        for (int k = 0; k < S_N; k++) {
            size_t l = strlen(s_names[k]);
            if (!strncmp(a, s_names[k], l) && a[l] == '=')
                s = k;
        }
        if (s >= 0) {
            if (cache_parse_checked(strchr(a, '=') + 1, s >= S_ITLB, &cfgs[s], err, sizeof err) < 0) {
                fprintf(stderr, "ffwd-mem: %s: %s\n", s_names[s], err);
                return -1;
            }
            want[s] = true;
        } else if (!strncmp(a, "out=", 4))
            prefix = g_strdup(a + 4);
        else if (!strcmp(a, "trace=on") || !strcmp(a, "trace=off"))
            do_trace = !strcmp(a, "trace=on");
        else if (!strcmp(a, "values=on"))
            values = true;
        else if (!strcmp(a, "model=on") || !strcmp(a, "model=off"))
            model = !strcmp(a, "model=on");
        else if (!strcmp(a, "roi=on") || !strncmp(a, "count=", 6))
            ff_option(a); /* count=: this plugin counts per instruction anyway */
        else if (!strncmp(a, "from=", 5) && ffwd_plugin_u64(a + 5, &from) == 0)
            ;
        else if (!strncmp(a, "to=", 3) && ffwd_plugin_u64(a + 3, &to) == 0)
            ;
        else if (!strncmp(a, "interval=", 9) && ffwd_plugin_u64(a + 9, &interval) == 0 && interval)
            ;
        else {
            fprintf(stderr,
                    "ffwd-mem: bad option '%s' (out=PREFIX, trace=on|off, values=on, from=N, to=N, roi=on, "
                    "model=on, interval=N, l1i/l1d/l2/llc=SIZE:ASSOC:LINE[:lru|random], itlb/dtlb=ENTRIES:ASSOC)\n",
                    a);
            return -1;
        }
    }
    if (!prefix || from >= to) {
        fprintf(stderr, "ffwd-mem: needs out=PREFIX (and from < to)\n");
        return -1;
    }
    if (model) { /* defaults: the caches of gem5/ffwd_restore.py's O3 system, a 64-entry TLB pair */
        const char *def[S_N] = {"48K:3:64", "32K:2:64", "1M:16:64", NULL, "64:0", "64:0"};
        char err[200];
        for (int s = 0; s < S_N; s++)
            if (!want[s] && def[s]) {
                cache_parse_checked(def[s], s >= S_ITLB, &cfgs[s], err, sizeof err);
                want[s] = true;
            }
    }
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
