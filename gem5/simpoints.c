/*
 * simpoints.c -- the simulation points of `ffwd sample`, measured in gem5
 * (see simpoints.h).
 */
#define _GNU_SOURCE
#include "simpoints.h"

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../runner/runner.h"
#include "layout.h"
#include "verify.h"

void gem5_simpoints_free(struct gem5_simpoints_result *r)
{
    free(r->runs);
    memset(r, 0, sizeof *r);
}

int gem5_stats_cpu(const char *stats_txt, const char *cpu, uint64_t *cycles, uint64_t *insts)
{
    size_t len;
    char *t = read_file(stats_txt, &len);
    if (!t)
        return ffwd_preerr("%s", stats_txt);
    char *end = strstr(t, "---------- End Simulation Statistics");
    if (end)
        *end = 0; /* the first block only: the one our dump wrote */
    char *k1 = xasprintf("\n%s.numCycles ", cpu), *k2 = xasprintf("\n%s.commitStats0.numInsts ", cpu);
    char *a = strstr(t, k1), *b = strstr(t, k2);
    int rc = 0;
    if (!a || !b)
        rc = ffwd_seterr("%s: no %s.numCycles / %s.commitStats0.numInsts in the first statistics block", stats_txt,
                         cpu, cpu);
    else {
        *cycles = strtoull(a + strlen(k1), NULL, 10);
        *insts = strtoull(b + strlen(k2), NULL, 10);
        if (!*insts)
            rc = ffwd_seterr("%s: %s committed no instructions", stats_txt, cpu);
    }
    free(k1);
    free(k2);
    free(t);
    return rc;
}

/* What a point's gem5 run left in its folder: the measurement, or why not. */
static void finish(const struct runner_task *t, struct gem5_simpoint_run *run)
{
    char *log = xasprintf("%s/%s", t->dir, t->log), *stats = xasprintf("%s/m5out/stats.txt", t->dir);
    char *text = t->ended ? read_file(log, NULL) : NULL;
    /* the legacy script's line, or gem5/ffwd_board.py's run_simpoint() */
    static const char *const said[] = {"ffwd_restore: measured ", "ffwd_board: measured "};
    char *m = NULL;
    for (size_t k = 0; !m && text && k < sizeof said / sizeof *said; k++)
        if ((m = strstr(text, said[k])))
            m += strlen(said[k]);
    char cpu[128] = "";
    if (m)
        sscanf(m, "%127[^:]", cpu);
    run->error[0] = 0;
    run->seconds = t->elapsed;
    if (!t->ended)
        snprintf(run->error, sizeof run->error, "%s (log %s)", t->error, log);
    else if (!m || t->exit_status != 0) {
        char *ex = text ? strstr(text, "ffwd_restore: exit") : NULL;
        /* gem5's or the configuration's own reason, first one found */
        static const char *const why[] = {"ffwd_board: exit", "ffwd_board: error:", "fatal:", "panic:"};
        for (size_t k = 0; !ex && text && k < sizeof why / sizeof *why; k++)
            ex = strstr(text, why[k]);
        snprintf(run->error, sizeof run->error, "gem5 did not finish the measurement (%.*s; log %s)",
                 ex ? (int)strcspn(ex, "\n") : 11, ex ? ex : "exit status", log);
    } else if (gem5_stats_cpu(stats, cpu, &run->cycles, &run->insts) < 0)
        snprintf(run->error, sizeof run->error, "%s", ffwd_errmsg());
    else {
        run->cpi = (double)run->cycles / (double)run->insts;
        size_t eol = strcspn(m, "\n");
        const char *first = strstr(m, "(the region ended first)");
        run->region_end = first && first < m + eol;
    }
    free(text);
    free(log);
    free(stats);
}

/* Progress: one line per point as it ends, with the time left at the rate so
 * far (ctx: the start time). */
static void on_end(const struct runner_task *t, size_t done, size_t total, void *ctx)
{
    double el = now_sec() - *(const double *)ctx;
    char left[64] = "";
    if (done && done < total) {
        long s = (long)(el / (double)done * (double)(total - done) + 0.5);
        snprintf(left, sizeof left, ", %ld:%02ld:%02ld left", s / 3600, s / 60 % 60, s % 60);
    }
    ffwd_info("%s: %s (%zu of %zu points%s)", t->label,
              !t->ended                 ? t->error
              : t->exit_status == 0 ? "gem5 finished"
                                    : "gem5 exited with an error",
              done, total, left);
}

/* Instructions per second of gem5's CPU models (the brief's figures): for a
 * time limit when none is given on a cluster. */
static double gem5_rate(const char *cpu)
{
    return !strcmp(cpu, "atomic") ? 3e6 : !strcmp(cpu, "o3") ? 3e5 : 1e6;
}

int gem5_simpoints_run(const struct gem5_simpoints_opts *o, struct gem5_simpoints_result *r)
{
    memset(r, 0, sizeof *r);
    double t0 = now_sec();
    const char *cpu = o->cpu ? o->cpu : "o3";
    char *mp = xasprintf("%s/simpoints.json", o->dir);
    json_error_t e;
    json_t *man = json_load_file(mp, 0, &e);
    if (!man) {
        ffwd_seterr("%s: %s (is %s the output of `ffwd sample`?)", mp, e.text, o->dir);
        free(mp);
        return -1;
    }
    json_t *pts = json_object_get(man, "points");
    uint64_t interval = (uint64_t)json_integer_value(json_object_get(man, "interval"));
    if (!json_is_array(pts) || !json_array_size(pts) || !interval) {
        ffwd_seterr("%s: fields points and interval are missing or empty", mp);
        json_decref(man);
        free(mp);
        return -1;
    }
    if (!o->gem5 || access(o->gem5, X_OK) < 0) {
        ffwd_seterr("gem5 binary '%s' is not an executable file", o->gem5 ? o->gem5 : "(none)");
        json_decref(man);
        free(mp);
        return -1;
    }
    r->n = json_array_size(pts);
    r->runs = xcalloc(r->n, sizeof *r->runs);
    uint64_t *warm = xcalloc(r->n, sizeof *warm), *meas = xcalloc(r->n, sizeof *meas);
    for (size_t i = 0; i < r->n; i++) {
        json_t *p = json_array_get(pts, i);
        struct gem5_simpoint_run *run = &r->runs[i];
        json_t *ji = json_object_get(p, "index"), *jc = json_object_get(p, "cluster");
        json_t *jw = json_object_get(p, "weight"), *ju = json_object_get(p, "warmup");
        const char *c = json_string_value(json_object_get(p, "checkpoint"));
        const char *bad = !json_is_integer(ji) || json_integer_value(ji) < 0 || json_integer_value(ji) > 1000000
                              ? "index"
                          : !json_is_integer(jc) || json_integer_value(jc) < 0 || json_integer_value(jc) > 1000000
                              ? "cluster"
                          : !json_is_number(jw) || !(json_number_value(jw) >= 0 && json_number_value(jw) <= 1)
                              ? "weight"
                          : !json_is_integer(ju) || json_integer_value(ju) < 0 ? "warmup"
                          : !c                                                 ? "checkpoint"
                                                                               : NULL;
        if (bad) {
            ffwd_seterr("%s: points[%zu].%s is missing or out of range", mp, i, bad);
            goto bad_input;
        }
        /* the name becomes DIR/NAME and DIR/gem5-CPU/NAME, which is removed
         * and rewritten: it must be one plain name of a checkpoint in DIR */
        if (!path_name_ok(c) || strncmp(c, "cpt.", 4) || strlen(c) >= sizeof run->checkpoint) {
            ffwd_seterr("%s: points[%zu].checkpoint '%s' is not the name of a checkpoint folder in %s (cpt.*, no '/')",
                        mp, i, c, o->dir);
            goto bad_input;
        }
        char *ckp = xasprintf("%s/%s/m5.cpt", o->dir, c);
        bool there = path_exists(ckp);
        free(ckp);
        if (!there) {
            ffwd_seterr("%s: points[%zu].checkpoint: %s/%s/m5.cpt does not exist", mp, i, o->dir, c);
            goto bad_input;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(r->runs[k].checkpoint, c)) {
                ffwd_seterr("%s: points[%zu].checkpoint '%s' is also points[%zu]'s", mp, i, c, k);
                goto bad_input;
            }
        run->index = (unsigned)json_integer_value(ji);
        run->cluster = (unsigned)json_integer_value(jc);
        run->weight = json_number_value(jw);
        warm[i] = (uint64_t)json_integer_value(ju);
        meas[i] = o->measure ? o->measure : interval;
        /* version 2: the profiled window in instructions gem5 counts (every
         * instruction of the CPU), measured in the rerun that took the point */
        json_t *win = json_object_get(p, "window");
        if (win) {
            json_t *ww = json_object_get(win, "warmup_insts"), *wm = json_object_get(win, "measure_insts");
            if (!json_is_integer(ww) || json_integer_value(ww) < 0 || !json_is_integer(wm) ||
                json_integer_value(wm) <= 0) {
                ffwd_seterr("%s: points[%zu].window needs warmup_insts >= 0 and measure_insts > 0", mp, i);
                goto bad_input;
            }
            warm[i] = (uint64_t)json_integer_value(ww);
            if (!o->measure)
                meas[i] = (uint64_t)json_integer_value(wm);
        }
        if (o->until_region_end) /* a bound only: the region's end stops the window */
            meas[i] = 4 * meas[i] + 100000000;
        run->warmup_insts = warm[i];
        run->measure_insts = meas[i];
        snprintf(run->checkpoint, sizeof run->checkpoint, "%s", c);
    }
    if (o->config && access(o->config, R_OK) < 0) {
        ffwd_seterr_errno("gem5 configuration %s", o->config);
        goto bad_input;
    }
    const bool relabel = o->layout && strcmp(o->layout, "legacy");
    /* every path absolute: a task runs in its own folder, perhaps on another machine */
    char *dir = realpath(o->dir, NULL), *cfg_given = o->config ? xstrdup(o->config) : gem5_config_path();
    char *cfg = realpath(cfg_given, NULL), *gem5 = realpath(o->gem5, NULL);
    free(cfg_given);
    if (!dir || !cfg || !gem5) {
        ffwd_seterr_errno("%s", !dir ? o->dir : !cfg ? "the gem5 configuration" : o->gem5);
        free(dir), free(cfg), free(gem5);
        goto bad_input;
    }
    char *base = xasprintf("%s/gem5-%s", dir, o->tag ? o->tag : cpu);
    mkdir_p(base, 0755);
    /* one task per point: gem5 in DIR/gem5-TAG/POINT */
    struct runner_task *tasks = xcalloc(r->n, sizeof *tasks);
    for (size_t i = 0; i < r->n; i++) {
        struct gem5_simpoint_run *run = &r->runs[i];
        struct runner_task *t = &tasks[i];
        t->dir = xasprintf("%s/%s", base, run->checkpoint);
        t->log = "gem5.log";
        t->label = xasprintf("simulation point %u", run->index);
        /* gem5's memory: the guest's RAM and gem5's own (O3, caches, stats) */
        char *cj = xasprintf("%s/%s/ffwd-checkpoint.json", dir, run->checkpoint);
        json_t *ck = json_load_file(cj, 0, NULL);
        free(cj);
        t->mem_bytes = (uint64_t)json_integer_value(json_object_get(json_object_get(ck, "platform"), "mem_bytes")) +
                       (2ULL << 30);
        json_decref(ck);
        /* a bound given, or (on a cluster) three times gem5's rate plus 10 min */
        t->seconds = o->timeout > 0 ? o->timeout
                     : o->slurm   ? 3.0 * (double)(warm[i] + meas[i]) / gem5_rate(cpu) + 600
                                  : 7200;
        char *ck_path = xasprintf("%s/%s", dir, run->checkpoint);
        if (relabel) /* the user's configuration names its objects its own way: relabelled per run */
            ck_path = (free(ck_path), xasprintf("%s/ckpt", t->dir));
        t->argv = xcalloc(13, sizeof *t->argv);
        char **a = t->argv;
        a[0] = xstrdup(gem5), a[1] = xasprintf("--outdir=%s/m5out", t->dir), a[2] = xstrdup("--listener-mode=off");
        a[3] = xstrdup(cfg), a[4] = xstrdup("--checkpoint"), a[5] = ck_path, a[6] = xstrdup("--cpu");
        a[7] = xstrdup(cpu), a[8] = xstrdup("--warmup-insts"), a[9] = xasprintf("%" PRIu64, warm[i]);
        a[10] = xstrdup("--measure-insts"), a[11] = xasprintf("%" PRIu64, meas[i]);
    }
    int rc = 0;
    const struct gem5_slurm_opts *so = o->slurm;
    char *rdir = xasprintf("%s/slurm", base);
    double started = now_sec(); /* for the time left */
    struct runner_opts ro = {.kind = so ? RUNNER_SLURM : RUNNER_LOCAL, .jobs = o->jobs, .run_dir = rdir,
                             .job_name = "ffwd-gem5", .on_end = on_end, .ctx = &started};
    if (so) {
        ro.partition = so->partition, ro.account = so->account, ro.time = so->time, ro.mem = so->mem;
        ro.sbatch_args = so->sbatch_args, ro.nsbatch_args = so->nsbatch_args, ro.path_map = so->path_map;
        ro.no_wait = so->no_wait;
    }
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        bool collect = pass == 0 && so && so->collect;
        if (pass == 1) { /* run again what failed, once, if asked */
            size_t again = 0;
            for (size_t i = 0; i < r->n; i++)
                again += !(tasks[i].skip = !r->runs[i].error[0]);
            if (!o->retry_failed || !again)
                break;
            ffwd_info("running %zu failed simulation point(s) again", again);
        }
        for (size_t i = 0; i < r->n && !collect; i++) { /* a fresh folder for each point that runs */
            struct runner_task *t = &tasks[i];
            if (t->skip)
                continue;
            rm_rf(t->dir);
            mkdir_p(t->dir, 0755);
            char *ck = xasprintf("%s/%s", dir, r->runs[i].checkpoint);
            if (relabel && gem5_checkpoint_relayout(ck, o->layout, t->argv[5]) < 0) {
                snprintf(t->error, sizeof t->error, "%s", ffwd_errmsg());
                ffwd_warn("simulation point %u: %s", r->runs[i].index, t->error);
                t->skip = true; /* not run: its error stands */
                t->ended = false;
            }
            free(ck);
        }
        rc = collect ? runner_collect(&ro, tasks, r->n) : runner_run(&ro, tasks, r->n);
        if (rc == 0 && so && so->no_wait && !collect) {
            r->submitted = true;
            goto done;
        }
        for (size_t i = 0; rc == 0 && i < r->n; i++) {
            if (tasks[i].skip && !tasks[i].error[0])
                continue;
            finish(&tasks[i], &r->runs[i]);
            if (!r->runs[i].error[0] && o->until_region_end && !r->runs[i].region_end)
                snprintf(r->runs[i].error, sizeof r->runs[i].error,
                         "the region's end (the m5 work-end of `ffwd-guest roi`) was not reached within %" PRIu64
                         " instructions (log %s/%s)",
                         r->runs[i].measure_insts, tasks[i].dir, tasks[i].log);
            if (r->runs[i].error[0])
                ffwd_warn("simulation point %u: %s", r->runs[i].index, r->runs[i].error);
            else
                ffwd_info("simulation point %u: CPI %.4f (%" PRIu64 " cycles, %" PRIu64 " instructions) in %.0f s",
                          r->runs[i].index, r->runs[i].cpi, r->runs[i].cycles, r->runs[i].insts,
                          r->runs[i].seconds);
        }
    }
    if (rc < 0)
        goto done;
    double wsum = 0, wcpi = 0;
    size_t failed = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->runs[i].error[0]) {
            failed++;
            continue;
        }
        wsum += r->runs[i].weight;
        wcpi += r->runs[i].weight * r->runs[i].cpi;
    }
    r->seconds = now_sec() - t0;
    if (failed)
        rc = ffwd_seterr("%zu of %zu simulation points were not measured (see the warnings)", failed, r->n);
    else {
        r->weighted_cpi = wcpi / wsum;
        r->weighted_ipc = 1.0 / r->weighted_cpi;
        json_t *out = json_pack("{s:s, s:s, s:f, s:f, s:f, s:[]}", "format", "ffwd-simpoint-results", "cpu", cpu,
                                "weighted_cpi", r->weighted_cpi, "weighted_ipc", r->weighted_ipc, "seconds",
                                r->seconds, "points");
        json_t *arr = json_object_get(out, "points");
        for (size_t i = 0; i < r->n; i++)
            json_array_append_new(arr, json_pack("{s:i, s:i, s:f, s:I, s:I, s:f, s:f, s:s, s:{s:I, s:I}, s:b}", "index",
                                                 (int)r->runs[i].index, "cluster", (int)r->runs[i].cluster, "weight",
                                                 r->runs[i].weight, "cycles", (json_int_t)r->runs[i].cycles, "insts",
                                                 (json_int_t)r->runs[i].insts, "cpi", r->runs[i].cpi, "seconds",
                                                 r->runs[i].seconds, "checkpoint", r->runs[i].checkpoint, "window",
                                                 "warmup_insts", (json_int_t)r->runs[i].warmup_insts,
                                                 "measure_insts", (json_int_t)r->runs[i].measure_insts, "region_end",
                                                 r->runs[i].region_end));
        char *text = json_dumps(out, JSON_INDENT(2));
        char *rp = xasprintf("%s/results.json", base);
        rc = write_file_atomic(rp, text, strlen(text), 0644);
        free(rp);
        free(text);
        json_decref(out);
    }
done:
    for (size_t i = 0; i < r->n; i++) {
        for (char **a = tasks[i].argv; a && *a; a++)
            free(*a);
        free(tasks[i].argv);
        free(tasks[i].dir);
        free((char *)tasks[i].label);
    }
    free(tasks);
    free(rdir);
    free(dir);
    free(gem5);
    free(warm);
    free(meas);
    free(cfg);
    free(base);
    free(mp);
    json_decref(man);
    return rc;
bad_input:
    free(warm);
    free(meas);
    free(mp);
    json_decref(man);
    return -1;
}

char *gem5_results_tag(const char *config, const char *cpu)
{
    if (!config)
        return xstrdup(cpu);
    const char *b = strrchr(config, '/') ? strrchr(config, '/') + 1 : config;
    size_t n = strlen(b) > 3 && !strcmp(b + strlen(b) - 3, ".py") ? strlen(b) - 3 : strlen(b);
    char *tag = xasprintf("%.*s-%s", (int)n, b, cpu);
    path_name_sanitize(tag);
    return tag;
}
