/*
 * sample.c -- every simulation point of a profiled run, captured in one
 * rerun and converted into gem5 checkpoints (see sample.h).
 */
#define _GNU_SOURCE
#include "sample.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../gem5/writer.h"
#include "simpoint.h"

void sample_positions_free(struct sample_positions *p)
{
    for (unsigned v = 0; v < 64; v++) {
        free(p->all[v]);
        free(p->self[v]);
    }
    memset(p, 0, sizeof *p);
}

int sample_positions_read(const char *path, struct sample_positions *p)
{
    memset(p, 0, sizeof *p);
    char *text = read_text_file(path, NULL);
    if (!text)
        return -1;
    size_t cap[64] = {0};
    unsigned long lineno = 0;
    int rc = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (l[0] == '#') {
            char *iv = strstr(l, "interval=");
            if (iv)
                p->interval = strtoull(iv + 9, NULL, 10);
            continue;
        }
        unsigned v;
        unsigned long long idx, all, self;
        char extra;
        if (sscanf(l, "%u %llu %llu %llu %c", &v, &idx, &all, &self, &extra) != 4 || v >= 64) {
            rc = ffwd_seterr("%s:%lu: expected \"<vcpu> <interval> <insns all vCPUs> <insns this vCPU>\"", path,
                             lineno);
            break;
        }
        if (idx != p->n[v]) {
            rc = ffwd_seterr("%s:%lu: interval %llu of vCPU %u out of order (expected %zu)", path, lineno, idx, v,
                             p->n[v]);
            break;
        }
        if (p->n[v] == cap[v]) {
            cap[v] = cap[v] ? cap[v] * 2 : 256;
            p->all[v] = xrealloc(p->all[v], cap[v] * sizeof **p->all);
            p->self[v] = xrealloc(p->self[v], cap[v] * sizeof **p->self);
        }
        p->all[v][p->n[v]] = all;
        p->self[v][p->n[v]++] = self;
        if (v + 1 > p->nvcpus)
            p->nvcpus = v + 1;
    }
    free(text);
    if (rc < 0)
        sample_positions_free(p);
    return rc;
}

void sample_result_free(struct sample_result *r)
{
    free(r->points);
    memset(r, 0, sizeof *r);
}

char *sample_checkpoint_name(unsigned index, uint64_t inst, double weight, uint64_t interval, uint64_t warmup)
{
    /* configs/common/Simulation.py: "cpt.simpoint_%02d_inst_%d_weight_%f_interval_%d_warmup_%d" */
    return xasprintf("cpt.simpoint_%02u_inst_%" PRIu64 "_weight_%f_interval_%" PRIu64 "_warmup_%" PRIu64, index, inst,
                     weight, interval, warmup);
}

void sample_warmup(uint64_t start, uint64_t warmup, uint64_t *target, uint64_t *got)
{
    *target = start > warmup ? start - warmup : 1;
    *got = start > *target ? start - *target : 0;
}

static int cmp_target(const void *a, const void *b)
{
    const struct sample_point_result *x = a, *y = b;
    return x->target < y->target ? -1 : x->target > y->target;
}

/* Fill the machine and the workload from PREFIX.run.json. */
static int load_run(const char *path, json_t **root, struct ffwd_vm_config *cfg, uint64_t *interval)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        return ffwd_seterr("%s: %s (line %d)", path, e.text, e.line);
    const char *fmt = json_string_value(json_object_get(j, "format"));
    json_t *m = json_object_get(j, "machine"), *g = json_object_get(j, "guest");
    if (!fmt || strcmp(fmt, "ffwd-profile") || json_integer_value(json_object_get(j, "version")) != 1 ||
        !json_is_object(m) || !json_is_object(g)) {
        json_decref(j);
        return ffwd_seterr("%s: not an ffwd profile description (format ffwd-profile, version 1)", path);
    }
    json_int_t smp = json_integer_value(json_object_get(m, "smp")), gic = json_integer_value(json_object_get(m, "gic"));
    json_int_t mem = json_integer_value(json_object_get(m, "mem_bytes"));
    const char *kernel = json_string_value(json_object_get(g, "kernel"));
    *interval = (uint64_t)json_integer_value(json_object_get(j, "interval"));
    if (smp < 1 || smp > 64 || (gic != 2 && gic != 3) || mem <= 0 || !kernel || !*interval) {
        json_decref(j);
        return ffwd_seterr("%s: field machine.smp, machine.gic, machine.mem_bytes, guest.kernel or interval is "
                           "missing or invalid",
                           path);
    }
    cfg->prof.smp = (unsigned)smp;
    cfg->prof.gic_version = (int)gic;
    cfg->prof.mem_bytes = (uint64_t)mem;
    cfg->prof.icount = json_is_true(json_object_get(m, "deterministic"));
    json_t *seed = json_object_get(m, "rng_seed"); /* -1: --rng-seed off */
    cfg->prof.rng_seed = json_integer_value(seed) > 0 ? (uint64_t)json_integer_value(seed) : 0;
    if (json_integer_value(seed) < 0)
        cfg->prof.rng_seed_bytes = 0;
    cfg->prof.accel = "tcg";
    cfg->kernel = kernel;
    cfg->initrd = json_string_value(json_object_get(g, "initrd"));
    cfg->disk = json_string_value(json_object_get(g, "disk"));
    cfg->append = json_string_value(json_object_get(g, "append"));
    cfg->cmd = json_string_value(json_object_get(g, "cmd"));
    *root = j;
    return 0;
}

int sample_run(const struct sample_opts *o, struct ffwd_vm_config *cfg, struct ffwd_run_opts *ro,
               struct sample_result *r)
{
    memset(r, 0, sizeof *r);
    json_t *run = NULL;
    struct sample_positions pos = {0};
    struct simpoint_point *pts = NULL;
    size_t npts = 0;
    uint64_t interval = 0, *targets = NULL;
    struct ffwd_run_result *res = NULL;
    char *runp = xasprintf("%s.run.json", o->profile), *posp = xasprintf("%s.positions", o->profile);
    char *spp = o->simpoints ? xstrdup(o->simpoints) : xasprintf("%s.%u.simpoints", o->profile, o->vcpu);
    char *wp = o->weights ? xstrdup(o->weights) : xasprintf("%s.%u.weights", o->profile, o->vcpu);
    char *capdir = NULL;
    bool created = false;
    int rc = -1;
    if (load_run(runp, &run, cfg, &interval) < 0 || sample_positions_read(posp, &pos) < 0 ||
        simpoint_read(spp, wp, &pts, &npts) < 0)
        goto out;
    if (o->vcpu >= pos.nvcpus) {
        ffwd_seterr("%s: no intervals of vCPU %u", posp, o->vcpu);
        goto out;
    }
    if (pos.interval && pos.interval != interval) {
        ffwd_seterr("%s says interval=%" PRIu64 " but %s says %" PRIu64 ": not from the same profile", posp,
                    pos.interval, runp, interval);
        goto out;
    }
    if (!cfg->prof.icount)
        ffwd_warn("%s: the profile was not --deterministic: the rerun may not reach the same instructions at the "
                  "same counts",
                  runp);
    if (npts > FFWD_MAX_STOPS) {
        ffwd_seterr("%s: %zu simulation points; at most %d per run", spp, npts, FFWD_MAX_STOPS);
        goto out;
    }
    r->points = xcalloc(npts, sizeof *r->points);
    r->n = npts;
    for (size_t i = 0; i < npts; i++) {
        struct sample_point_result *p = &r->points[i];
        if (pts[i].interval >= pos.n[o->vcpu]) {
            ffwd_seterr("%s: interval %zu of cluster %u is beyond the %zu intervals in %s", spp, pts[i].interval,
                        pts[i].cluster, pos.n[o->vcpu], posp);
            goto out;
        }
        p->cluster = pts[i].cluster;
        p->interval = pts[i].interval;
        p->weight = pts[i].weight;
        p->start = pos.all[o->vcpu][pts[i].interval];
        /* as gem5: without room for the whole warm-up, start at the beginning
         * (the trigger stops after at least one instruction: a point that
         * starts at 0 gets no warm-up, never start - 1 wrapped around) */
        sample_warmup(p->start, o->warmup, &p->target, &p->warmup);
    }
    qsort(r->points, r->n, sizeof *r->points, cmp_target);
    targets = xmalloc(r->n * sizeof *targets);
    unsigned nt = 0;
    for (size_t i = 0; i < r->n; i++) {
        r->points[i].index = (unsigned)i;
        if (!nt || targets[nt - 1] != r->points[i].target)
            targets[nt++] = r->points[i].target;
    }
    if (mkdir(o->out, 0755) < 0) {
        ffwd_seterr_errno("%s (the output directory must not exist)", o->out);
        goto out;
    }
    created = true;
    capdir = xasprintf("%s/captures", o->out);
    if (mkdir(capdir, 0755) < 0) {
        ffwd_seterr_errno("%s", capdir);
        goto out;
    }
    cfg->insn_targets = targets;
    cfg->ninsn_targets = nt;
    cfg->insn_scope = -1;
    cfg->plugin = NULL;
    ro->capture_dir = capdir;
    ro->insn_scope = -1;
    res = xcalloc(1, sizeof *res);
    double t0 = now_sec();
    ffwd_info("rerunning the workload with %u capture points (%zu simulation points, warm-up %" PRIu64 ")", nt, r->n,
              o->warmup);
    if (ffwd_run_guest(cfg, ro, res) < 0)
        goto out;
    r->run_seconds = now_sec() - t0;
    if (res->cmd_status > 0) {
        ffwd_seterr("the guest command exited with status %d (console: %s)", res->cmd_status, res->console_log);
        goto out;
    }
    t0 = now_sec();
    json_t *list = json_array();
    for (size_t i = 0; i < r->n; i++) {
        struct sample_point_result *p = &r->points[i];
        const char *cap = NULL;
        for (unsigned k = 0; k < res->ncaptures; k++)
            if (res->capture_target[k] == p->target)
                cap = res->captures[k];
        for (unsigned k = 0; k < res->nstops; k++)
            if (res->stops[k].target == p->target)
                p->reached = res->stops[k].reached;
        if (!cap || !p->reached) {
            ffwd_seterr("instruction count %" PRIu64 " (simulation point %u) was never reached: the guest finished "
                        "earlier than in the profile (not deterministic?)",
                        p->target, p->index);
            json_decref(list);
            goto out;
        }
        char *name = sample_checkpoint_name(p->index, p->target, p->weight, interval, p->warmup);
        char *dst = xasprintf("%s/%s", o->out, name);
        struct gem5_convert_opts co = {.capture = cap, .out = dst, .gem5_src = o->gem5_src,
                                       .template_cpt = o->template_cpt};
        struct gem5_convert_result cr;
        int cv = gem5_convert(&co, &cr);
        snprintf(p->checkpoint, sizeof p->checkpoint, "%s", dst);
        free(dst);
        if (cv < 0) {
            ffwd_preerr("simulation point %u (%s)", p->index, name);
            free(name);
            json_decref(list);
            goto out;
        }
        json_array_append_new(list, json_pack("{s:i, s:i, s:I, s:f, s:I, s:I, s:I, s:I, s:s}", "index", (int)p->index,
                                              "cluster", (int)p->cluster, "interval", (json_int_t)p->interval,
                                              "weight", p->weight, "interval_start", (json_int_t)p->start, "target",
                                              (json_int_t)p->target, "reached", (json_int_t)p->reached, "warmup",
                                              (json_int_t)p->warmup, "checkpoint", name));
        ffwd_info("simulation point %u: cluster %u, interval %zu, weight %.4f: stopped at %" PRIu64 " (asked %" PRIu64
                  ", warm-up %" PRIu64 ") -> %s",
                  p->index, p->cluster, p->interval, p->weight, p->reached, p->target, p->warmup, name);
        free(name);
    }
    r->convert_seconds = now_sec() - t0;
    json_t *man = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:i, s:o}", "format", "ffwd-simpoints", "version", 1,
                            "profile", o->profile, "simpoints", spp, "weights", wp, "interval", (json_int_t)interval,
                            "warmup", (json_int_t)o->warmup, "vcpu", (int)o->vcpu, "points", list);
    char *text = json_dumps(man, JSON_INDENT(2));
    json_decref(man);
    char *mp = xasprintf("%s/simpoints.json", o->out);
    rc = write_file_atomic(mp, text, strlen(text), 0644);
    free(mp);
    free(text);
    if (rc == 0 && !o->keep_captures)
        rm_rf(capdir);
out:
    if (rc < 0 && created)
        rm_rf(o->out); /* nothing half-made stays behind */
    if (rc < 0 && r->points) {
        free(r->points);
        r->points = NULL;
        r->n = 0;
    }
    free(res);
    free(targets);
    free(pts);
    free(capdir);
    free(runp);
    free(posp);
    free(spp);
    free(wp);
    sample_positions_free(&pos);
    json_decref(run);
    return rc;
}
