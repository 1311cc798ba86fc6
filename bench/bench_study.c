/*
 * bench_study.c -- the study's QEMU stages against the plain QEMU run of the
 * same program, on the suite's test size, end to end without gem5.
 *
 *   bench_study FFWD SUITE [BENCH,...] [INTERVAL]
 *
 * Per benchmark: (a) `ffwd suite run --bench B` -- one boot, the program, its
 * checksum, the instruction-counting plugin only: the baseline; then
 * `ffwd study` of the same benchmark, whose stages record their own wall
 * time: profile (QEMU + BBV plugin, the whole boot), cluster, sample (the
 * rerun with every capture, the landing check, the conversions). Printed as
 * ratios to (a), measured in the same command on the same machine.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static double stage_secs(const char *dir, const char *bench, const char *stage)
{
    char *p = xasprintf("%s/%s/%s.json", dir, bench, stage);
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    double s = j ? json_number_value(json_object_get(j, "study_seconds")) : -1;
    json_decref(j);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_study FFWD SUITE [BENCH,...] [INTERVAL]\n");
        return 2;
    }
    const char *ffwd = argv[1], *suite = argv[2], *only = argc > 3 ? argv[3] : NULL,
               *interval = argc > 4 ? argv[4] : "5000000";
    char *tmp = make_temp_dir("/tmp", "ffwd-bench-study-");
    /* the baseline: every benchmark once, plain */
    char *base = xasprintf("%s/plain", tmp);
    char *a1[] = {(char *)ffwd, "suite", "run", (char *)suite, "--out", base, "--json",
                  only ? "--bench" : NULL, (char *)only, NULL};
    struct sbuf o = {0};
    if (run_cmd(a1, &(struct run_opts){.out = &o}) != 0) {
        fprintf(stderr, "bench_study: ffwd suite run failed: %s\n", o.s ? o.s : "");
        return 1;
    }
    json_t *plain = json_loads(o.s, 0, NULL);
    sbuf_free(&o);
    char *sdir = xasprintf("%s/study", tmp);
    char *a2[] = {(char *)ffwd, "study", (char *)suite, "--out", sdir, "--interval", (char *)interval,
                  only ? "--bench" : NULL, (char *)only, NULL};
    if (run_cmd(a2, &(struct run_opts){.quiet = true}) != 0) {
        fprintf(stderr, "bench_study: ffwd study failed (its stages' logs: %s)\n", sdir);
        return 1;
    }
    printf("\nstudy stages vs the plain QEMU run of the same program (suite %s, test size, interval %s)\n", suite,
           interval);
    printf("%-10s %14s %9s | %9s %9s %9s | %8s %8s %8s\n", "benchmark", "instructions", "plain s", "profile s",
           "cluster s", "sample s", "profile", "sample", "all");
    size_t i;
    json_t *b;
    double tp = 0, tpr = 0, ts = 0, tall = 0;
    json_array_foreach(json_object_get(plain, "benchmarks"), i, b)
    {
        const char *n = json_string_value(json_object_get(b, "name"));
        double p = json_number_value(json_object_get(b, "seconds"));
        double pr = stage_secs(sdir, n, "profile"), cl = stage_secs(sdir, n, "cluster"),
               sa = stage_secs(sdir, n, "sample");
        printf("%-10s %14lld %9.1f | %9.1f %9.2f %9.1f | %7.2fx %7.2fx %7.2fx\n", n,
               (long long)json_integer_value(json_object_get(b, "instructions_roi")), p, pr, cl, sa, pr / p, sa / p,
               (pr + cl + sa) / p);
        tp += p, tpr += pr, ts += sa, tall += pr + cl + sa;
    }
    printf("%-10s %14s %9.1f | %9.1f %9s %9.1f | %7.2fx %7.2fx %7.2fx\n", "total", "", tp, tpr, "", ts, tpr / tp,
           ts / tp, tall / tp);
    json_decref(plain);
    rm_rf(tmp);
    free(base), free(sdir), free(tmp);
    return 0;
}
