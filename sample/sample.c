/*
 * sample.c -- every simulation point of a profiled run, captured in one
 * rerun and converted into gem5 checkpoints (see sample.h).
 */
#define _GNU_SOURCE
#include "sample.h"
#include "landmarks.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../capture/cjson.h"
#include "../gem5/writer.h"
#include "landing.h"
#include "simpoint.h"

void sample_positions_free(struct sample_positions *p)
{
    for (unsigned v = 0; v < 64; v++) {
        free(p->all[v]);
        free(p->self[v]);
        free(p->counted[v]);
    }
    memset(p, 0, sizeof *p);
}

uint64_t sample_positions_self_end(const struct sample_positions *p, unsigned v, size_t i)
{
    if (v >= 64 || i >= p->n[v])
        return 0;
    if (i + 1 < p->n[v])
        return p->self[v][i + 1];
    return p->has_end[v] ? p->end_self[v] : 0;
}

uint64_t sample_positions_progress(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[4096];
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size > (long)sizeof buf - 1)
        fseek(f, size - (long)sizeof buf + 1, SEEK_SET);
    else
        rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    uint64_t best = 0;
    for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        const char *p = line;
        while (*p && (*p < '0' || *p > '9') && *p != '#')
            p++; /* a tag before the vCPU number */
        unsigned long long v, iv, all;
        if (*p != '#' && sscanf(p, "%llu %llu %llu", &v, &iv, &all) == 3 && all > best)
            best = all;
    }
    return best;
}

void sample_positions_tick(void *arg)
{
    struct sample_positions_meter *t = arg;
    ffwd_meter_set(&t->m, (double)sample_positions_progress(t->positions));
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
    p->version = 1;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (l[0] == '#') {
            char *iv = strstr(l, "interval=");
            if (iv)
                p->interval = strtoull(iv + 9, NULL, 10);
            if (strstr(l, "positions v2"))
                p->version = 2;
            continue;
        }
        bool end = !strncmp(l, "end ", 4);
        unsigned v;
        unsigned long long idx, all, self, counted = 0;
        char extra;
        int got = sscanf(end ? l + 4 : l, "%u %llu %llu %llu %llu %c", &v, &idx, &all, &self, &counted, &extra);
        if (got != (p->version == 2 ? 5 : 4) || v >= 64) {
            rc = ffwd_seterr("%s:%lu: expected \"%s<vcpu> <interval> <insns all vCPUs> <insns this vCPU>%s\"", path,
                             lineno, end ? "end " : "", p->version == 2 ? " <counted this vCPU>" : "");
            break;
        }
        if (p->version == 1)
            counted = self;
        if (idx != p->n[v] || p->has_end[v]) {
            rc = ffwd_seterr("%s:%lu: interval %llu of vCPU %u out of order (expected %zu)", path, lineno, idx, v,
                             p->n[v]);
            break;
        }
        if (end) {
            p->has_end[v] = true;
            p->end_all[v] = all;
            p->end_self[v] = self;
            p->end_counted[v] = counted;
            continue;
        }
        if (p->n[v] == cap[v]) {
            cap[v] = cap[v] ? cap[v] * 2 : 256;
            p->all[v] = xrealloc(p->all[v], cap[v] * sizeof **p->all);
            p->self[v] = xrealloc(p->self[v], cap[v] * sizeof **p->self);
            p->counted[v] = xrealloc(p->counted[v], cap[v] * sizeof **p->counted);
        }
        p->all[v][p->n[v]] = all;
        p->self[v][p->n[v]] = self;
        p->counted[v][p->n[v]++] = counted;
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
    /* counted instructions: target 0 stops after the first counted block */
    *target = start > warmup ? start - warmup : 0;
    *got = start - *target;
}

static int cmp_target(const void *a, const void *b)
{
    const struct sample_point_result *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    return x->interval < y->interval ? -1 : x->interval > y->interval;
}

/* A path from run.json: absolute, or relative to the folder of run.json. */
static char *run_path(const char *runp, const char *p)
{
    if (!p || p[0] == '/')
        return p ? xstrdup(p) : NULL;
    const char *slash = strrchr(runp, '/');
    return slash ? xasprintf("%.*s/%s", (int)(slash - runp), runp, p) : xstrdup(p);
}

/* Fill the machine and the workload from PREFIX.run.json. The strings in
 * cfg point into `owned` (freed by the caller). */
static int load_run(const char *path, json_t **root, struct ffwd_vm_config *cfg, uint64_t *interval,
                    const char **filters, char *owned[4])
{
    json_t *j = cj_load_path(path);
    if (!j)
        return -1;
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
    cfg->kernel = owned[0] = run_path(path, kernel);
    cfg->initrd = owned[1] = run_path(path, json_string_value(json_object_get(g, "initrd")));
    cfg->disk = owned[2] = run_path(path, json_string_value(json_object_get(g, "disk")));
    cfg->append = json_string_value(json_object_get(g, "append"));
    cfg->cmd = json_string_value(json_object_get(g, "cmd"));
    *filters = json_string_value(json_object_get(j, "filters"));
    /* `ffwd profile --record`: the rerun is a replay of that record */
    const char *rec = json_string_value(json_object_get(j, "record"));
    if (rec) {
        cfg->rr_mode = "replay";
        cfg->rr_file = owned[3] = run_path(path, rec);
    }
    const char *files[4] = {cfg->kernel, cfg->initrd, cfg->disk, cfg->rr_file};
    const char *names[4] = {"guest.kernel", "guest.initrd", "guest.disk", "record"};
    for (int i = 0; i < 4; i++)
        if (files[i] && !path_exists(files[i])) {
            json_decref(j);
            return ffwd_seterr("%s: %s %s does not exist", path, names[i], files[i]);
        }
    /* a rebuilt disk is an error, not a silent wrong result */
    const char *want = json_string_value(json_object_get(g, "disk_sha256"));
    if (cfg->disk && want) {
        char have[65];
        if (sha256_file(cfg->disk, have) < 0) {
            json_decref(j);
            return -1;
        }
        if (strcmp(have, want)) {
            ffwd_seterr("%s: the disk %s changed since the profile (sha256 %.12s..., profiled %.12s...): a rerun "
                        "would not run the same workload; profile again",
                        path, cfg->disk, have, want);
            json_decref(j); /* `want` is in j */
            return -1;
        }
    }
    *root = j;
    return 0;
}

int sample_busiest_vcpu(const char *profile, unsigned *v)
{
    char *p = xasprintf("%s.run.json", profile);
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    json_t *b = json_object_get(j, "busiest_vcpu");
    int found = json_is_integer(b) && json_integer_value(b) >= 0 && json_integer_value(b) < 64;
    if (found)
        *v = (unsigned)json_integer_value(b);
    json_decref(j);
    return found;
}

/* DIR/ffwd-sample.json: what this folder is a sample of (so that a second
 * `ffwd sample` with the same arguments resumes, and another is refused). */
static json_t *sample_identity(const struct sample_opts *o, const char *spp, const char *wp, uint64_t interval)
{
    return json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:i}", "format", "ffwd-sample-dir", "version", 1,
                     "profile", o->profile, "simpoints", spp, "weights", wp, "warmup", (json_int_t)o->warmup,
                     "interval", (json_int_t)interval, "vcpu", (int)o->vcpu);
}

/* Create DIR, or accept it for resuming. *resume: it existed. */
static int open_out_dir(const struct sample_opts *o, json_t *ident, bool *resume)
{
    char *idp = xasprintf("%s/ffwd-sample.json", o->out), *mp = xasprintf("%s/simpoints.json", o->out);
    int rc = 0;
    *resume = false;
    if (mkdir(o->out, 0755) == 0) {
        char *t = json_dumps(ident, JSON_INDENT(2) | JSON_SORT_KEYS);
        rc = write_file_atomic(idp, t, strlen(t), 0644);
        free(t);
    } else if (errno != EEXIST)
        rc = ffwd_seterr_errno("%s", o->out);
    else if (path_exists(mp))
        rc = ffwd_seterr("%s already holds a complete sample (simpoints.json): remove it or choose another --out",
                         o->out);
    else {
        json_t *old = path_exists(idp) ? json_load_file(idp, 0, NULL) : NULL;
        if (!old)
            rc = ffwd_seterr("%s exists and is not an unfinished `ffwd sample` (the output directory must not "
                             "exist)",
                             o->out);
        else if (!json_equal(old, ident))
            rc = ffwd_seterr("%s is an unfinished sample of other arguments (%s): resume it with those, or choose "
                             "another --out",
                             o->out, idp);
        else
            *resume = true;
        json_decref(old);
    }
    free(idp);
    free(mp);
    return rc;
}

/* The record of a finished point: DIR/<checkpoint>/ffwd-point.json. A point
 * of an interrupted sample is done when its record is there (the checkpoint
 * folder is renamed into place complete, the record written after it). */
static json_t *find_done(const char *out, unsigned index, uint64_t target, char *name, size_t nlen)
{
    DIR *d = opendir(out);
    if (!d)
        return NULL;
    char pre[64];
    snprintf(pre, sizeof pre, "cpt.simpoint_%02u_", index);
    json_t *rec = NULL;
    for (struct dirent *e; !rec && (e = readdir(d));) {
        if (strncmp(e->d_name, pre, strlen(pre)))
            continue;
        char *rp = xasprintf("%s/%s/ffwd-point.json", out, e->d_name);
        json_t *j = path_exists(rp) ? json_load_file(rp, 0, NULL) : NULL;
        free(rp);
        if (j && (uint64_t)json_integer_value(json_object_get(j, "target")) == target &&
            !strcmp(json_string_value(json_object_get(j, "checkpoint")) ?: "", e->d_name)) {
            rec = j;
            snprintf(name, nlen, "%s", e->d_name);
        } else
            json_decref(j);
    }
    closedir(d);
    return rec;
}

static json_t *point_json(const struct sample_point_result *p, const char *name, const char *filters, double maxd,
                          const char *cap, unsigned vcpu)
{
    json_t *j = json_pack("{s:i, s:i, s:I, s:f, s:s, s:I, s:I, s:I, s:I, s:s}", "index", (int)p->index, "cluster",
                          (int)p->cluster, "interval", (json_int_t)p->interval, "weight", p->weight, "counts",
                          filters ? filters : "mode=all", "interval_start", (json_int_t)p->start, "target",
                          (json_int_t)p->target, "reached", (json_int_t)p->reached, "warmup",
                          (json_int_t)p->warmup, "checkpoint", name);
    /* what gem5 must run, in the instructions it counts (all, this CPU) */
    json_object_set_new(j, "window",
                        json_pack("{s:I, s:I, s:I, s:I}", "stopped_at", (json_int_t)p->reached_all, "start",
                                  (json_int_t)p->start_all, "warmup_insts",
                                  (json_int_t)(p->start_all - p->reached_all), "measure_insts",
                                  (json_int_t)(p->end_all - p->start_all)));
    if (p->distance >= 0)
        json_object_set_new(j, "landing", json_pack("{s:f, s:f}", "distance", p->distance, "max", maxd));
    else
        json_object_set_new(j, "landing", json_pack("{s:n}", "distance"));
    /* where the machine stopped: exception level and PC of the vCPU */
    char *cp = xasprintf("%s/cpu%u.json", cap, vcpu);
    json_t *cpu = cap ? json_load_file(cp, 0, NULL) : NULL;
    free(cp);
    if (cpu) {
        json_object_set(j, "el", json_object_get(cpu, "el"));
        /* idle in WFI at the stop: what gem5 measures there starts with nothing to do */
        if (json_is_true(json_object_get(cpu, "halted")))
            json_object_set_new(j, "vcpu_halted", json_true());
        json_object_set(j, "pc", json_object_get(cpu, "pc"));
        /* an interrupt raised while the vCPU was held: captured right before it */
        if (json_object_get(cpu, "interrupt_entry_undone"))
            json_object_set(j, "interrupt_pending", json_object_get(cpu, "interrupt_entry_undone"));
        /* at the entry of an exception vector taken from EL0 (offsets 0x400
         * sync, 0x480 IRQ of a 2 KiB-aligned table): the machine stopped as
         * it took an interrupt or a fault from user mode; the user PC it
         * interrupted is ELR_EL1 */
        const char *pcs = json_string_value(json_object_get(cpu, "pc"));
        uint64_t pc = pcs ? strtoull(pcs, NULL, 16) : 0;
        if (json_integer_value(json_object_get(cpu, "el")) == 1 && ((pc & 0x7ff) == 0x480 || (pc & 0x7ff) == 0x400)) {
            json_object_set_new(j, "entry", json_string((pc & 0x7ff) == 0x480 ? "irq-from-el0" : "sync-from-el0"));
            json_object_set(j, "user_pc", json_array_get(json_object_get(cpu, "elr_el"), 1));
        }
        json_decref(cpu);
    }
    if (p->lm_block) {
        /* how the stop was found: after the profile's landmark block, which
         * ends where the point starts (expected_pc) */
        char b[20], x[20];
        snprintf(b, sizeof b, "0x%" PRIx64, p->lm_block);
        snprintf(x, sizeof x, "0x%" PRIx64, p->lm_next);
        const char *pcs = json_string_value(json_object_get(j, "pc"));
        uint64_t pc = pcs ? strtoull(pcs, NULL, 16) : 0;
        /* at the same code, maybe in another mapping of its page (landmarks.h) */
        bool same_pc = pcs && pc == p->lm_next, same_code = pcs && landmark_same_code(pc, p->lm_next);
        json_object_set_new(j, "landmark",
                            json_pack("{s:s, s:s, s:I, s:I, s:s, s:b, s:b}", "block", b, "expected_pc", x, "armed_at",
                                      (json_int_t)p->lm_lo, "gives_up_at", (json_int_t)p->lm_hi, "found",
                                      p->landmark == 1 ? "block"
                                      : p->landmark == 2 ? "missed: stopped by count"
                                                         : "by count",
                                      "at_expected_pc", same_pc, "at_expected_code", same_code));
    }
    return j;
}

int sample_run(const struct sample_opts *o, struct ffwd_vm_config *cfg, struct ffwd_run_opts *ro,
               struct sample_result *r)
{
    memset(r, 0, sizeof *r);
    json_t *run = NULL, *ident = NULL, **recs = NULL;
    struct sample_positions pos = {0}, rpos = {0};
    struct simpoint_point *pts = NULL;
    struct landing_vec *pv = NULL, *rv = NULL;
    size_t npts = 0, *want = NULL;
    uint64_t interval = 0, *targets = NULL, *lm_pc = NULL, *lm_lo = NULL, *lm_hi = NULL;
    struct landmarks lms = {0};
    struct ffwd_run_result *res = NULL;
    char *owned[4] = {0};
    const char *unrep = NULL; /* why the profiled run cannot be reproduced, if it counts every instruction */
    const char *filters = NULL;
    char *runp = xasprintf("%s.run.json", o->profile), *posp = xasprintf("%s.positions", o->profile);
    char *lmp = xasprintf("%s.landmarks", o->profile);
    char *spp = o->simpoints ? xstrdup(o->simpoints) : xasprintf("%s.%u.simpoints", o->profile, o->vcpu);
    char *wp = o->weights ? xstrdup(o->weights) : xasprintf("%s.%u.weights", o->profile, o->vcpu);
    char *capdir = NULL, *landp = NULL, *rprefix = NULL;
    struct sbuf plug = {0};
    double maxd = o->max_distance > 0 ? o->max_distance : LANDING_MAX_DISTANCE;
    bool resume = false, check = !o->no_landing_check;
    int rc = -1;
    if (load_run(runp, &run, cfg, &interval, &filters, owned) < 0 || sample_positions_read(posp, &pos) < 0 ||
        simpoint_read(spp, wp, &pts, &npts) < 0 || landmarks_read(lmp, o->vcpu, &lms) < 0)
        goto out;
    /* Landmarks for a profile of user instructions: their count moves only
     * with the program itself (a few hundred where it reads the clock), and
     * a landmark block is found within half its period. Where the kernel
     * counts too, every interrupt more or less moves the count by hundreds
     * (thousands over a run): a stop by count is nearer there. */
    bool user_counts = filters && strstr(filters, "mode=user");
    if (!user_counts)
        landmarks_free(&lms);
    else if (!lms.n)
        ffwd_warn("%s: no landmarks (a profile of an older ffwd): the points are stopped by count alone, so two "
                  "reruns may stop a few instructions apart",
                  o->profile);
    if (o->vcpu >= pos.nvcpus) {
        ffwd_seterr("%s: no intervals of vCPU %u", posp, o->vcpu);
        goto out;
    }
    if (pos.interval && pos.interval != interval) {
        ffwd_seterr("%s says interval=%" PRIu64 " but %s says %" PRIu64 ": not from the same profile", posp,
                    pos.interval, runp, interval);
        goto out;
    }
    bool filtered = filters && strcmp(filters, "mode=all");
    if (pos.version < 2 && filtered) {
        ffwd_seterr("%s: written by an older ffwd that did not record what the filters (%s) count: profile again",
                    posp, filters);
        goto out;
    }
    /* what makes a rerun land: a count the kernel cannot move, or a run that
     * can be reproduced (the rule `ffwd profile` recorded in run.json) */
    unrep = filtered ? NULL : ffwd_vm_unreproducible(cfg);
    if (unrep && o->no_landing_check) {
        ffwd_seterr("%s: the profile counts every instruction and its run cannot be reproduced (%s): without the "
                    "landing check nothing would show where the points landed; drop --no-landing-check (or "
                    "profile with --user or --process roi)",
                    runp, unrep);
        goto out;
    }
    if (unrep)
        ffwd_warn("%s: THE PROFILED RUN CANNOT BE REPRODUCED (%s); it counts every instruction, so a rerun's "
                  "counts move: every point's landing distance is its only proof, and each point says so "
                  "(profile with --user or --process roi for points that do not depend on it)",
                  runp, unrep);
    if (cfg->prof.smp > 1)
        ffwd_warn("%s: %u vCPUs: the interleaving of a rerun is not the profile's; only vCPU %u's own count is "
                  "followed",
                  runp, cfg->prof.smp, o->vcpu);
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
        p->distance = -1;
        p->start = pos.counted[o->vcpu][pts[i].interval];
        sample_warmup(p->start, o->warmup, &p->target, &p->warmup);
        /* at the profile's landmark nearest to that: the same instruction in
         * every rerun (the warm-up moves by less than a landmark step) */
        const struct landmark *m = landmarks_near(&lms, p->target, p->start);
        if (m) {
            p->target = m->n;
            p->warmup = p->start - m->n;
            p->lm_block = m->p_pc;
            landmark_window(m, &p->lm_lo, &p->lm_hi);
            p->lm_next = m->x_pc;
        }
    }
    qsort(r->points, r->n, sizeof *r->points, cmp_target);
    recs = xcalloc(r->n, sizeof *recs);
    targets = xmalloc(r->n * sizeof *targets);
    lm_pc = xmalloc(r->n * sizeof *lm_pc);
    lm_lo = xmalloc(r->n * sizeof *lm_lo);
    lm_hi = xmalloc(r->n * sizeof *lm_hi);
    ident = sample_identity(o, spp, wp, interval);
    if (open_out_dir(o, ident, &resume) < 0)
        goto out;
    unsigned nt = 0, ndone = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct sample_point_result *p = &r->points[i];
        p->index = (unsigned)i;
        if (resume && (recs[i] = find_done(o->out, p->index, p->target, p->checkpoint, sizeof p->checkpoint))) {
            p->resumed = true;
            ndone++;
            continue;
        }
        if (!nt || targets[nt - 1] != p->target) {
            lm_pc[nt] = p->lm_block;
            lm_lo[nt] = p->lm_lo;
            lm_hi[nt] = p->lm_hi;
            targets[nt++] = p->target;
        }
    }
    if (resume)
        ffwd_info("resuming %s: %u of %zu simulation points were taken before", o->out, ndone, r->n);
    capdir = xasprintf("%s/captures", o->out);
    landp = xasprintf("%s/landing", o->out);
    rprefix = xasprintf("%s/rerun", landp);
    bool failed_points = false;
    if (nt) {
        if (mkdir(capdir, 0755) < 0 && errno != EEXIST) {
            ffwd_seterr_errno("%s", capdir);
            goto out;
        }
        rm_rf(landp);
        if (check && mkdir(landp, 0755) < 0) {
            ffwd_seterr_errno("%s", landp);
            goto out;
        }
        cfg->insn_targets = targets;
        cfg->insn_landmark_pc = lm_pc;
        cfg->insn_landmark_lo = lm_lo;
        cfg->insn_landmark_hi = lm_hi;
        cfg->ninsn_targets = nt;
        cfg->insn_scope = (int)o->vcpu;
        cfg->insn_filter = filters;
        cfg->plugin = NULL;
        if (check) { /* the rerun's own BBV: the same plugin, filters and interval */
            char *so = ffwd_plugin_path("bbv");
            sbuf_addf(&plug, "%s,out=%s,interval=%" PRIu64 "%s%s", so, rprefix, interval, filters ? "," : "",
                      filters ? filters : "");
            free(so);
            cfg->plugin = plug.s;
        }
        if (ffwd_vm_rr_prepare(cfg) < 0) { /* a replay: of the record's machine and command (checked) */
            ffwd_preerr("%s", runp);
            goto out;
        }
        if (cfg->rr_mode)
            ffwd_info("the rerun replays %s: the same instructions, interrupts and disk completions; each point "
                      "is stopped at QEMU's own instruction count",
                      cfg->rr_file);
        ro->capture_dir = capdir;
        ro->insn_scope = (int)o->vcpu;
        ro->insn_filter_user = filters && strstr(filters, "mode=user") != NULL;
        res = xcalloc(1, sizeof *res);
        double t0 = now_sec();
        ffwd_info("rerunning the workload with %u capture points (%zu simulation points, warm-up %" PRIu64
                  ", counting %s on vCPU %u%s)",
                  nt, r->n, o->warmup, filters ? filters : "mode=all", o->vcpu, check ? ", landing check" : "");
        /* the rerun's progress: its BBV's positions against the profile's total */
        struct sample_positions_meter tick = {.positions = check ? xasprintf("%s.positions", rprefix) : NULL};
        if (check) { /* the profile's every-vCPU count at its last interval start: the rerun's goal */
            uint64_t total = 0;
            for (unsigned v = 0; v < pos.nvcpus; v++)
                if (pos.n[v] && pos.all[v][pos.n[v] - 1] > total)
                    total = pos.all[v][pos.n[v] - 1];
            ffwd_meter_start(&tick.m, "rerun", "instructions", (double)total);
            ro->tick = sample_positions_tick, ro->tick_arg = &tick;
        }
        int rr = ffwd_run_guest(cfg, ro, res);
        if (check)
            ffwd_meter_end(&tick.m);
        ro->tick = NULL;
        free(tick.positions);
        if (rr < 0) {
            ffwd_preerr("the rerun (the captures taken so far stay in %s; run `ffwd sample` again with the same "
                        "arguments to resume)",
                        capdir);
            goto out;
        }
        r->run_seconds = now_sec() - t0;
        if (res->cmd_status > 0) {
            ffwd_seterr("the guest command exited with status %d (console: %s)", res->cmd_status, res->console_log);
            goto out;
        }
        if (check) {
            char *rpp = xasprintf("%s.positions", rprefix);
            int pr = sample_positions_read(rpp, &rpos);
            free(rpp);
            if (pr < 0)
                goto out;
            want = xmalloc(r->n * sizeof *want);
            for (size_t i = 0; i < r->n; i++)
                want[i] = r->points[i].interval;
            pv = xcalloc(r->n, sizeof *pv);
            rv = xcalloc(r->n, sizeof *rv);
            if (landing_load(o->profile, o->vcpu, want, r->n, pv) < 0 ||
                landing_load(rprefix, o->vcpu, want, r->n, rv) < 0)
                goto out;
        }
        t0 = now_sec();
        for (size_t i = 0; i < r->n; i++) {
            struct sample_point_result *p = &r->points[i];
            if (recs[i])
                continue;
            const char *cap = NULL;
            for (unsigned k = 0; k < res->ncaptures; k++)
                if (res->capture_target[k] == p->target)
                    cap = res->captures[k];
            bool stopped = false;
            for (unsigned k = 0; k < res->nstops; k++)
                if (res->stops[k].target == p->target && res->stops[k].final) {
                    p->reached = res->stops[k].reached;
                    p->reached_all = res->stops[k].all;
                    p->landmark = res->stops[k].landmark;
                    stopped = true;
                }
            if (!cap || !stopped) {
                ffwd_warn("simulation point %u (interval %zu): count %" PRIu64 " was never reached: the rerun "
                          "counted less than the profile",
                          p->index, p->interval, p->target);
                failed_points = true;
                continue;
            }
            const struct sample_positions *wpos = check ? &rpos : &pos;
            if (p->interval < wpos->n[o->vcpu]) {
                p->start_all = wpos->self[o->vcpu][p->interval];
                p->end_all = sample_positions_self_end(wpos, o->vcpu, p->interval);
            }
            if (p->start_all < p->reached_all) /* stopped after the interval's first block (target 0) */
                p->start_all = p->reached_all;
            if (p->end_all < p->start_all)
                p->end_all = p->start_all; /* the rerun ended first: no window */
            if (check) {
                uint64_t rstart = p->interval < rpos.n[o->vcpu] ? rpos.counted[o->vcpu][p->interval] : 0;
                p->distance = landing_distance(&pv[i], &rv[i]);
                if (p->distance > maxd || p->interval >= rpos.n[o->vcpu]) {
                    ffwd_warn("simulation point %u (cluster %u, interval %zu): landed %.4f away from the profiled "
                              "interval (at most %.4f; rerun interval start %" PRIu64 ", profiled %" PRIu64
                              "): not taken",
                              p->index, p->cluster, p->interval, p->distance, maxd, rstart, p->start);
                    failed_points = true;
                    continue;
                }
            }
            char *name = sample_checkpoint_name(p->index, p->start_all, p->weight, p->end_all - p->start_all,
                                                p->start_all - p->reached_all);
            char *dst = xasprintf("%s/%s", o->out, name);
            /* a checkpoint of ours without its record: a run killed between
             * the two; the point was not taken, so take it again */
            char *rec = xasprintf("%s/ffwd-point.json", dst);
            if (path_exists(dst) && !path_exists(rec))
                rm_rf(dst);
            free(rec);
            struct gem5_convert_opts co = {.capture = cap, .out = dst, .gem5_src = o->gem5_src,
                                           .template_cpt = o->template_cpt};
            struct gem5_convert_result cr;
            int cv = gem5_convert(&co, &cr);
            snprintf(p->checkpoint, sizeof p->checkpoint, "%s", name);
            if (cv < 0) {
                ffwd_preerr("simulation point %u (%s)", p->index, name);
                free(name);
                free(dst);
                goto out;
            }
            recs[i] = point_json(p, name, filters, maxd, cap, o->vcpu);
            json_object_set_new(recs[i], "reproducible_run", json_boolean(!unrep));
            /* how the rerun found the point: a replay's breakpoint, or the trigger plugin */
            json_object_set_new(recs[i], "stopped_by", json_string(cfg->rr_mode ? "replay-break" : "trigger"));
            if (unrep)
                json_object_set_new(recs[i], "unreproducible_why", json_string(unrep));
            char *t = json_dumps(recs[i], JSON_INDENT(2));
            char *rp = xasprintf("%s/ffwd-point.json", dst);
            int wr = write_file_atomic(rp, t, strlen(t), 0644);
            free(rp);
            free(t);
            free(dst);
            if (wr < 0) {
                free(name);
                goto out;
            }
            char dist[48] = "unchecked";
            if (p->distance >= 0)
                snprintf(dist, sizeof dist, "%.5f (at most %.3f)", p->distance, maxd);
            if (unrep) /* loudly, at every point: its position rests on the landing check alone */
                ffwd_warn("simulation point %u: cluster %u, interval %zu, weight %.4f: stopped at %" PRIu64
                          " (asked %" PRIu64 ", warm-up %" PRIu64 "), landing distance %s -> %s -- FROM A RUN "
                          "THAT CANNOT BE REPRODUCED: the landing distance is the only proof",
                          p->index, p->cluster, p->interval, p->weight, p->reached, p->target, p->warmup, dist,
                          name);
            else
                ffwd_info("simulation point %u: cluster %u, interval %zu, weight %.4f: stopped at %" PRIu64
                          " (asked %" PRIu64 ", warm-up %" PRIu64 "), landing distance %s -> %s",
                          p->index, p->cluster, p->interval, p->weight, p->reached, p->target, p->warmup, dist,
                          name);
            if (json_is_true(json_object_get(recs[i], "vcpu_halted")))
                ffwd_warn("simulation point %u: vCPU %u was idle (halted in WFI) where it stopped: gem5's window "
                          "begins with nothing to run there",
                          p->index, o->vcpu);
            free(name);
        }
        r->convert_seconds = now_sec() - t0;
        /* several vCPUs: did the rerun put the counted work on other vCPUs? */
        if (failed_points && check && pos.nvcpus > 1 && rpos.nvcpus == pos.nvcpus) {
            uint64_t was = 0, now = 0, was_all = 0, now_all = 0;
            for (unsigned v = 0; v < pos.nvcpus; v++) {
                uint64_t a = pos.has_end[v] ? pos.end_counted[v] : 0, b = rpos.has_end[v] ? rpos.end_counted[v] : 0;
                was_all += a, now_all += b;
                if (v == o->vcpu)
                    was = a, now = b;
            }
            ffwd_warn("vCPU %u counted %" PRIu64 " instructions in the rerun, %" PRIu64 " in the profile; all %u "
                      "vCPUs together %" PRIu64 " and %" PRIu64 ": a rerun schedules the work on other vCPUs than "
                      "the profile did, and one vCPU's count does not come back",
                      o->vcpu, now, was, pos.nvcpus, now_all, was_all);
        }
    }
    size_t have = 0;
    for (size_t i = 0; i < r->n; i++)
        have += recs[i] != NULL;
    if (failed_points || have < r->n) {
        ffwd_seterr("%zu of %zu simulation points taken; the others did not land (see above): %s keeps what was "
                    "taken, and `ffwd sample` with the same arguments tries the rest again",
                    have, r->n, o->out);
        goto out;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < r->n; i++)
        json_array_append(list, recs[i]);
    json_t *man = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:o}", "format", "ffwd-simpoints",
                            "version", 2, "profile", o->profile, "simpoints", spp, "weights", wp, "counts",
                            filters ? filters : "mode=all", "interval", (json_int_t)interval, "warmup",
                            (json_int_t)o->warmup, "vcpu", (int)o->vcpu, "points", list);
    char *text = json_dumps(man, JSON_INDENT(2));
    json_decref(man);
    char *mp = xasprintf("%s/simpoints.json", o->out);
    rc = write_file_atomic(mp, text, strlen(text), 0644);
    free(mp);
    free(text);
out:
    if (capdir && !o->keep_captures && rc == 0)
        rm_rf(capdir);
    if (rc < 0 && r->points) {
        free(r->points);
        r->points = NULL;
        r->n = 0;
    }
    for (size_t i = 0; recs && i < npts; i++)
        json_decref(recs[i]);
    for (size_t i = 0; pv && i < npts; i++)
        landing_vec_free(&pv[i]), landing_vec_free(&rv[i]);
    free(pv);
    free(rv);
    free(want);
    free(recs);
    if (res)
        ffwd_run_result_free(res);
    free(res);
    free(targets);
    free(lm_pc);
    free(lm_lo);
    free(lm_hi);
    landmarks_free(&lms);
    free(lmp);
    free(pts);
    free(capdir);
    free(landp);
    free(rprefix);
    sbuf_free(&plug);
    free(runp);
    free(posp);
    free(spp);
    free(wp);
    for (int i = 0; i < 4; i++)
        free(owned[i]);
    sample_positions_free(&pos);
    sample_positions_free(&rpos);
    json_decref(ident);
    json_decref(run);
    return rc;
}
