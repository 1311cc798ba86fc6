/*
 * bench_sample -- costs of the sampling stages, as ratios against baselines
 * measured in the same run.
 *
 *   bench_sample FFWD_BINARY PLUGIN_DIR [REPEATS] [INTERVALS,...]
 *
 * 1. Plugin slowdown: the same workload between two guest markers, without
 *    plugin and with: ffwd's exact instruction count (libffwd-icount.so) per
 *    block (the default) and per instruction (count=insn, what --deterministic
 *    runs use); the BBV plugin (100M-instruction intervals) on its inline
 *    path, as `ffwd profile` runs it (landmarks every 100k instructions:
 *    blocks watched by a helper only shortly before each landmark) and the
 *    same on the helper path (inline=off: a helper per block, as before),
 *    and on the helper path with a count per instruction (inline=off,
 *    count=insn: the plugin as it was before the inline path); a study's
 *    profile (user code of the region's process, landmarks: the slots set
 *    aside at each switch of the process filter) and the same with a
 *    helper per block.
 *    Medians, ratios to no plugin. Where QEMU_CONTRIB_PLUGINS names a folder
 *    with QEMU's own contrib plugins built from Debian's source package
 *    (scripts/qemu-contrib-plugins.sh), their bbv and insn (inline) too;
 *    said loudly when they are not there.
 * 2. Clustering (`ffwd cluster`, default options) on synthetic BBVs of
 *    growing size (3 phases, 40 blocks per interval, drawn from 1M distinct
 *    blocks): wall time and peak memory, against reading the same gzip'd
 *    input with `gzip -dc` (time) and against the input's size (memory),
 *    and the time of the same clustering on one thread (--threads 1).
 * 3. The landing check: `ffwd sample` of a --user --process roi profile of
 *    real programs on the disk (xz, bzip2 on the disk's input), with the
 *    check (the rerun records its own BBV) against --no-landing-check.
 * 4. Record/replay, the way a full-system profile with a disk is
 *    reproduced: the same programs without a filter, `ffwd boot` without
 *    plugin as the baseline; `ffwd profile` (full system, not reproducible)
 *    and `ffwd profile --record`; `ffwd sample` of each (a rerun in host
 *    time against a replay with QEMU's breakpoints); the record's size per
 *    G instructions and the sample folder's size per point.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "bench/bench.h"
#include "common/util.h"
#include "sample/sample.h"

static const char *ffwd_bin, *plugdir;

#define WORKLOAD "ffwd-matmul 384; ffwd-ptrchase 1000000; ffwd-sort 500000"
/* the same as the region of a study's profile (--user --process roi) */
#define ROI_WORKLOAD "ffwd-guest roi -- sh -c '" WORKLOAD "'"
#define DISK_WORKLOAD                                                                                              \
    "head -c 600000 /data/input.txt > /root/in.txt; ffwd-guest roi -- sh -c '/usr/bin/xz -6 -T1 -c /root/in.txt "  \
    "> /root/o.xz; bzip2 -9 -c /root/in.txt > /root/o.bz2'"

/* The same programs as the whole system: no region, no filter (record/replay) */
#define FS_WORKLOAD                                                                                                \
    "head -c 600000 /data/input.txt > /root/in.txt; /usr/bin/xz -6 -T1 -c /root/in.txt > /root/o.xz; "             \
    "bzip2 -9 -c /root/in.txt > /root/o.bz2; sync"

/* Run argv, return wall seconds; *rss_kb = peak resident set of the child. */
static double timed(char *const argv[], long *rss_kb, const char *out_file)
{
    fflush(stdout); /* the child must not inherit unwritten output */
    double t0 = now_sec();
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out_file ? out_file : "/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execv(argv[0], argv);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    if (rss_kb)
        *rss_kb = ru.ru_maxrss;
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        fprintf(stderr, "bench_sample: %s failed\n", argv[0]);
        return -1;
    }
    return now_sec() - t0;
}

/* Bytes a folder takes on disk (allocated blocks: sparse files count as stored). */
static uint64_t du_sum;
static int du_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p, (void)flag, (void)ftw;
    du_sum += (uint64_t)st->st_blocks * 512;
    return 0;
}
static uint64_t bench_du(const char *dir)
{
    du_sum = 0;
    nftw(dir, du_one, 16, FTW_PHYS);
    return du_sum;
}

static void synth(const char *path, size_t n)
{
    gzFile g = gzopen(path, "wb1");
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        unsigned phase = (unsigned)(i / 50 % 3);
        gzputs(g, "T");
        for (unsigned b = 0; b < 40; b++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            /* 2/3 of the blocks from the phase's region, the rest from all 1M */
            unsigned id = b < 27 ? phase * 300000 + (unsigned)((s >> 33) % 300000) + 1
                                 : (unsigned)((s >> 33) % 1000000) + 1;
            gzprintf(g, ":%u:%u ", id, 1000 + (unsigned)(s >> 52));
        }
        gzputs(g, "\n");
    }
    gzclose(g);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_sample FFWD_BINARY PLUGIN_DIR [REPEATS] [INTERVALS,...]\n");
        return 2;
    }
    ffwd_bin = argv[1];
    plugdir = argv[2];
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1 || reps > 20)
        reps = 3;
    const char *sizes = argc > 4 ? argv[4] : "1000,10000,100000";
    char *dir = make_temp_dir("/tmp", "ffwd-bench-sample-");
    const char *contrib = getenv("QEMU_CONTRIB_PLUGINS");
    struct {
        const char *name;
        char *plugin;
        const char *wl; /* NULL: WORKLOAD */
    } v[] = {
        {"no plugin", NULL, NULL},
        {"icount, per block", xasprintf("%s/libffwd-icount.so,out=%s/ic.json", plugdir, dir), NULL},
        {"icount, per insn", xasprintf("%s/libffwd-icount.so,out=%s/ic2.json,count=insn", plugdir, dir), NULL},
        {"BBV (100M), inline", xasprintf("%s/libffwd-bbv.so,out=%s/b,interval=100000000", plugdir, dir), NULL},
        {"BBV, as ffwd profile", xasprintf("%s/libffwd-bbv.so,out=%s/c,interval=100000000,landmark=100000", plugdir, dir), NULL},
        {"BBV, profile, helper", xasprintf("%s/libffwd-bbv.so,out=%s/c2,interval=100000000,landmark=100000,inline=off",
                                           plugdir, dir), NULL},
        {"BBV, study profile", xasprintf("%s/libffwd-bbv.so,out=%s/s,interval=100000000,landmark=100000,mode=user,"
                                         "process=roi", plugdir, dir), ROI_WORKLOAD},
        {"BBV, study, helper", xasprintf("%s/libffwd-bbv.so,out=%s/s2,interval=100000000,landmark=100000,mode=user,"
                                         "process=roi,inline=off", plugdir, dir), ROI_WORKLOAD},
        {"BBV, helper + insn", xasprintf("%s/libffwd-bbv.so,out=%s/d,interval=100000000,inline=off,count=insn", plugdir,
                                         dir), NULL},
        {"contrib bbv.c", contrib && *contrib ? xasprintf("%s/libbbv.so,outfile=%s/e,interval=100000000", contrib, dir)
                                              : NULL, NULL},
        {"contrib insn.c", contrib && *contrib ? xasprintf("%s/libinsn.so,inline=on", contrib) : NULL, NULL},
    };
    int nv = (int)(sizeof v / sizeof v[0]);
    if (!contrib || !*contrib)
        nv -= 2;
    double t[12][20], cpu[12][20];
    for (int i = 0; i < reps; i++)
        for (int k = 0; k < nv; k++)
            if (bench_between_markers(ffwd_bin, v[k].wl ? v[k].wl : WORKLOAD, v[k].plugin, &t[k][i], &cpu[k][i]))
                return 1;
    printf("bench_sample (median of %d; TCG, demo guest; matmul 384 + ptrchase 1000000 + sort 500000; ratios of\n"
           "  QEMU's CPU time between the markers, wall time beside)\n", reps);
    double base = 0, wbase = 0;
    for (int k = 0; k < nv; k++) {
        qsort(t[k], (size_t)reps, sizeof t[k][0], bench_cmpd);
        qsort(cpu[k], (size_t)reps, sizeof cpu[k][0], bench_cmpd);
        double m = t[k][reps / 2], c = cpu[k][reps / 2];
        if (!k)
            base = c, wbase = m;
        if (c > 0 && base > 0)
            printf("  %-24s CPU %7.3f s   ratio %.2fx vs no plugin   (wall %.3f s, %.2fx)\n", v[k].name, c, c / base, m,
                   m / wbase);
        else
            printf("  %-24s wall %7.3f s   ratio %.2fx vs no plugin (no CPU time)\n", v[k].name, m, m / wbase);
        free(v[k].plugin);
    }
    if (nv < (int)(sizeof v / sizeof v[0]))
        printf("  QEMU's contrib bbv.c and insn.c: SKIPPED (QEMU_CONTRIB_PLUGINS not set; "
               "scripts/qemu-contrib-plugins.sh builds them from Debian's qemu source package)\n");

    printf("  clustering (ffwd cluster, defaults: maxk 30, 5 seeds, 15 dims; 40 blocks/interval of 1M):\n");
    printf("  %10s %10s %10s %12s %10s %12s %12s\n", "intervals", "input MB", "time s", "vs gzip -dc", "peak MB",
           "MB/1k intvl", "1 thread s");
    char *copy = xstrdup(sizes);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t n = strtoull(tok, NULL, 10);
        if (!n)
            continue;
        char *in = xasprintf("%s/s%zu.bb.gz", dir, n), *out = xasprintf("%s/s%zu", dir, n);
        synth(in, n);
        char *zc[] = {"gzip", "-dc", in, NULL};
        char *raw = xasprintf("%s/raw", dir);
        double tz = timed(zc, NULL, raw);
        double mb = (double)file_size(raw) / 1048576.0;
        unlink(raw);
        char *cl[] = {(char *)ffwd_bin, "cluster", in, "--out", out, "--force", NULL};
        long rss = 0;
        double tc = timed(cl, &rss, NULL);
        /* the same clustering on one thread: what the threads buy (same result) */
        char *c1[] = {(char *)ffwd_bin, "cluster", in, "--out", out, "--force", "--threads", "1", NULL};
        double t1c = timed(c1, NULL, NULL);
        printf("  %10zu %10.1f %10.2f %11.1fx %10.1f %12.2f %8.2f (%.2fx)\n", n, mb, tc, tc / tz, (double)rss / 1024.0,
               (double)rss / 1024.0 / ((double)n / 1000.0), t1c, t1c / tc);
        free(in);
        free(out);
        free(raw);
    }
    free(copy);

    /* 3. the landing check */
    char *prof = xasprintf("%s/land", dir), *bb = xasprintf("%s/land.0.bb.gz", dir);
    char *pa[] = {(char *)ffwd_bin, "profile", "--out", prof, "--interval", "20000000", "--user", "--process", "roi",
                  "--cmd", DISK_WORKLOAD, NULL};
    char *ca[] = {(char *)ffwd_bin, "cluster", bb, "--maxk", "6", NULL};
    if (timed(pa, NULL, NULL) < 0 || timed(ca, NULL, NULL) < 0)
        return 1;
    double with[20], without[20];
    for (int i = 0; i < reps; i++) {
        char *o1 = xasprintf("%s/s-with-%d", dir, i), *o2 = xasprintf("%s/s-without-%d", dir, i);
        char *s1[] = {(char *)ffwd_bin, "sample", "--profile", prof, "--out", o1, "--warmup", "1000000", NULL};
        char *s2[] = {(char *)ffwd_bin, "sample", "--profile", prof, "--out", o2, "--warmup", "1000000",
                      "--no-landing-check", NULL};
        with[i] = timed(s1, NULL, NULL);
        without[i] = timed(s2, NULL, NULL);
        if (with[i] < 0 || without[i] < 0)
            return 1;
        rm_rf(o1), rm_rf(o2);
        free(o1), free(o2);
    }
    qsort(with, (size_t)reps, sizeof *with, bench_cmpd);
    qsort(without, (size_t)reps, sizeof *without, bench_cmpd);
    printf("  landing check (ffwd sample, --user --process roi, xz + bzip2 on the disk; whole command):\n");
    printf("  without check (--no-landing-check) %.3f s\n", without[reps / 2]);
    printf("  with check (rerun BBV + distance)  %.3f s   ratio %.2fx\n", with[reps / 2],
           with[reps / 2] / without[reps / 2]);
    free(prof), free(bb);

    /* 4. record/replay */
    double rr[5][20];
    uint64_t rec_bytes = 0, sample_bytes = 0, insns = 0;
    unsigned npts = 0;
    for (int i = 0; i < reps; i++) {
        char *p1 = xasprintf("%s/fs%d", dir, i), *p2 = xasprintf("%s/rr%d", dir, i);
        char *b1 = xasprintf("%s.0.bb.gz", p1), *b2 = xasprintf("%s.0.bb.gz", p2);
        char *o1 = xasprintf("%s/fs-pts%d", dir, i), *o2 = xasprintf("%s/rr-pts%d", dir, i);
        char *ba[] = {(char *)ffwd_bin, "boot", "--cmd", FS_WORKLOAD, NULL};
        char *f1[] = {(char *)ffwd_bin, "profile", "--out", p1, "--interval", "20000000", "--cmd", FS_WORKLOAD, NULL};
        char *f2[] = {(char *)ffwd_bin, "profile", "--out", p2, "--interval", "20000000", "--record", "--cmd",
                      FS_WORKLOAD, NULL};
        char *c1[] = {(char *)ffwd_bin, "cluster", b1, "--maxk", "6", NULL};
        char *c2[] = {(char *)ffwd_bin, "cluster", b2, "--maxk", "6", NULL};
        /* a rerun in host time lands where it lands: a wide landing check keeps every point */
        char *s1[] = {(char *)ffwd_bin, "sample", "--profile", p1, "--out", o1, "--warmup", "1000000",
                      "--max-distance", "2", NULL};
        char *s2[] = {(char *)ffwd_bin, "sample", "--profile", p2, "--out", o2, "--warmup", "1000000", NULL};
        rr[0][i] = timed(ba, NULL, NULL);
        rr[1][i] = timed(f1, NULL, NULL);
        rr[2][i] = timed(f2, NULL, NULL);
        if (rr[0][i] < 0 || rr[1][i] < 0 || rr[2][i] < 0 || timed(c1, NULL, NULL) < 0 || timed(c2, NULL, NULL) < 0)
            return 1;
        rr[3][i] = timed(s1, NULL, NULL);
        rr[4][i] = timed(s2, NULL, NULL);
        if (rr[3][i] < 0 || rr[4][i] < 0)
            return 1;
        char *rf = xasprintf("%s.rr", p2), *pp = xasprintf("%s.positions", p2), *sp = xasprintf("%s.0.simpoints", p2);
        rec_bytes = file_size(rf);
        insns = sample_positions_progress(pp);
        sample_bytes = bench_du(o2);
        char *spt = read_file(sp, NULL);
        npts = 0;
        for (const char *c = spt; c && *c; c++)
            npts += *c == '\n';
        free(spt);
        rm_rf(o1), rm_rf(o2);
        free(rf), free(pp), free(sp), free(p1), free(p2), free(b1), free(b2), free(o1), free(o2);
    }
    double m[5]; /* medians */
    for (int k = 0; k < 5; k++) {
        qsort(rr[k], (size_t)reps, sizeof rr[k][0], bench_cmpd);
        m[k] = rr[k][reps / 2];
    }
    printf("  record/replay (full system: xz + bzip2 on the disk, no filter; whole commands, wall time):\n");
    printf("  ffwd boot, no plugin                %.3f s\n", m[0]);
    printf("  ffwd profile (not reproducible)     %.3f s   ratio %.2fx vs boot\n", m[1], m[1] / m[0]);
    printf("  ffwd profile --record               %.3f s   ratio %.2fx vs boot, %.2fx vs profile\n", m[2], m[2] / m[0],
           m[2] / m[1]);
    printf("  ffwd sample, rerun in host time     %.3f s   ratio %.2fx vs its profile\n", m[3], m[3] / m[1]);
    printf("  ffwd sample, replay of the record   %.3f s   ratio %.2fx vs its profile, %.2fx vs the rerun\n", m[4],
           m[4] / m[2], m[4] / m[3]);
    printf("  record %.2f MB for %.2f G instructions (%.2f MB per G); sample folder %.1f MB for %u points "
           "(%.1f MB per point)\n",
           (double)rec_bytes / 1e6, (double)insns / 1e9, insns ? (double)rec_bytes / 1e6 / ((double)insns / 1e9) : 0,
           (double)sample_bytes / 1e6, npts, npts ? (double)sample_bytes / 1e6 / npts : 0);
    rm_rf(dir);
    free(dir);
    return 0;
}
