/*
 * `ffwd sample-run` through the runner (runner/runner.h): on this machine and
 * as a job array on a REAL Slurm cluster (Debian's slurmctld, slurmd and
 * munge, started by tests/integration/slurm-cluster.sh in a folder of the
 * test's own). gem5 is tests/integration/fake-gem5.sh: the same arguments,
 * the same files, numbers that follow from the arguments.
 *
 *   local   results; a failing point named with its log, --retry-failed;
 *           a point past --timeout
 *   slurm   results equal to the local run's; --no-wait then --collect; a
 *           failing point, fixed, gathered with --collect --retry-failed; a
 *           point past Slurm's time limit; --path-map (the nodes see DIR
 *           under another path); the job script kept and plain; and the
 *           QEMU side of a study (tcc's profile, cluster and sample rerun
 *           in the real guest) as a job array, --no-wait then --collect,
 *           with the same simulation points as the same study here
 *
 * The Slurm case reports itself skipped (77) when the daemons are not
 * installed or do not start on the machine -- never passed.
 */
#define _GNU_SOURCE

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/integration/fake_points.h"
#include "tests/integration/helpers.h"

#define NPOINTS 5
static char fake[4096], cluster[4096];

static char *make_points(const char *parent, const char *name)
{
    return fake_points(parent, name, NPOINTS);
}

static void mark(const char *dir, int point, const char *what, bool on)
{
    char *ck = fake_point_dir(dir, point, NPOINTS), *p = xasprintf("%s/%s", ck, what);
    if (on)
        write_file_atomic(p, "", 0, 0644);
    else
        unlink(p);
    free(p), free(ck);
}

static json_t *results(const char *dir, const char *tag)
{
    char *p = xasprintf("%s/gem5-%s/results.json", dir, tag);
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    return j;
}

/* Same measurements point by point (the seconds differ). */
static void same_results(const char *what, json_t *a, json_t *b)
{
    CHECK_MSG(a && b, "%s: results.json missing", what);
    if (!a || !b)
        return;
    json_t *pa = json_object_get(a, "points"), *pb = json_object_get(b, "points");
    CHECK_MSG(json_array_size(pa) == NPOINTS && json_array_size(pb) == NPOINTS, "%s: %zu and %zu points", what,
              json_array_size(pa), json_array_size(pb));
    const char *keys[] = {"index", "cluster", "weight", "cycles", "insts", "cpi", "checkpoint", "window"};
    for (size_t i = 0; i < json_array_size(pa) && i < json_array_size(pb); i++)
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            CHECK_MSG(json_equal(json_object_get(json_array_get(pa, i), keys[k]),
                                 json_object_get(json_array_get(pb, i), keys[k])),
                      "%s: point %zu differs in %s", what, i, keys[k]);
    CHECK(fabs(json_number_value(json_object_get(a, "weighted_cpi")) -
               json_number_value(json_object_get(b, "weighted_cpi"))) < 1e-12);
}

static int sample_run(struct sbuf *o, const char *dir, const char *const *extra)
{
    const char *a[32] = {"sample-run", dir, "--gem5", fake, "--cpu", "timing"};
    int n = 6;
    for (; extra && *extra && n < 30; extra++)
        a[n++] = *extra;
    a[n] = NULL;
    return ffwd(o, a);
}

static json_t *local_reference(const char *w)
{
    char *d = make_points(w, "ref");
    struct sbuf o = {0};
    const char *x[] = {"--jobs", "2", NULL};
    CHECK_MSG(sample_run(&o, d, x) == 0, "%s", o.s);
    json_t *r = results(d, "timing");
    CHECK(r && fabs(json_number_value(json_object_get(r, "weighted_cpi")) - 2.0) < 0.01);
    /* --json: the same result on standard output, one JSON object */
    const char *ja[] = {"sample-run", d, "--gem5", fake, "--cpu", "timing", "--force", "--json", NULL};
    int jrc;
    json_t *j = ffwd_json(ja, &jrc);
    CHECK_MSG(jrc == 0 && j, "sample-run --json: exit %d", jrc);
    CHECK(j && !strcmp(json_string_value(json_object_get(j, "command")), "sample-run") &&
          fabs(json_number_value(json_object_get(j, "weighted_cpi")) - 2.0) < 0.01 &&
          json_array_size(json_object_get(j, "points")) == NPOINTS);
    json_decref(j);
    sbuf_free(&o);
    free(d);
    return r;
}

static int t_local(void)
{
    char *w = make_temp_dir("/tmp", "ffwd-it-runner-");
    json_t *ref = local_reference(w);
    struct sbuf o = {0};
    /* a point that fails: named, with gem5's reason and its log; nothing looks complete */
    char *d = make_points(w, "fail");
    mark(d, 3, "FAIL", true);
    CHECK(sample_run(&o, d, NULL) == 1);
    CHECK_STR_HAS(o.s, "simulation point 3: gem5 did not finish the measurement (fatal: fake gem5 fails as asked");
    CHECK_STR_HAS(o.s, "gem5.log");
    CHECK_STR_HAS(o.s, "1 of 5 simulation points were not measured");
    json_t *none = results(d, "timing");
    CHECK(none == NULL);
    /* --retry-failed: the failure goes away on the second try (a flaky node) */
    mark(d, 3, "FAIL", false);
    const char *retry[] = {"--retry-failed", NULL};
    CHECK_MSG(sample_run(&o, d, retry) == 0, "%s", o.s);
    json_t *r = results(d, "timing");
    same_results("local after a failure", ref, r);
    json_decref(r);
    /* DIR given relative to the working directory (each task runs in its own folder) */
    char *rel = make_points(w, "rel");
    char *ra[] = {FFWD_BIN, "sample-run", "rel", "--gem5", fake, "--cpu", "timing", NULL};
    CHECK_MSG(run_cmd(ra, &(struct run_opts){.cwd = w, .out = &o, .merge_stderr = true}) == 0, "%s", o.s);
    r = results(rel, "timing");
    same_results("local, relative DIR", ref, r);
    json_decref(r);
    free(rel);
    /* a point past its time limit is killed and named */
    char *s = make_points(w, "slow");
    mark(s, 1, "SLOW", true);
    const char *t[] = {"--timeout", "3", "--jobs", "2", NULL};
    double t0 = now_sec();
    CHECK(sample_run(&o, s, t) == 1);
    CHECK_MSG(now_sec() - t0 < 60, "the late point was not killed (%.0f s)", now_sec() - t0);
    CHECK_STR_HAS(o.s, "simulation point 1: timed out after 3 s");
    sbuf_free(&o);
    json_decref(ref);
    if (!t_fail)
        rm_rf(w);
    free(d), free(s), free(w);
    return test_done();
}

static int t_slurm(void)
{
    char *w = make_temp_dir("/tmp", "ffwd-it-slurm-");
    char *sc = xasprintf("%s/cluster", w);
    mkdir_p(sc, 0755);
    struct sbuf o = {0};
    char *up[] = {cluster, "up", sc, NULL};
    int st = run_cmd(up, &(struct run_opts){.out = &o, .merge_stderr = true});
    if (st != 0) {
        printf("SKIPPED: no Slurm cluster on this machine (%s exit %d): %s\n", cluster, st, o.s ? o.s : "");
        char *down[] = {cluster, "down", sc, NULL};
        run_cmd(down, &(struct run_opts){.quiet = true});
        rm_rf(w);
        return 77;
    }
    char *conf = xasprintf("%s/slurm.conf", sc);
    setenv("SLURM_CONF", conf, 1); /* setenv copies */
    free(conf);
    json_t *ref = local_reference(w);

    /* 1. the points as a job array: the same results as the local run */
    char *d = make_points(w, "array");
    const char *x[] = {"--slurm", NULL};
    double t0 = now_sec();
    CHECK_MSG(sample_run(&o, d, x) == 0, "%s", o.s);
    printf("slurm: %d points in %.1f s\n", NPOINTS, now_sec() - t0);
    CHECK_STR_HAS(o.s, "submitted Slurm job");
    json_t *r = results(d, "timing");
    same_results("slurm", ref, r);
    json_decref(r);
    /* the script is kept, plain, with resources from the points */
    char *js = xasprintf("%s/gem5-timing/slurm/job.sh", d), *script = file_text(js);
    CHECK_STR_HAS(script, "#SBATCH --mem=2560M"); /* 512 MiB of guest RAM + 2 GiB */
    CHECK_STR_HAS(script, "#SBATCH --time=");
    CHECK_STR_HAS(script, fake);
    free(script), free(js);

    /* 2. --no-wait returns at once; --collect gathers */
    char *n = make_points(w, "nowait");
    const char *nw[] = {"--slurm", "--no-wait", NULL}, *co[] = {"--slurm", "--collect", NULL};
    CHECK_MSG(sample_run(&o, n, nw) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "--collect");
    CHECK_MSG(sample_run(&o, n, co) == 0, "%s", o.s);
    r = results(n, "timing");
    same_results("slurm --no-wait/--collect", ref, r);
    json_decref(r);

    /* 3. a failing task is named with its log; fixed, --collect --retry-failed runs it again */
    char *f = make_points(w, "fail");
    mark(f, 2, "FAIL", true);
    CHECK(sample_run(&o, f, x) == 1);
    CHECK_STR_HAS(o.s, "simulation point 2: gem5 did not finish the measurement (fatal: fake gem5 fails as asked");
    CHECK_STR_HAS(o.s, "gem5.log");
    mark(f, 2, "FAIL", false);
    const char *cr[] = {"--slurm", "--collect", "--retry-failed", NULL};
    CHECK_MSG(sample_run(&o, f, cr) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "running 1 failed simulation point(s) again");
    r = results(f, "timing");
    same_results("slurm after a retry", ref, r);
    json_decref(r);

    /* 4. a task past Slurm's time limit (1 minute) */
    char *s = make_points(w, "slow");
    mark(s, 4, "SLOW", true);
    const char *sl[] = {"--slurm", "--time", "1", NULL};
    CHECK(sample_run(&o, s, sl) == 1);
    CHECK_STR_HAS(o.s, "simulation point 4: timed out (Slurm's time limit");

    /* 5. the nodes see DIR under another path (here a symbolic link to it) */
    char *m = make_points(w, "mapped"), *alias = xasprintf("%s/elsewhere", w);
    CHECK(symlink(w, alias) == 0);
    char *map = xasprintf("--path-map=%s=%s", w, alias);
    const char *pm[] = {"--slurm", map, NULL};
    CHECK_MSG(sample_run(&o, m, pm) == 0, "%s", o.s);
    r = results(m, "timing");
    same_results("slurm --path-map", ref, r);
    json_decref(r);
    char *mjs = xasprintf("%s/gem5-timing/slurm/job.sh", m), *mscript = file_text(mjs);
    char *want = xasprintf("dir='%s/mapped/", alias), *not = xasprintf("dir='%s/mapped/", w);
    CHECK_STR_HAS(mscript, want);
    CHECK(mscript && !strstr(mscript, not));
    free(want), free(not), free(mscript), free(mjs), free(map), free(alias), free(m);

    /* 5. the QEMU side of a study as a job array: a benchmark's stages in a
     * task; submitted (--no-wait), then waited for and reported (--collect) */
    char *so = xasprintf("%s/study", w);
    const char *sa[] = {"study", "debian", "--bench", "tcc", "--out", so, "--interval", "5000000", "--slurm",
                        "--no-wait", NULL};
    t0 = now_sec();
    int src = ffwd(&o, sa);
    CHECK_MSG(src == 0 && strstr(o.s, "submitted as Slurm job"), "ffwd study --slurm --no-wait: exit %d: %s", src, o.s);
    sa[9] = "--collect";
    src = ffwd(&o, sa);
    CHECK_MSG(src == 0, "ffwd study --slurm --collect: exit %d: %s", src, o.s);
    printf("slurm: study of tcc (profile, cluster, sample) in %.1f s\n", now_sec() - t0);
    char *srp = xasprintf("%s/report.json", so), *sjs = xasprintf("%s/slurm/job.sh", so);
    json_t *sr = json_load_file(srp, 0, NULL);
    json_t *sb = json_array_get(json_object_get(sr, "benchmarks"), 0);
    CHECK_MSG(sb && !strcmp(json_string_value(json_object_get(sb, "status")) ?: "", "done"), "study via Slurm: %s",
              sb ? json_string_value(json_object_get(sb, "status")) : "no report");
    CHECK(json_array_size(json_object_get(sb, "points")) >= 1);
    CHECK_MSG(path_exists(sjs), "no %s", sjs);
    /* the same study on this machine: the same simulation points */
    char *lo = xasprintf("%s/study-local", w), *lrp = xasprintf("%s/report.json", lo);
    const char *la[] = {"study", "debian", "--bench", "tcc", "--out", lo, "--interval", "5000000", NULL};
    CHECK_MSG(ffwd(&o, la) == 0, "local study: %s", o.s);
    json_t *lr = json_load_file(lrp, 0, NULL);
    json_t *lp = json_object_get(json_array_get(json_object_get(lr, "benchmarks"), 0), "points");
    json_t *spts = json_object_get(sb, "points");
    CHECK_MSG(json_array_size(lp) == json_array_size(spts), "points: %zu local, %zu through Slurm",
              json_array_size(lp), json_array_size(spts));
    for (size_t k = 0; k < json_array_size(lp) && k < json_array_size(spts); k++) {
        json_t *a = json_array_get(lp, k), *b = json_array_get(spts, k);
        /* the same points; how closely each rerun landed is measured anew in
         * each study (a few instructions of a 10^7 interval can differ where a
         * loaded host changes when the guest's page faults come, and a fault
         * returning into a block starts a new QEMU block there): equal
         * within 0.01, a tenth of the landing bound (0.1) */
        double da = json_number_value(json_object_get(a, "landing_distance")),
               db = json_number_value(json_object_get(b, "landing_distance"));
        /* the weights are instruction shares of the profile's intervals, whose
         * lengths vary by the same few instructions (BBVs count a block a
         * fault cut short whole): equal within 1e-6 */
        double wa = json_number_value(json_object_get(a, "weight")), wb = json_number_value(json_object_get(b, "weight"));
        CHECK_MSG(json_equal(json_object_get(a, "interval"), json_object_get(b, "interval")) &&
                      json_is_number(json_object_get(a, "weight")) && fabs(wa - wb) <= 1e-6 &&
                      json_is_number(json_object_get(a, "landing_distance")) &&
                      json_is_number(json_object_get(b, "landing_distance")) && fabs(da - db) <= 0.01,
                  "point %zu differs between the local study and the Slurm one (interval %lld vs %lld, weight %.9f vs "
                  "%.9f, landing %g vs %g)",
                  k, (long long)json_integer_value(json_object_get(a, "interval")),
                  (long long)json_integer_value(json_object_get(b, "interval")), wa, wb, da, db);
    }
    json_decref(lr);
    free(lo), free(lrp);
    json_decref(sr);
    free(srp), free(sjs), free(so);

    char *down[] = {cluster, "down", sc, NULL};
    run_cmd(down, &(struct run_opts){.quiet = true});
    json_decref(ref);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(w);
    free(d), free(n), free(f), free(s), free(sc), free(w);
    return test_done();
}

int main(int argc, char **argv)
{
    snprintf(fake, sizeof fake, "%s/integration/fake-gem5.sh", TESTS_SRC_DIR);
    snprintf(cluster, sizeof cluster, "%s/integration/slurm-cluster.sh", TESTS_SRC_DIR);
    if (argc == 2 && !strcmp(argv[1], "local"))
        return t_local();
    if (argc == 2 && !strcmp(argv[1], "slurm"))
        return t_slurm();
    return 2;
}
