/* study.c -- `ffwd study`: profile -> cluster -> sample -> gem5 per benchmark; see study.h. */
#define _GNU_SOURCE
#include "study.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../sample/sample.h"
#include "../runner/runner.h"

/* Seconds per instruction each kind of stage took so far: the estimate of
 * what is left. */
enum { K_QEMU, K_GEM5, K_N };
struct rate {
    double secs, insns;
};

struct ctx {
    const struct study_opts *o;
    struct rate rate[K_N];
    double t0;
};

/* argv builder */
struct args {
    char **v;
    size_t n, cap;
};
static void add(struct args *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? 2 * a->cap : 32;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}
static void addu(struct args *a, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    add(a, b);
}
static void args_free(struct args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static void guest_opts(const struct study_opts *o, struct args *a)
{
    for (unsigned i = 0; i < o->nextra; i++)
        add(a, o->extra[i]);
}

/* The end of the region in what the profile counted: vCPU 0's "end" line
 * of PREFIX.positions. 0: not found. */
uint64_t study_region_count(const char *prefix)
{
    char *p = xasprintf("%s.positions", prefix);
    struct sample_positions pos = {0};
    uint64_t n = 0;
    if (sample_positions_read(p, &pos) == 0 && pos.nvcpus > 0)
        n = pos.end_counted[0];
    else
        ffwd_clearerr();
    sample_positions_free(&pos);
    free(p);
    return n;
}

/* Before the study has measured a stage of its kind: seconds per region
 * instruction of a QEMU stage, a first guess -- measured on a 2-core x86-64
 * host: gnugo's test-size profile, 145 M user instructions, 4.8 s with the
 * boot (TCG, the BBV plugin with landmarks); a sample, its rerun and the
 * landing BBV, about twice that. gem5 stages: the stated gem5 rate. Once a
 * stage of the kind has run, the study's own rate replaces the guess. */
#define STUDY_GUESS_QEMU_SPI (1.0 / 30e6)

double study_gem5_ips(const struct study_opts *o, bool atomic)
{
    if (atomic)
        return o->gem5_ips_atomic > 0 ? o->gem5_ips_atomic : 3e6;
    return o->gem5_ips_detailed > 0 ? o->gem5_ips_detailed : 3e5;
}

static void say_left(double est, const char *how)
{
    if (est > 0)
        ffwd_progress("  (about %.0f s for this stage, %s)", est, how);
}

/*
 * One stage: ARGV's --json result becomes BDIR/STAGE.json, its messages
 * BDIR/STAGE.log. Done earlier (STAGE.json there): *res from it, no run.
 * CHECK, when given, vets the result before it is kept (e.g. the output's
 * checksum). Returns 0 or -1 (message set: the stage failed).
 */
static int stage(struct ctx *c, const char *bdir, const char *name, struct args *argv, int kind, double est_insns,
                 int (*check)(json_t *res, void *arg), void *arg, json_t **res)
{
    char *jp = xasprintf("%s/%s.json", bdir, name), *tmp = xasprintf("%s/%s.json.tmp", bdir, name),
         *log = xasprintf("%s/%s.log", bdir, name);
    /* what made the stage (without the ffwd binary's own path): a stage done
     * earlier counts only when the same command made it -- a study resumed
     * with another interval, disk or gem5 must not take old results */
    struct sbuf cmdline = {0};
    for (size_t i = 1; i < argv->n; i++)
        sbuf_addf(&cmdline, "%s%s", i > 1 ? " " : "", argv->v[i]);
    *res = json_load_file(jp, 0, NULL);
    int r = 0;
    if (*res) {
        const char *was = json_string_value(json_object_get(*res, "study_command"));
        if (!was || strcmp(was, cmdline.s)) {
            r = ffwd_seterr("%s was made by another command (another option, disk or suite): `%s`, now `%s`; "
                            "give the study another --out, or remove %s to redo it",
                            jp, was ? was : "(none recorded)", cmdline.s, bdir);
            json_decref(*res); /* after the message: `was` lives in it */
            *res = NULL;
            goto out;
        }
        ffwd_info("  %s: done earlier (%s)", name, jp);
        goto out;
    }
    double est = c->rate[kind].insns > 0 && est_insns > 0 ? est_insns * c->rate[kind].secs / c->rate[kind].insns : 0;
    const char *how = "at the rate the study has measured";
    if (!est && est_insns > 0) {
        const struct study_opts *o = c->o;
        double gem5_ips = study_gem5_ips(o, o->cpu && !strcmp(o->cpu, "atomic"));
        est = kind == K_QEMU ? est_insns * STUDY_GUESS_QEMU_SPI : est_insns / gem5_ips;
        how = kind == K_QEMU ? "a first guess: nothing measured yet" : "at the stated gem5 rate: nothing measured yet";
    }
    ffwd_progress("  %s ...", name);
    say_left(est, how);
    char *prev = xasprintf("%s.prev", log); /* the log of an earlier try stays, for its reasons */
    rename(log, prev);
    free(prev);
    double t0 = now_sec();
    int st = run_cmd(argv->v, &(struct run_opts){.stdout_file = tmp, .stderr_file = log});
    double dt = now_sec() - t0;
    json_t *j = st == 0 ? json_load_file(tmp, 0, NULL) : NULL;
    if (!j) {
        /* the last error line of its log says why */
        char *t = read_file(log, NULL);
        char *e = t ? strstr(t, "error: ") : NULL, *last = NULL;
        for (; e; e = strstr(e + 1, "error: "))
            last = e;
        r = ffwd_seterr("%s failed (exit %d): %.*s (log: %s)", name, st, last ? (int)strcspn(last + 7, "\n") : 0,
                        last ? last + 7 : "", log);
        free(t);
        goto out;
    }
    if (check && check(j, arg) < 0) {
        json_decref(j);
        r = ffwd_preerr("%s", name);
        goto out;
    }
    json_object_set_new(j, "study_seconds", json_real(dt));
    json_object_set_new(j, "study_command", json_string(cmdline.s));
    if (json_dump_file(j, tmp, JSON_INDENT(2)) < 0 || rename(tmp, jp) < 0) {
        json_decref(j);
        r = ffwd_seterr_errno("cannot write %s", jp);
        goto out;
    }
    if (est_insns > 0) {
        c->rate[kind].secs += dt;
        c->rate[kind].insns += est_insns;
    }
    ffwd_progress("  %s: %.1f s", name, dt);
    *res = j;
out:
    unlink(tmp);
    sbuf_free(&cmdline);
    free(jp);
    free(tmp);
    free(log);
    return r;
}

struct out_check {
    const struct suite_bench *b;
    enum suite_size size;
};

/* The profiled run computed the right answer: its output's checksum. */
static int check_output(json_t *res, void *arg)
{
    struct out_check *oc = arg;
    const char *cl = json_string_value(json_object_get(res, "console_log"));
    char *log = cl ? read_file(cl, NULL) : NULL;
    int st;
    char sha[65];
    uint64_t bytes;
    int r = 0;
    if (!log || suite_parse_result(log, oc->b->name, &st, sha, &bytes) < 0)
        r = ffwd_seterr("no result line of benchmark %s in %s", oc->b->name, cl ? cl : "(no console log)");
    else if (st != 0)
        r = ffwd_seterr("benchmark %s exited with status %d (console: %s)", oc->b->name, st, cl);
    else if (oc->b->expect[oc->size] && strcmp(sha, oc->b->expect[oc->size]))
        r = ffwd_seterr("benchmark %s computed a wrong output: sha256 %s, expected %s (console: %s)", oc->b->name, sha,
                        oc->b->expect[oc->size], cl);
    else {
        json_object_set_new(res, "output_sha256", json_string(sha));
        json_object_set_new(res, "output_checked", json_boolean(oc->b->expect[oc->size] != NULL));
    }
    free(log);
    return r;
}

static void add_gem5(const struct study_opts *o, struct args *a)
{
    add(a, "--gem5");
    add(a, o->gem5);
    add(a, "--cpu");
    add(a, o->cpu ? o->cpu : "o3");
    if (o->config) {
        add(a, "--config");
        add(a, o->config);
    }
    add(a, "--jobs");
    addu(a, o->jobs ? o->jobs : 1);
    add(a, "--json");
}

/* The sample stage's options for the guest rerun (as the profile's). */
static void sample_guest_opts(const struct study_opts *o, struct args *a)
{
    for (unsigned i = 0; i < o->nextra; i++) {
        const char *x = o->extra[i];
        if (!strcmp(x, "--timeout") || !strcmp(x, "--qemu")) {
            add(a, x);
            if (i + 1 < o->nextra)
                add(a, o->extra[++i]);
        }
    }
}

static int one_bench(struct ctx *c, const struct suite_bench *b, const char *disk, const char *bdir)
{
    const struct study_opts *o = c->o;
    if (mkdir_p(bdir, 0755) < 0)
        return -1;
    uint64_t interval = o->interval ? o->interval : o->size == SUITE_TEST ? 10000000ULL : 100000000ULL;
    char *prefix = xasprintf("%s/profile/p", bdir), *pdir = xasprintf("%s/profile", bdir);
    char *cmd = suite_guest_cmd(b);
    struct args a = {0};
    json_t *prof = NULL, *cl = NULL, *smp = NULL, *sr = NULL, *fprof = NULL, *fs = NULL, *fr = NULL;
    int r = -1;
    /* the size of the region, for the estimates: a previous profile's, else
     * what the suite says, else the size's nominal one (docs/suite.md) */
    double insns = (double)study_region_count(prefix);
    if (!insns)
        insns = b->instructions[o->size] ? (double)b->instructions[o->size] : o->size == SUITE_TEST ? 1e8 : 1e10;
    if (mkdir_p(pdir, 0755) < 0)
        goto out;

    add(&a, o->ffwd), add(&a, "profile"), add(&a, "--out"), add(&a, prefix), add(&a, "--user");
    add(&a, "--process"), add(&a, "roi"), add(&a, "--interval"), addu(&a, interval), add(&a, "--disk");
    add(&a, disk), add(&a, "--cmd"), add(&a, cmd), add(&a, "--force"), add(&a, "--json");
    guest_opts(o, &a);
    struct out_check oc = {b, o->size};
    if (stage(c, bdir, "profile", &a, K_QEMU, insns, check_output, &oc, &prof) < 0)
        goto out;
    args_free(&a);
    uint64_t region = study_region_count(prefix);
    insns = (double)region;
    if (region) /* what a suite's `instructions` would say */
        ffwd_progress("  region: %llu user instructions", (unsigned long long)region);
    json_t *v0 = json_array_get(json_object_get(prof, "vcpus"), 0);
    const char *bbv = json_string_value(json_object_get(v0, "bbv"));
    if (!bbv || !region) {
        ffwd_seterr("profile: no BBV or no region in %s (profile.json, %s.positions)", bdir, prefix);
        goto out;
    }

    add(&a, o->ffwd), add(&a, "cluster"), add(&a, bbv), add(&a, "--maxk"), addu(&a, o->maxk ? o->maxk : 30);
    add(&a, "--force"), add(&a, "--json");
    if (stage(c, bdir, "cluster", &a, K_QEMU, 0, NULL, NULL, &cl) < 0)
        goto out;
    args_free(&a);

    char *sdir = xasprintf("%s/sample", bdir);
    add(&a, o->ffwd), add(&a, "sample"), add(&a, "--profile"), add(&a, prefix), add(&a, "--out"), add(&a, sdir);
    add(&a, "--warmup"), addu(&a, o->warmup), add(&a, "--json");
    sample_guest_opts(o, &a);
    int sr_ = stage(c, bdir, "sample", &a, K_QEMU, insns, NULL, NULL, &smp);
    args_free(&a);
    if (sr_ < 0) {
        free(sdir);
        goto out;
    }

    if (o->gem5) {
        add(&a, o->ffwd), add(&a, "sample-run"), add(&a, sdir), add(&a, "--force");
        add_gem5(o, &a);
        double pts = (double)json_array_size(json_object_get(smp, "points")) * (double)interval;
        int g = stage(c, bdir, "sample-run", &a, K_GEM5, pts, NULL, NULL, &sr);
        args_free(&a);
        if (g < 0) {
            free(sdir);
            goto out;
        }
    }
    free(sdir);

    if (o->gem5 && o->full) {
        char *fdir = xasprintf("%s/full", bdir), *fpre = xasprintf("%s/full/f", bdir),
             *fsd = xasprintf("%s/full/sample", bdir);
        int g = mkdir_p(fdir, 0755);
        /* one interval longer than the region: the whole region is interval 0 */
        add(&a, o->ffwd), add(&a, "profile"), add(&a, "--out"), add(&a, fpre), add(&a, "--user");
        add(&a, "--process"), add(&a, "roi"), add(&a, "--interval"), addu(&a, 2 * region + 1000000);
        add(&a, "--disk"), add(&a, disk), add(&a, "--cmd"), add(&a, cmd), add(&a, "--force"), add(&a, "--json");
        guest_opts(o, &a);
        if (g == 0)
            g = stage(c, bdir, "full-profile", &a, K_QEMU, insns, check_output, &oc, &fprof);
        args_free(&a);
        char *spf = xasprintf("%s.simpoints", fpre), *wf = xasprintf("%s.weights", fpre);
        if (g == 0)
            g = write_file_atomic(spf, "0 0\n", 4, 0644) | write_file_atomic(wf, "1 0\n", 4, 0644);
        add(&a, o->ffwd), add(&a, "sample"), add(&a, "--profile"), add(&a, fpre), add(&a, "--simpoints"), add(&a, spf);
        add(&a, "--weights"), add(&a, wf), add(&a, "--out"), add(&a, fsd), add(&a, "--json");
        sample_guest_opts(o, &a);
        if (g == 0)
            g = stage(c, bdir, "full-sample", &a, K_QEMU, insns, NULL, NULL, &fs);
        args_free(&a);
        /* the reference ends where the region ends in gem5 (its own interrupts, not QEMU's) */
        add(&a, o->ffwd), add(&a, "sample-run"), add(&a, fsd), add(&a, "--force"), add(&a, "--until-region-end");
        add_gem5(o, &a);
        if (g == 0)
            g = stage(c, bdir, "full-run", &a, K_GEM5, insns, NULL, NULL, &fr);
        args_free(&a);
        free(spf), free(wf), free(fdir), free(fpre), free(fsd);
        if (g < 0)
            goto out;
    }
    r = 0;
out:
    args_free(&a);
    json_decref(prof), json_decref(cl), json_decref(smp), json_decref(sr);
    json_decref(fprof), json_decref(fs), json_decref(fr);
    free(prefix), free(pdir), free(cmd);
    return r;
}

/* The benchmarks' stages as runner tasks: each `ffwd study SUITE --bench
 * NAME --no-report` with the same options, in OUT/NAME. Paths absolute: a
 * task runs in its own folder, maybe on another node. */
static int run_as_tasks(const struct study_opts *o, const struct suite *s, const bool *sel, size_t *failed)
{
    char *out = realpath(o->out, NULL), *spath = realpath(s->path, NULL);
    if (!out || !spath) {
        free(out), free(spath);
        return ffwd_seterr_errno("%s", !out ? o->out : s->path);
    }
    struct runner_task *t = xcalloc(s->n, sizeof *t);
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!sel[i])
            continue;
        struct runner_task *x = &t[n++];
        struct args a = {0};
        add(&a, o->ffwd), add(&a, "study"), add(&a, spath), add(&a, "--bench"), add(&a, s->b[i].name);
        add(&a, "--out"), add(&a, out), add(&a, "--size"), add(&a, suite_size_names[o->size]), add(&a, "--no-report");
        if (o->interval)
            add(&a, "--interval"), addu(&a, o->interval);
        if (o->maxk)
            add(&a, "--maxk"), addu(&a, o->maxk);
        add(&a, "--warmup"), addu(&a, o->warmup);
        if (o->gem5) {
            add(&a, "--gem5"), add(&a, o->gem5), add(&a, "--cpu"), add(&a, o->cpu ? o->cpu : "o3");
            if (o->config)
                add(&a, "--config"), add(&a, o->config);
            if (o->jobs)
                add(&a, "--jobs"), addu(&a, o->jobs);
            if (o->full)
                add(&a, "--full");
        }
        guest_opts(o, &a);
        x->argv = a.v;
        x->dir = xasprintf("%s/%s", out, s->b[i].name);
        x->log = "study.log";
        x->label = s->b[i].name;
        /* QEMU's guest RAM (512 MiB unless --mem) and ffwd; gem5 runs there too with --gem5 */
        x->mem_bytes = (o->gem5 ? 3ULL : 1ULL) << 30;
        mkdir_p(x->dir, 0755);
    }
    double t0 = now_sec();
    struct runner_opts ro = {.kind = o->slurm ? RUNNER_SLURM : RUNNER_LOCAL, .jobs = o->parallel ? o->parallel : 1,
                             .job_name = "ffwd-study"};
    char *rdir = xasprintf("%s/slurm", out);
    if (o->slurm) {
        ro.run_dir = rdir;
        ro.partition = o->slurm->partition, ro.account = o->slurm->account, ro.time = o->slurm->time;
        ro.mem = o->slurm->mem, ro.sbatch_args = o->slurm->sbatch_args, ro.nsbatch_args = o->slurm->nsbatch_args;
        ro.path_map = o->slurm->path_map;
        mkdir_p(rdir, 0755);
    }
    ffwd_progress("%zu benchmarks as %s", n,
                  o->slurm ? "one Slurm job array" : o->parallel > 1 ? "tasks on this machine" : "tasks");
    ro.no_wait = o->slurm && o->slurm->no_wait;
    int r = o->slurm && o->slurm->collect ? runner_collect(&ro, t, n) : runner_run(&ro, t, n);
    if (r == 0 && ro.no_wait) {
        char job[64] = "?";
        runner_submitted(rdir, job, sizeof job);
        ffwd_info("submitted as Slurm job %s; the same command with --collect instead of --no-wait waits for it and "
                  "writes the report",
                  job);
        *failed = (size_t)-1; /* nothing to report yet */
    }
    for (size_t i = 0; i < n && r == 0 && !ro.no_wait; i++) {
        if (t[i].ended && t[i].exit_status == 0)
            ffwd_info("benchmark %s: done (%.0f s)", t[i].label, t[i].elapsed);
        else {
            ffwd_error("benchmark %s: %s (log: %s/%s)", t[i].label,
                       t[i].error[0] ? t[i].error : t[i].timed_out ? "timed out" : "failed", t[i].dir, t[i].log);
            (*failed)++;
        }
    }
    ffwd_info("%zu benchmarks' stages in %.0f s", n, now_sec() - t0);
    for (size_t i = 0; i < n; i++) {
        for (char **p = t[i].argv; p && *p; p++)
            free(*p);
        free(t[i].argv);
        free(t[i].dir);
    }
    free(t), free(rdir), free(out), free(spath);
    return r;
}

int study_run(const struct study_opts *o)
{
    struct suite s;
    if (suite_load(o->suite, &s) < 0)
        return -1;
    bool *sel = xcalloc(s.n ? s.n : 1, sizeof *sel);
    int r = -1;
    char *disk = NULL;
    size_t nsel = 0;
    if (suite_select(&s, o->only, sel) < 0)
        goto out;
    for (size_t i = 0; i < s.n; i++)
        nsel += sel[i];
    if (o->full && !o->gem5) {
        ffwd_seterr("--full needs --gem5 (the whole region runs in gem5)");
        goto out;
    }
    if (mkdir_p(o->out, 0755) < 0 || suite_disk(&s, o->size, NULL, false, &disk) < 0)
        goto out;
    struct ctx c = {.o = o, .t0 = now_sec()};
    size_t k = 0, failed = 0;
    if ((o->parallel > 1 || o->slurm) && !o->no_report) {
        if (run_as_tasks(o, &s, sel, &failed) < 0)
            goto out;
        if (failed == (size_t)-1) { /* submitted, not waited for */
            r = 0;
            goto out;
        }
        nsel = 0; /* done by the tasks */
    }
    for (size_t i = 0; i < s.n && nsel; i++) {
        if (!sel[i])
            continue;
        k++;
        ffwd_progress("benchmark %zu of %zu: %s (%s)", k, nsel, s.b[i].name, s.b[i].kind);
        char *bdir = xasprintf("%s/%s", o->out, s.b[i].name);
        if (one_bench(&c, &s.b[i], disk, bdir) < 0) {
            ffwd_error("benchmark %s: %s", s.b[i].name, ffwd_errmsg());
            failed++;
        }
        free(bdir);
    }
    if (!o->no_report) {
        if (study_report(o->out, &s, sel, o->size, o) < 0)
            goto out;
        ffwd_info("study in %.0f s: %zu benchmark(s) failed; report: %s/report.html", now_sec() - c.t0, failed, o->out);
    }
    r = failed ? 1 : 0;
out:
    free(disk);
    free(sel);
    suite_free(&s);
    return r;
}
