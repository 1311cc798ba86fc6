/*
 * SimPoint clustering, SimPoint files, positions, gem5 names and stats:
 * synthetic inputs with known answers.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/err.h"
#include "common/util.h"
#include "gem5/simpoints.h"
#include "sample/landmarks.h"
#include "sample/sample.h"
#include "sample/simpoint.h"
#include "tests/test.h"

static uint64_t rs = 12345;
static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Write a BBV whose interval i belongs to phase truth[i]: each phase runs its
 * own 40 blocks (ids phase*1000+1..) with counts that vary +-10% around the
 * phase's profile, plus 5 shared blocks (a loop all phases use). */
static void write_phased(const char *path, const int *truth, size_t n, uint64_t interval, bool gz)
{
    gzFile g = gz ? gzopen(path, "wb") : NULL;
    FILE *f = gz ? NULL : fopen(path, "w");
    for (size_t i = 0; i < n; i++) {
        struct sbuf l = {0};
        sbuf_addc(&l, 'T');
        uint64_t left = interval;
        for (unsigned s = 1; s <= 5; s++) { /* shared blocks, ids 1..5 */
            uint64_t c = interval / 50;
            sbuf_addf(&l, ":%u:%llu ", s, (unsigned long long)c);
            left -= c;
        }
        for (unsigned b = 1; b <= 40; b++) {
            unsigned id = (unsigned)truth[i] * 1000 + 100 + b;
            uint64_t base = left / 40 * (b % 3 + 1) / 2, c = base * (90 + rnd() % 21) / 100;
            sbuf_addf(&l, ":%u:%llu ", id, (unsigned long long)(c ? c : 1));
        }
        sbuf_addc(&l, '\n');
        if (gz)
            gzwrite(g, l.s, (unsigned)l.len);
        else
            fputs(l.s, f);
        sbuf_free(&l);
    }
    if (gz)
        gzclose(g);
    else
        fclose(f);
}

/* Do the labels partition the intervals exactly as the truth (up to renaming)? */
static bool same_partition(const int *a, const int *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if ((a[i] == a[j]) != (b[i] == b[j]))
                return false;
    return true;
}

static void test_phases(const char *dir, bool ff)
{
    /* 3 phases in a known pattern: A x4, B x3, C x2, repeated 6 times, then A x3 */
    int truth[64];
    size_t n = 0;
    for (int rep = 0; rep < 6; rep++) {
        for (int k = 0; k < 4; k++)
            truth[n++] = 0;
        for (int k = 0; k < 3; k++)
            truth[n++] = 1;
        for (int k = 0; k < 2; k++)
            truth[n++] = 2;
    }
    for (int k = 0; k < 3; k++)
        truth[n++] = 0;
    char *p = xasprintf("%s/phased.bb.gz", dir);
    write_phased(p, truth, n, 1000000, true);
    struct bbv_data d;
    CHECK(bbv_load(p, 15, 7, false, &d) == 0);
    CHECK(d.n == n);
    CHECK(d.dim == 15);
    double wsum = 0;
    for (size_t i = 0; i < d.n; i++)
        wsum += d.w[i];
    CHECK(fabs(wsum - 1) < 1e-9);
    struct simpoint_opts o;
    simpoint_default_opts(&o);
    o.maxk = 10;
    o.furthest_first = ff;
    struct simpoint_result r;
    CHECK(simpoint_cluster(&d, &o, &r) == 0);
    CHECK_MSG(r.k == 3, "k = %u (%s), expected the 3 phases", r.k, ff ? "ff" : "samp");
    CHECK_MSG(same_partition(r.labels, truth, n), "the clusters are not the phases (%s)", ff ? "ff" : "samp");
    CHECK(r.npoints == 3);
    /* weights: instruction shares of the phases (27, 18, 12 intervals of 57) */
    for (size_t i = 0; i < r.npoints; i++) {
        int phase = truth[r.points[i].interval];
        double expect = phase == 0 ? 27.0 / 57 : phase == 1 ? 18.0 / 57 : 12.0 / 57;
        CHECK_MSG(fabs(r.points[i].weight - expect) < 0.02, "phase %d weight %g, expected ~%g", phase,
                  r.points[i].weight, expect);
        CHECK(r.labels[r.points[i].interval] == (int)r.points[i].cluster);
    }
    /* round trip through SimPoint's files */
    char *prefix = xasprintf("%s/phased", dir), *sp = xasprintf("%s.simpoints", prefix),
         *wp = xasprintf("%s.weights", prefix), *svg = xasprintf("%s.svg", prefix);
    CHECK(simpoint_write(prefix, &d, &r) == 0);
    struct simpoint_point *pts;
    size_t np;
    CHECK(simpoint_read(sp, wp, &pts, &np) == 0);
    CHECK(np == r.npoints);
    for (size_t i = 0; i < np && i < r.npoints; i++) {
        CHECK(pts[i].interval == r.points[i].interval);
        CHECK(pts[i].cluster == r.points[i].cluster);
        CHECK(fabs(pts[i].weight - r.points[i].weight) < 1e-12);
    }
    free(pts);
    CHECK(simpoint_svg(svg, &d, &r, "synthetic <3 phases>") == 0);
    char *s = read_file(svg, NULL);
    CHECK_STR_HAS(s, "<svg");
    CHECK_STR_HAS(s, "&lt;3 phases>");
    CHECK(s && strstr(s, "</svg>"));
    free(s);
    /* the k-means runs go at once on several threads: the same result, bit for
     * bit, whatever their number (1 to 7, more than there are runs at a time) */
    for (unsigned th = 1; th <= 7; th += 2) {
        struct simpoint_opts ot = o;
        ot.threads = th;
        struct simpoint_result rt;
        CHECK(simpoint_cluster(&d, &ot, &rt) == 0);
        bool same = rt.k == r.k && rt.ntried == r.ntried && rt.npoints == r.npoints;
        for (unsigned i = 0; same && i < rt.ntried; i++)
            same = rt.tried_k[i] == r.tried_k[i] && rt.tried_bic[i] == r.tried_bic[i];
        for (size_t i = 0; same && i < d.n; i++)
            same = rt.labels[i] == r.labels[i] && rt.dist[i] == r.dist[i];
        for (size_t i = 0; same && i < rt.npoints; i++)
            same = rt.points[i].interval == r.points[i].interval && rt.points[i].weight == r.points[i].weight;
        CHECK_MSG(same, "%u threads: another clustering than the default's (%s)", th, ff ? "ff" : "samp");
        simpoint_result_free(&rt);
    }
    /* exactly k = 2 merges two phases: still a valid answer */
    o.k = 2;
    simpoint_result_free(&r);
    CHECK(simpoint_cluster(&d, &o, &r) == 0);
    CHECK(r.k == 2 && r.npoints == 2 && r.ntried == 1);
    simpoint_result_free(&r);
    bbv_free(&d);
    free(prefix);
    free(sp);
    free(wp);
    free(svg);
    free(p);
}

static void test_kmeans_bic(const char *dir)
{
    /* two tight groups: BIC prefers k = 2 over k = 1 */
    int truth[20];
    for (int i = 0; i < 20; i++)
        truth[i] = i < 10 ? 0 : 1;
    char *p = xasprintf("%s/two.bb", dir);
    write_phased(p, truth, 20, 50000, false); /* plain text input works too */
    struct bbv_data d;
    CHECK(bbv_load(p, 15, 1, true, &d) == 0);
    CHECK(fabs(d.w[0] - 0.05) < 1e-12); /* fixed length: 1/n */
    double c1[15], c2[30], cw[2];
    memcpy(c1, d.x, sizeof c1);
    simpoint_kmeans(&d, 1, c1, cw, 100);
    memcpy(c2, d.x, 15 * sizeof *c2);
    memcpy(c2 + 15, d.x + 15 * 15, 15 * sizeof *c2);
    unsigned it = simpoint_kmeans(&d, 2, c2, cw, 100);
    CHECK(it < 100); /* converged */
    CHECK(fabs(cw[0] - 0.5) < 1e-9 && fabs(cw[1] - 0.5) < 1e-9);
    CHECK(simpoint_bic(&d, 2, c2) > simpoint_bic(&d, 1, c1));
    bbv_free(&d);
    free(p);
}

/* Lloyd's k-means as SimPoint runs it, written out plainly: the reference
 * simpoint_kmeans (Hamerly's bounds) must match bit for bit. */
static unsigned lloyd(const struct bbv_data *d, unsigned k, double *centers, double *cw, unsigned iters)
{
    unsigned dim = d->dim, it;
    double *next = xmalloc((size_t)k * dim * sizeof *next);
    for (it = 0; it < iters; it++) {
        memset(next, 0, (size_t)k * dim * sizeof *next);
        memset(cw, 0, k * sizeof *cw);
        for (size_t i = 0; i < d->n; i++) {
            const double *x = d->x + i * dim;
            unsigned best = 0;
            double bd = 0;
            for (unsigned c = 0; c < k; c++) {
                double s = 0;
                for (unsigned j = 0; j < dim; j++)
                    s += (x[j] - centers[(size_t)c * dim + j]) * (x[j] - centers[(size_t)c * dim + j]);
                if (c == 0 || s < bd)
                    bd = s, best = c;
            }
            for (unsigned j = 0; j < dim; j++)
                next[(size_t)best * dim + j] += d->w[i] * x[j];
            cw[best] += d->w[i];
        }
        for (unsigned c = 0; c < k; c++) {
            if (cw[c] > 0)
                for (unsigned j = 0; j < dim; j++)
                    next[(size_t)c * dim + j] /= cw[c];
            else
                memcpy(next + (size_t)c * dim, centers + (size_t)c * dim, dim * sizeof *next);
        }
        bool same = !memcmp(next, centers, (size_t)k * dim * sizeof *next);
        memcpy(centers, next, (size_t)k * dim * sizeof *next);
        if (same)
            break;
    }
    free(next);
    return it;
}

/* Hamerly's bounds skip searches, never change the answer: random data with
 * groups, exact duplicates (ties between centres) and k from 1 to 24. */
static void test_kmeans_exact(void)
{
    struct bbv_data d = {.n = 3000, .dim = 15};
    d.x = xmalloc(d.n * d.dim * sizeof *d.x);
    d.w = xmalloc(d.n * sizeof *d.w);
    uint64_t s = 12345;
    for (size_t i = 0; i < d.n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned g = (unsigned)(s >> 60); /* 16 groups */
        for (unsigned j = 0; j < d.dim; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double noise = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            d.x[i * d.dim + j] = (i % 7 == 0) ? (double)g : (double)g * ((j + g) % 3) + 0.2 * noise;
        }
        d.w[i] = 1.0 / (double)d.n;
    }
    for (unsigned k = 1; k <= 24; k += (k < 4 ? 1 : 5)) {
        for (unsigned init = 0; init < 3; init++) {
            size_t bytes = (size_t)k * d.dim * sizeof(double);
            double *a = xmalloc(bytes), *b = xmalloc(bytes), *cwa = xmalloc(k * sizeof *cwa),
                   *cwb = xmalloc(k * sizeof *cwb);
            for (unsigned c = 0; c < k; c++) /* init 2: duplicate centres, the tie case */
                memcpy(a + (size_t)c * d.dim, d.x + ((init == 2 ? c / 2 : c * 97 + init * 13) % d.n) * d.dim,
                       d.dim * sizeof *a);
            memcpy(b, a, bytes);
            unsigned ia = simpoint_kmeans(&d, k, a, cwa, 100), ib = lloyd(&d, k, b, cwb, 100);
            CHECK_MSG(ia == ib && !memcmp(a, b, bytes) && !memcmp(cwa, cwb, k * sizeof *cwa),
                      "k = %u, init %u: Hamerly's k-means differs from Lloyd's (%u vs %u iterations)", k, init, ia,
                      ib);
            free(a), free(b), free(cwa), free(cwb);
        }
    }
    free(d.x);
    free(d.w);
}

static void expect_load_error(const char *dir, const char *name, const char *text, const char *msg)
{
    char *p = xasprintf("%s/%s", dir, name);
    write_file_atomic(p, text, strlen(text), 0644);
    struct bbv_data d;
    CHECK_MSG(bbv_load(p, 15, 1, false, &d) < 0, "%s was accepted", name);
    CHECK_STR_HAS(ffwd_errmsg(), name);
    CHECK_STR_HAS(ffwd_errmsg(), msg);
    free(p);
}

static void test_bad_input(const char *dir)
{
    expect_load_error(dir, "x1.bb", "T:1:5 :2:7\nX:1:3\n", ":2: a BBV line starts with 'T'");
    expect_load_error(dir, "x2.bb", "T:1:5 :0:7\n", ":1:");
    expect_load_error(dir, "x3.bb", "T:1:5 :2:\n", "expected \":id:count\"");
    expect_load_error(dir, "x4.bb", "T\n", "without instructions");
    expect_load_error(dir, "x5.bb", "", "no intervals");
    expect_load_error(dir, "x6.bb", "T:1:5 2:3\n", ":1:");
    struct bbv_data d;
    CHECK(bbv_load("/nonexistent/x.bb", 15, 1, false, &d) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "/nonexistent/x.bb");

    /* SimPoint files that disagree */
    char *sp = xasprintf("%s/a.simpoints", dir), *wp = xasprintf("%s/a.weights", dir);
    struct simpoint_point *pts;
    size_t n;
    write_file_atomic(sp, "3 0\n9 1\n", 8, 0644);
    write_file_atomic(wp, "0.5 0\n0.5 2\n", 12, 0644);
    CHECK(simpoint_read(sp, wp, &pts, &n) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "cluster 1");
    write_file_atomic(wp, "0.5 0\n0.2 1\n", 12, 0644);
    CHECK(simpoint_read(sp, wp, &pts, &n) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "add up to");
    write_file_atomic(wp, "0.5 0\nhalf 1\n", 13, 0644);
    CHECK(simpoint_read(sp, wp, &pts, &n) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "a.weights:2");
    write_file_atomic(wp, "0.25 0\n0.75 1\n", 14, 0644);
    CHECK(simpoint_read(sp, wp, &pts, &n) == 0 && n == 2 && pts[1].interval == 9 && pts[1].weight == 0.75);
    free(pts);
    free(sp);
    free(wp);
}

static void test_positions_and_names(const char *dir)
{
    char *p = xasprintf("%s/p.positions", dir);
    const char *good = "# ffwd-bbv positions: interval=1000\n# vcpu interval insns_all_vcpus insns_this_vcpu\n"
                       "0 0 100 100\n1 0 150 50\n0 1 2100 1100\n";
    write_file_atomic(p, good, strlen(good), 0644);
    struct sample_positions pos;
    CHECK(sample_positions_read(p, &pos) == 0);
    CHECK(pos.interval == 1000 && pos.nvcpus == 2 && pos.n[0] == 2 && pos.n[1] == 1);
    CHECK(pos.all[0][1] == 2100 && pos.self[0][1] == 1100 && pos.all[1][0] == 150);
    sample_positions_free(&pos);
    const char *gap = "0 0 100 100\n0 2 300 300\n";
    write_file_atomic(p, gap, strlen(gap), 0644);
    CHECK(sample_positions_read(p, &pos) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "p.positions:2");
    const char *junk = "0 0 100\n";
    write_file_atomic(p, junk, strlen(junk), 0644);
    CHECK(sample_positions_read(p, &pos) < 0);
    free(p);
    /* gem5's own name, configs/common/Simulation.py */
    char *name = sample_checkpoint_name(3, 1234567, 0.25, 100000000, 1000000);
    CHECK(!strcmp(name, "cpt.simpoint_03_inst_1234567_weight_0.250000_interval_100000000_warmup_1000000"));
    free(name);
}

/* PREFIX.landmarks: one vCPU's records; the landmark nearest to a target
 * (never after the interval start, at most a step away); the window before
 * P's run (half its period, at most the margin). */
static void test_landmarks(const char *dir)
{
    char *p = xasprintf("%s/p.landmarks", dir);
    struct landmarks lm;
    CHECK(landmarks_read(p, 0, &lm) == 0 && lm.n == 0); /* an older profile: none */
    const char *good = "# ffwd-bbv landmarks v1: step=1000 interval=4000\n# comment\n"
                       "0 10005 400100 400080 10000 3000\n1 10007 500100 500080 10001 0\n"
                       "0 11002 400200 400180 10995 100\n0 13000 400300 400280 12996 200000\n";
    write_file_atomic(p, good, strlen(good), 0644);
    CHECK(landmarks_read(p, 0, &lm) == 0);
    CHECK(lm.step == 1000 && lm.n == 3 && lm.v[1].n == 11002 && lm.v[1].p_pc == 0x400180 &&
          lm.v[1].x_pc == 0x400200);
    const struct landmark *m = landmarks_near(&lm, 11100, 13000);
    CHECK(m && m->n == 11002);
    m = landmarks_near(&lm, 12900, 13000); /* 13000 is nearer than 11002, and not after the start */
    CHECK(m && m->n == 13000);
    m = landmarks_near(&lm, 12900, 12999); /* ... unless the start is before it; */
    CHECK(m == NULL);                      /* 11002 is more than a step away */
    m = landmarks_near(&lm, 9010, 13000);  /* 10005: within a step */
    CHECK(m && m->n == 10005);
    m = landmarks_near(&lm, 10900, 13000); /* 11002 is nearer, but its P recurs every 100: 10005 */
    CHECK(m && m->n == 10005);
    uint64_t lo, hi;
    landmark_window(&lm.v[0], &lo, &hi); /* half of a gap of 3000, either way */
    CHECK(lo == 10000 - 1500 && hi == 10000 + 1500);
    landmark_window(&lm.v[1], &lo, &hi); /* half of 100 */
    CHECK(lo == 10995 - 50 && hi == 10995 + 50);
    landmark_window(&lm.v[2], &lo, &hi); /* capped; never below 0 */
    CHECK(lo == 0 && hi == 12996 + FFWD_LANDMARK_MARGIN);
    /* a stop at the landmark's code in another mapping of its page (seen in landing_user: libc of another
     * program, 1 MiB away) is at the same code; another offset (a tight loop's other block) is not */
    CHECK(landmark_same_code(0xfffff7d6fc04ULL, 0xfffff7d6fc04ULL));
    CHECK(landmark_same_code(0xfffff7c6fc04ULL, 0xfffff7d6fc04ULL));
    CHECK(!landmark_same_code(0xaaaaaaabd418ULL, 0xaaaaaaabc8c0ULL));
    CHECK(!landmark_same_code(0xffff800008c6fc04ULL, 0xfffff7d6fc04ULL));
    landmarks_free(&lm);
    CHECK(landmarks_read(p, 1, &lm) == 0 && lm.n == 1);
    landmark_window(&lm.v[0], &lo, &hi); /* its first run: the margin */
    CHECK(lo == 0 && hi == 10001 + FFWD_LANDMARK_MARGIN);
    landmarks_free(&lm);
    const char *bad[] = {"# step=10\n0 100 x y 90 5\n", "# step=10\n0 100 1 2 90 5\n0 50 1 2 40 5\n",
                         "# step=10\n0 100 1 2 190 5\n", "0 100 1 2 90 5\n"};
    const char *why[] = {"p.landmarks:2", "p.landmarks:3", "p.landmarks:2", "step="};
    for (int i = 0; i < 4; i++) {
        write_file_atomic(p, bad[i], strlen(bad[i]), 0644);
        CHECK(landmarks_read(p, 0, &lm) < 0);
        CHECK_STR_HAS(ffwd_errmsg(), why[i]);
    }
    free(p);
}

static void test_stats(const char *dir)
{
    char *p = xasprintf("%s/stats.txt", dir);
    const char *t = "\n---------- Begin Simulation Statistics ----------\n"
                    "simInsts 5000 # x\n"
                    "system.switch_cpus.numCycles 7500 # Number of cpu cycles simulated (Cycle)\n"
                    "system.switch_cpus.commitStats0.numInsts 5000 # committed\n"
                    "system.cpu.numCycles 1 # switched out\n"
                    "\n---------- End Simulation Statistics   ----------\n"
                    "\n---------- Begin Simulation Statistics ----------\n"
                    "system.switch_cpus.numCycles 99999 # later dump\n"
                    "system.switch_cpus.commitStats0.numInsts 1 # later dump\n";
    write_file_atomic(p, t, strlen(t), 0644);
    uint64_t cyc = 0, ins = 0;
    CHECK(gem5_stats_cpu(p, "system.switch_cpus", &cyc, &ins) == 0);
    CHECK(cyc == 7500 && ins == 5000);
    CHECK(gem5_stats_cpu(p, "system.cpu", &cyc, &ins) < 0); /* no commit stat: an error, not a made-up CPI */
    CHECK_STR_HAS(ffwd_errmsg(), "system.cpu.commitStats0.numInsts");
    free(p);
}

int main(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-test-simpoint-");
    test_phases(dir, false);
    test_phases(dir, true);
    test_kmeans_bic(dir);
    test_kmeans_exact();
    test_bad_input(dir);
    test_positions_and_names(dir);
    test_landmarks(dir);
    test_stats(dir);
    rm_rf(dir);
    free(dir);
    return test_done();
}
