/*
 * The cache/TLB model on access patterns with known miss counts, the trace
 * format (round trip, corruption), reuse distances, instruction classes and
 * the CPI estimator (recovering known weights).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/err.h"
#include "common/util.h"
#include "model/cache.h"
#include "model/estimate.h"
#include "model/insnclass.h"
#include "tests/test.h"
#include "trace/analyze.h"
#include "trace/trace.h"

static struct cache mk(const char *spec)
{
    struct cache_cfg cfg;
    struct cache c;
    char err[200];
    CHECK_MSG(cache_parse(spec, &cfg, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(cache_init(&c, &cfg, err, sizeof err) == 0, "%s", err);
    return c;
}

static void test_cache(void)
{
    /* streaming: every new line misses once, the other words of a line hit */
    struct cache c = mk("32K:2:64");
    for (uint64_t a = 0; a < (1 << 20); a += 8)
        cache_access(&c, a);
    CHECK(c.misses == (1 << 20) / 64 && c.accesses == (1 << 20) / 8);
    cache_free(&c);
    /* stride of a line: all misses */
    c = mk("32K:2:64");
    for (uint64_t a = 0; a < (1 << 20); a += 64)
        cache_access(&c, a);
    CHECK(c.misses == c.accesses);
    cache_free(&c);
    /* working set just under capacity (512 lines = 32 KiB), 10 passes: only cold misses */
    const char *lru[] = {"32K:2:64", "32K:8:64", "32K:0:64", "48K:3:64"};
    for (int k = 0; k < 4; k++) {
        c = mk(lru[k]);
        for (int pass = 0; pass < 10; pass++)
            for (uint64_t a = 0; a < 32768; a += 64)
                cache_access(&c, a);
        CHECK_MSG(c.misses == 512, "%s: %llu misses for a working set that fits", lru[k],
                  (unsigned long long)c.misses);
        cache_free(&c);
    }
    /* just over capacity, cyclic: LRU misses on every access (fully associative,
     * and per set when every set gets one line more than its ways) */
    c = mk("32K:0:64");
    for (int pass = 0; pass < 10; pass++)
        for (uint64_t a = 0; a < 32768 + 64; a += 64)
            cache_access(&c, a);
    CHECK(c.misses == c.accesses);
    cache_free(&c);
    c = mk("32K:2:64"); /* 256 sets x 2 ways; 3 lines per set, cyclic */
    for (int pass = 0; pass < 10; pass++)
        for (uint64_t a = 0; a < 3 * 16384; a += 64)
            cache_access(&c, a);
    CHECK(c.misses == c.accesses);
    cache_free(&c);
    /* random replacement keeps part of an over-capacity loop: fewer misses than LRU */
    c = mk("32K:0:64:random");
    for (int pass = 0; pass < 20; pass++)
        for (uint64_t a = 0; a < 32768 + 64 * 64; a += 64)
            cache_access(&c, a);
    CHECK_MSG(c.misses > 576 && c.misses < c.accesses / 2, "random: %llu of %llu", (unsigned long long)c.misses,
              (unsigned long long)c.accesses);
    cache_free(&c);
    /* conflicts: direct mapped, two addresses one cache size apart alternate */
    c = mk("32K:1:64");
    for (int i = 0; i < 100; i++)
        cache_access(&c, (uint64_t)(i & 1) * 32768);
    CHECK(c.misses == 100);
    cache_free(&c);
    /* a TLB: 64 entries of 4 KiB pages, fully associative */
    c = mk("256K:0:4096");
    for (int pass = 0; pass < 3; pass++)
        for (uint64_t a = 0; a < 64 * 4096; a += 512)
            cache_access(&c, a);
    CHECK(c.misses == 64);
    cache_free(&c);
    /* bad geometry */
    struct cache_cfg cfg;
    char err[200];
    CHECK(cache_parse("32K:2", &cfg, err, sizeof err) < 0);
    CHECK(cache_parse("32K:2:64:fifo", &cfg, err, sizeof err) < 0);
    CHECK(cache_parse("32K:3:64", &cfg, err, sizeof err) == 0 && cache_init(&c, &cfg, err, sizeof err) < 0);
    CHECK(strstr(err, "power-of-two number of sets") != NULL);
    CHECK(cache_parse("32K:2:48", &cfg, err, sizeof err) == 0 && cache_init(&c, &cfg, err, sizeof err) < 0);
}

static void test_trace(const char *dir)
{
    char *p = xasprintf("%s/t.trace", dir);
    struct trace_writer w;
    CHECK(trace_open_write(&w, p, 3, 123456, true) == 0);
    enum { N = 200000 };
    struct trace_rec *in = calloc(N, sizeof *in);
    uint64_t s = 7, ic = 0, pc = 0xffff800008010000ULL;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1;
        ic += (s >> 60);
        if (s & (1ULL << 40))
            pc += 4 * ((s >> 20) & 7);
        uint64_t va = (s >> 8) % 3 ? 0x0000ffff00000000ULL + ((s >> 16) & 0xfffff8) : 0xffff000000000000ULL + (s >> 30);
        in[i] = (struct trace_rec){.icount = ic, .pc = pc, .vaddr = va, .paddr = 0x40000000 + (va & 0xfffffff),
                                   .size = 1u << ((s >> 33) & 3), .store = (s >> 35) & 1,
                                   .has_value = true, .value = s ^ (s >> 17)};
        trace_write(&w, &in[i]);
    }
    CHECK(w.records == N);
    CHECK(trace_close_write(&w) == 0);
    printf("trace: %d synthetic accesses, %.2f bytes each before compression, %.2f in the file\n", N,
           (double)w.bytes_raw / N, (double)file_size(p) / N);
    struct trace_reader r;
    CHECK(trace_open_read(&r, p) == 0);
    CHECK(r.vcpu == 3 && r.start_icount == 123456 && r.values);
    struct trace_rec o;
    int i = 0, rc, same = 1;
    while ((rc = trace_next(&r, &o)) == 1 && i < N) {
        same &= o.icount == in[i].icount && o.pc == in[i].pc && o.vaddr == in[i].vaddr && o.paddr == in[i].paddr &&
                o.size == in[i].size && o.store == in[i].store && o.value == in[i].value;
        i++;
    }
    CHECK(rc == 0 && i == N && same);
    trace_close_read(&r);
    /* truncated: the reader says so instead of inventing records */
    size_t len;
    char *raw = read_file_gz(p, &len);
    char *q = xasprintf("%s/cut.trace", dir);
    gzFile g = gzopen(q, "wb");
    gzwrite(g, raw, (unsigned)(len - 3));
    gzclose(g);
    CHECK(trace_open_read(&r, q) == 0);
    while ((rc = trace_next(&r, &o)) == 1)
        ;
    CHECK(rc < 0 && strstr(r.err, "truncated"));
    trace_close_read(&r);
    /* not a trace */
    write_file_atomic(q, "hello", 5, 0644);
    CHECK(trace_open_read(&r, q) < 0 && strstr(r.err, "not an ffwd memory trace"));
    /* reuse distances: a cycle over 100 lines has distance 99 for every re-reference */
    CHECK(trace_open_write(&w, q, 0, 0, false) == 0);
    for (int k = 0; k < 5000; k++)
        trace_write(&w, &(struct trace_rec){.icount = (uint64_t)k, .vaddr = (uint64_t)(k % 100) * 64,
                                             .paddr = (uint64_t)(k % 100) * 64, .size = 8});
    trace_close_write(&w);
    struct trace_stats st;
    CHECK(trace_analyze(q, 64, &st) == 0);
    CHECK(st.records == 5000 && st.cold == 100 && st.lines == 100 && st.pages == 2);
    CHECK(st.reuse[7] == 4900); /* 99 is in [64, 128) */
    CHECK(trace_lru_miss_ratio(&st, 128) == 100.0 / 5000 && trace_lru_miss_ratio(&st, 64) == 1.0);
    free(raw);
    free(in);
    free(p);
    free(q);
}

static void test_classes(void)
{
    CHECK(insn_classify(0x91000420) == IC_ALU);    /* add x0, x1, #1 */
    CHECK(insn_classify(0x8b020020) == IC_ALU);    /* add x0, x1, x2 */
    CHECK(insn_classify(0x9b020c20) == IC_MULDIV); /* madd */
    CHECK(insn_classify(0x9ac20820) == IC_MULDIV); /* udiv */
    CHECK(insn_classify(0x1e622820) == IC_FPSIMD); /* fadd d0, d1, d2 */
    CHECK(insn_classify(0x4ea28420) == IC_FPSIMD); /* add v0.4s */
    CHECK(insn_classify(0xf9400020) == IC_LOAD);   /* ldr x0, [x1] */
    CHECK(insn_classify(0xa9407bfd) == IC_LOAD);   /* ldp */
    CHECK(insn_classify(0x58000000) == IC_LOAD);   /* ldr literal */
    CHECK(insn_classify(0xb8200041) == IC_LOAD);   /* ldadd */
    CHECK(insn_classify(0x3dc00000) == IC_LOAD);   /* ldr q0 */
    CHECK(insn_classify(0xf9000020) == IC_STORE);  /* str x0, [x1] */
    CHECK(insn_classify(0xa9bf7bfd) == IC_STORE);  /* stp x29, x30, [sp, #-16]! */
    CHECK(insn_classify(0x14000000) == IC_BRANCH); /* b */
    CHECK(insn_classify(0x94000000) == IC_BRANCH); /* bl */
    CHECK(insn_classify(0x54000000) == IC_BRANCH); /* b.eq */
    CHECK(insn_classify(0xb4000000) == IC_BRANCH); /* cbz */
    CHECK(insn_classify(0x36000000) == IC_BRANCH); /* tbz */
    CHECK(insn_classify(0xd65f03c0) == IC_BRANCH); /* ret */
    CHECK(insn_classify(0xd503201f) == IC_OTHER);  /* nop */
    CHECK(insn_classify(0xd4000001) == IC_OTHER);  /* svc */
}

static void test_estimator(const char *dir)
{
    /* synthetic intervals: CPI = 0.4 + 12 * l1d_miss + 150 * l2_miss + 3 * muldiv; the
     * other features vary but have weight 0 -- NNLS must find exactly these */
    enum { N = 60 };
    struct est_row rows[N];
    const double truth[5] = {0.4, 3.0, 0.0, 12.0, 150.0}; /* base, muldiv, branch, l1d, l2 */
    uint64_t s = 99;
    for (int i = 0; i < N; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        rows[i].insns = 1000000;
        rows[i].x[0] = 1;
        for (int j = 1; j < 5; j++) {
            s = s * 6364136223846793005ULL + 1;
            rows[i].x[j] = (double)(s >> 40) / (double)(1ULL << 24) * (j == 4 ? 0.005 : j == 3 ? 0.05 : 0.2);
        }
        rows[i].cpi = 0;
        for (int j = 0; j < 5; j++)
            rows[i].cpi += truth[j] * rows[i].x[j];
    }
    double w[EST_MAXF], rms;
    CHECK(est_fit(rows, N, 5, w, &rms) == 0);
    for (int j = 0; j < 5; j++)
        CHECK_MSG(fabs(w[j] - truth[j]) < 1e-6 * (1 + truth[j]), "weight %d: %g, expected %g", j, w[j], truth[j]);
    CHECK(rms < 1e-9);
    CHECK(est_loocv(rows, N, 5) < 1e-9);
    /* a feature that would want a negative weight is clamped to 0 */
    for (int i = 0; i < N; i++)
        rows[i].cpi -= 2.0 * rows[i].x[2];
    CHECK(est_fit(rows, N, 5, w, &rms) == 0);
    CHECK(w[2] == 0.0);
    for (int j = 0; j < 5; j++)
        CHECK(w[j] >= 0);
    /* noisy data: the held-out error is positive and small */
    for (int i = 0; i < N; i++) {
        rows[i].cpi = 0;
        for (int j = 0; j < 5; j++)
            rows[i].cpi += truth[j] * rows[i].x[j];
        rows[i].cpi *= 1.0 + 0.02 * ((i % 5) - 2) / 2.0;
    }
    double loo = est_loocv(rows, N, 5);
    CHECK_MSG(loo > 0.001 && loo < 0.05, "leave-one-out %g", loo);
    /* the model CSV reader */
    char *p = xasprintf("%s/m.csv", dir);
    const char *csv = "interval,start,insns,alu,muldiv,fpsimd,load,store,branch,other,l1d_access,l1d_miss\n"
                      "0,0,1000,500,10,0,200,100,150,40,300,30\n1,1000,2000,900,0,0,400,200,300,200,600,6\n";
    write_file_atomic(p, csv, strlen(csv), 0644);
    struct est_features f;
    struct est_row *r;
    size_t n;
    CHECK(est_read_csv(p, &f, &r, &n) == 0);
    CHECK(n == 2 && f.n == 7 && !strcmp(f.name[0], "base") && !strcmp(f.name[6], "l1d_miss"));
    CHECK(r[0].x[6] == 0.03 && r[1].x[6] == 0.003 && r[1].interval == 1);
    free(r);
    write_file_atomic(p, "interval,insns,l1d_miss\n0,100\n", 30, 0644);
    CHECK(est_read_csv(p, &f, &r, &n) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "m.csv:2");
    free(p);
}

/* The hash index of highly associative caches changes the cost, never the
 * result: the same accesses give the same hit or miss, one by one, with the
 * index and with the plain scan -- fully associative TLBs, 16/32-way caches,
 * LRU and random replacement, addresses that collide in the hash and a
 * working set larger than the cache (every miss evicts, the index deletes). */
static void test_cache_index(void)
{
    const char *specs[] = {"256K:0:4096", "64K:16:64", "128K:32:64:random", "8K:0:64:random", "2M:0:4096"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        struct cache_cfg cfg;
        struct cache a, b;
        char err[200];
        CHECK(cache_parse(specs[k], &cfg, err, sizeof err) == 0);
        CHECK(cache_init_indexed(&a, &cfg, true, err, sizeof err) == 0 && a.index);
        CHECK(cache_init_indexed(&b, &cfg, false, err, sizeof err) == 0 && !b.index);
        uint64_t x = 88172645463325252ULL, diff = 0;
        uint64_t lines = cfg.size / cfg.line;
        for (int i = 0; i < 400000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* mostly a working set of 1.5x the cache, sometimes far away, sometimes
             * a stride of the index's size (the same home) */
            uint64_t ln = (i % 7 == 0)   ? x % (1ULL << 40)
                          : (i % 5 == 0) ? (x % 64) * (4 * lines)
                                         : x % (lines + lines / 2);
            uint64_t addr = ln * cfg.line + (x >> 50) % cfg.line;
            diff += cache_access(&a, addr) != cache_access(&b, addr);
        }
        CHECK_MSG(diff == 0 && a.misses == b.misses && a.misses > 1000 && a.misses < a.accesses,
                  "%s: %llu of 400000 accesses differ (misses %llu vs %llu)", specs[k], (unsigned long long)diff,
                  (unsigned long long)a.misses, (unsigned long long)b.misses);
        cache_free(&a);
        cache_free(&b);
    }
    /* on by default only where a scan is long */
    struct cache c = mk("64K:0:4096");
    CHECK(c.index != NULL);
    cache_free(&c);
    c = mk("32K:8:64");
    CHECK(c.index == NULL);
    cache_free(&c);
}

int main(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-test-model-");
    test_cache();
    test_cache_index();
    test_trace(dir);
    test_classes();
    test_estimator(dir);
    rm_rf(dir);
    free(dir);
    return test_done();
}
