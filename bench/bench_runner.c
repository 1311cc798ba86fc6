/*
 * bench_runner -- what a Slurm job array costs against running the same
 * tasks on this machine, as a ratio measured in the same run.
 *
 *   bench_runner FFWD_BINARY SOURCE_DIR [TASKS]
 *
 * TASKS (default 1000) trivial simulation points (tests/integration/
 * fake-gem5.sh: writes gem5's files and exits) measured with
 * `ffwd sample-run`: (a) on this machine, --jobs = the number of cores;
 * (b) through a private one-node Slurm cluster
 * (tests/integration/slurm-cluster.sh) with --slurm: submit, wait, collect;
 * (c) the same split in --no-wait (submit only) and --collect (wait and
 * gather). Ratios b/a and the submit share of (c).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/util.h"
#include "tests/integration/fake_points.h"

static double run(const char *ffwd, const char *dir, const char *fake, const char *a1, const char *a2,
                  const char *a3)
{
    char *argv[] = {(char *)ffwd, "sample-run", (char *)dir, "--gem5", (char *)fake, "--cpu", "timing",
                    (char *)a1,   (char *)a2,   (char *)a3,  NULL};
    struct sbuf o = {0};
    double t0 = now_sec();
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
    double t = now_sec() - t0;
    if (st != 0) {
        fprintf(stderr, "bench_runner: sample-run %s failed (exit %d):\n%s\n", dir, st, o.s ? o.s : "");
        exit(1);
    }
    sbuf_free(&o);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_runner FFWD_BINARY SOURCE_DIR [TASKS]\n");
        return 2;
    }
    const char *ffwd = argv[1];
    int n = argc > 3 ? atoi(argv[3]) : 1000;
    char *fake = xasprintf("%s/tests/integration/fake-gem5.sh", argv[2]);
    char *cluster = xasprintf("%s/tests/integration/slurm-cluster.sh", argv[2]);
    char *w = make_temp_dir("/tmp", "ffwd-bench-runner-");
    char *jobs = xasprintf("%ld", sysconf(_SC_NPROCESSORS_ONLN));
    char *a = fake_points(w, "local", n), *b = fake_points(w, "slurm", n), *c = fake_points(w, "split", n);
    double tl = run(ffwd, a, fake, "--jobs", jobs, NULL);
    printf("local, --jobs %s: %d tasks in %.1f s (%.1f ms each)\n", jobs, n, tl, 1e3 * tl / n);

    char *sc = xasprintf("%s/cluster", w);
    mkdir_p(sc, 0755);
    char *up[] = {cluster, "up", sc, NULL}, *down[] = {cluster, "down", sc, NULL};
    if (run_cmd(up, &(struct run_opts){.quiet = true}) != 0) {
        printf("slurm: SKIPPED -- no Slurm cluster could be started here (%s)\n", cluster);
        rm_rf(w);
        return 0;
    }
    char *conf = xasprintf("%s/slurm.conf", sc);
    setenv("SLURM_CONF", conf, 1); /* setenv copies */
    free(conf);
    double ts = run(ffwd, b, fake, "--slurm", NULL, NULL);
    printf("slurm (one node, %s cores): %d tasks submitted, run and collected in %.1f s (%.1f ms each)\n", jobs, n,
           ts, 1e3 * ts / n);
    double tsub = run(ffwd, c, fake, "--slurm", "--no-wait", NULL);
    double tcol = run(ffwd, c, fake, "--slurm", "--collect", NULL);
    printf("slurm split: submit %.2f s, wait + collect %.1f s\n", tsub, tcol);
    printf("ratio slurm / local: %.2fx (submit alone: %.3fx of the local run)\n", ts / tl, tsub / tl);
    run_cmd(down, &(struct run_opts){.quiet = true});
    rm_rf(w);
    return 0;
}
