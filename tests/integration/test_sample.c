/*
 * Sampling end to end on the demo guest: profile (BBV plugin) -> cluster
 * (SimPoint in C) -> sample (every simulation point captured in one rerun,
 * converted into gem5-named checkpoints), and the errors on the way.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>

#include "sample/sample.h"
#include "sample/simpoint.h"
#include "tests/integration/helpers.h"

#define WORKLOAD                                                                                                   \
    "ffwd-guest roi-begin; ffwd-matmul 128; ffwd-ptrchase 100000; ffwd-sort 50000; ffwd-matmul 128; "              \
    "ffwd-ptrchase 100000; ffwd-sort 50000; ffwd-guest roi-end"
#define INTERVAL 4000000ULL

/* Hostile simpoints.json for sample-run: names from the file never become
 * paths outside DIR (`../../victim` was removed with rm -rf; a missing name
 * removed DIR/gem5-CPU and still reported a CPI); a -1 warm-up is refused. */
static int t_hostile(void)
{
    char *w = make_temp_dir("/tmp", "ffwd-it-hostile-");
    char *d = xasprintf("%s/d", w), *victim = xasprintf("%s/victim", w), *keep = xasprintf("%s/victim/important.txt", w);
    mkdir_p(d, 0755);
    mkdir_p(victim, 0755);
    write_file_atomic(keep, "precious\n", 9, 0644);
    char *ck = xasprintf("%s/cpt.simpoint_00_inst_1_weight_1.000000_interval_4_warmup_0", d);
    mkdir_p(ck, 0755);
    char *m5 = xasprintf("%s/m5.cpt", ck);
    write_file_atomic(m5, "[root]\n", 7, 0644);
    const char *cases[][2] = {
        {"\"checkpoint\":\"../../victim\"", "is not the name of a checkpoint folder"},
        {"\"checkpoint\":\"../victim\"", "is not the name of a checkpoint folder"},
        {"\"nothing\":0", "points[0].checkpoint is missing"},
        {"\"checkpoint\":\"cpt.simpoint_00_inst_1_weight_1.000000_interval_4_warmup_0\",\"warmup\":-1",
         "points[0].warmup is missing or out of range"},
        {"\"checkpoint\":\"cpt.nope\"", "does not exist"},
    };
    char *mp = xasprintf("%s/simpoints.json", d);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *j = xasprintf("{\"format\":\"ffwd-simpoints\",\"version\":1,\"interval\":2000000,\"points\":[{\"index\":0,"
                            "\"cluster\":0,\"interval\":4,\"weight\":1.0,%s%s}]}",
                            strstr(cases[i][0], "warmup") ? "" : "\"warmup\":0,", cases[i][0]);
        write_file_atomic(mp, j, strlen(j), 0644);
        struct sbuf o = {0};
        const char *a[] = {"sample-run", d, "--gem5", "/bin/true", NULL};
        int st = ffwd(&o, a);
        CHECK_MSG(st == 1, "case %zu: exit %d: %s", i, st, o.s);
        CHECK_STR_HAS(o.s, cases[i][1]);
        CHECK_MSG(path_exists(keep), "case %zu removed a file outside DIR", i);
        CHECK_MSG(path_exists(m5), "case %zu removed the checkpoint", i);
        sbuf_free(&o);
        free(j);
    }
    rm_rf(w);
    free(mp), free(m5), free(ck), free(keep), free(victim), free(d), free(w);
    return test_done();
}

/* --deterministic with a disk in use: the guest clock follows the host while
 * it waits for the disk (it raced through every wait: 142 s of guest uptime
 * in a 5 s run), the profile records that its run cannot be reproduced, and
 * `ffwd sample` says so at every point, or refuses without the landing check. */
static int t_unreproducible(void)
{
    char *w = make_temp_dir("/tmp", "ffwd-it-unrep-");
    char *prefix = xasprintf("%s/p", w), *bbv = xasprintf("%s/p.0.bb.gz", w), *out = xasprintf("%s/pts", w);
    struct sbuf o = {0};
    double t0 = now_sec();
    const char *pa[] = {"profile", "--out", prefix, "--interval", "50000000", "--deterministic", "--cmd",
                        "dd if=/dev/zero of=/f bs=1M count=20 conv=fsync 2>/dev/null; sync; rm /f; sync; "
                        "ffwd-matmul 128; ffwd-sort 50000; cat /proc/uptime",
                        "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
    double wall = now_sec() - t0;
    CHECK_STR_HAS(o.s, "ffwd: warning: --deterministic with a disk");
    char *rj = xasprintf("%s.run.json", prefix);
    json_t *run = json_load_file(rj, 0, NULL);
    json_t *g = json_object_get(run, "guest");
    CHECK_MSG(json_is_false(json_object_get(g, "reproducible")) &&
                  json_string_value(json_object_get(g, "unreproducible_why")) &&
                  strstr(json_string_value(json_object_get(g, "unreproducible_why")), "disk"),
              "%s does not say that its run cannot be reproduced", rj);
    /* the guest's clock: its uptime at the end is not far beyond the host's wall time */
    char *cl = xasprintf("%s.console.log", prefix), *log = file_text(cl);
    double up = -1; /* /proc/uptime's line: "UP IDLE" and nothing else */
    for (char *l = log; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        double a, b;
        char rest;
        if (sscanf(l, "%lf %lf%c", &a, &b, &rest) == 3 && (rest == '\n' || rest == '\r'))
            up = a;
    }
    CHECK_MSG(up > 0 && up < wall + 5, "guest uptime %.1f s after a run of %.1f s: the guest clock raced", up, wall);
    const char *ca[] = {"cluster", bbv, "--maxk", "3", NULL};
    CHECK_MSG(ffwd(&o, ca) == 0, "%s", o.s);
    const char *nc[] = {"sample", "--profile", prefix, "--out", out, "--no-landing-check", NULL};
    CHECK_MSG(ffwd(&o, nc) == 1 && strstr(o.s, "cannot be reproduced") && !path_exists(out),
              "sample --no-landing-check of an unreproducible full-system profile was not refused: %s", o.s);
    const char *sa[] = {"sample", "--profile", prefix, "--out", out, "--max-distance", "2", "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, sa) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "THE PROFILED RUN CANNOT BE REPRODUCED");
    size_t warned = 0;
    for (const char *p = o.s; (p = strstr(p, "FROM A RUN THAT CANNOT BE REPRODUCED")); p++)
        warned++;
    char *sj = xasprintf("%s/simpoints.json", out);
    json_t *man = json_load_file(sj, 0, NULL);
    json_t *pts = json_object_get(man, "points");
    CHECK_MSG(json_array_size(pts) >= 1 && warned == json_array_size(pts), "%zu points, %zu warned",
              json_array_size(pts), warned);
    for (size_t i = 0; i < json_array_size(pts); i++)
        CHECK(json_is_false(json_object_get(json_array_get(pts, i), "reproducible_run")));
    json_decref(man), json_decref(run);
    free(sj), free(cl), free(log), free(rj), free(prefix), free(bbv), free(out);
    sbuf_free(&o);
    rm_rf(w);
    free(w);
    return test_done();
}

/* A full-system profile (every instruction, kernel included) of a guest
 * that writes and reads its disk (O_DIRECT: each read waits for a
 * completion at a host-time moment), recorded with QEMU's record/replay:
 * `ffwd sample` replays it and stops at every point by QEMU's own
 * instruction count -- exactly where it asked, each point's landing distance
 * near zero (only the block QEMU cuts at the breakpoint differs). A record
 * with filters is refused; a replay whose command differs from the record's
 * is refused, naming the argument, with nothing taken. */
static int t_replay(void)
{
    char *w = make_temp_dir("/tmp", "ffwd-it-rrsample-");
    char *prefix = xasprintf("%s/p", w), *bbv = xasprintf("%s/p.0.bb.gz", w), *out = xasprintf("%s/pts", w);
    struct sbuf o = {0};
    const char *cmd = "dd if=/dev/urandom of=/root/f bs=64k count=64 2>/dev/null; sync; "
                      "dd if=/dev/vda of=/dev/null bs=4k count=40 iflag=direct 2>/dev/null; ffwd-matmul 120; "
                      "xz -3 -c /usr/bin/xz | wc -c; dd if=/root/f of=/dev/null bs=256k iflag=direct 2>/dev/null";
    const char *bad[] = {"profile", "--out", prefix, "--record", "--user", "--cmd", "true", NULL};
    CHECK_MSG(ffwd(&o, bad) == 2 && strstr(o.s, "--record"), "profile --record --user was not refused: %s", o.s);
    const char *pa[] = {"profile", "--out", prefix, "--interval", "20000000", "--record", "--cmd", cmd,
                        "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
    char *rj = xasprintf("%s.run.json", prefix), *rec = xasprintf("%s.rr", prefix);
    json_t *run = json_load_file(rj, 0, NULL);
    const char *rp = json_string_value(json_object_get(run, "record"));
    CHECK_MSG(rp && path_exists(rp) && json_is_true(json_object_get(json_object_get(run, "guest"), "reproducible")),
              "%s names no record, or does not call its run reproducible", rj);
    const char *ca[] = {"cluster", bbv, "--maxk", "6", NULL};
    CHECK_MSG(ffwd(&o, ca) == 0, "%s", o.s);
    const char *sa[] = {"sample", "--profile", prefix, "--out", out, "--warmup", "3000000", "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, sa) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "the rerun replays");
    CHECK_MSG(!strstr(o.s, "CANNOT BE REPRODUCED"), "a recorded profile was called unreproducible: %s", o.s);
    char *sj = xasprintf("%s/simpoints.json", out);
    json_t *man = json_load_file(sj, 0, NULL);
    json_t *pts = json_object_get(man, "points");
    CHECK_MSG(json_array_size(pts) >= 2, "%zu points", json_array_size(pts));
    for (size_t i = 0; i < json_array_size(pts); i++) {
        json_t *p = json_array_get(pts, i);
        json_int_t t = json_integer_value(json_object_get(p, "target")), r = json_integer_value(json_object_get(p, "reached"));
        double d = json_real_value(json_object_get(json_object_get(p, "landing"), "distance"));
        const char *by = json_string_value(json_object_get(p, "stopped_by"));
        CHECK_MSG(t > 0 && r == t && d >= 0 && d < 0.01 && by && !strcmp(by, "replay-break") &&
                      json_is_true(json_object_get(p, "reproducible_run")),
                  "point %zu: asked %lld, reached %lld, landing distance %f, stopped by %s", i, (long long)t,
                  (long long)r, d, by ? by : "-");
        char *ck = xasprintf("%s/%s/m5.cpt", out, json_string_value(json_object_get(p, "checkpoint")));
        CHECK_MSG(path_exists(ck), "%s missing", ck);
        free(ck);
    }
    /* the replay must be the record's: another command is refused, nothing taken */
    json_object_set_new(json_object_get(run, "guest"), "cmd", json_string("true"));
    CHECK(json_dump_file(run, rj, 0) == 0);
    char *out2 = xasprintf("%s/pts2", w);
    const char *sb[] = {"sample", "--profile", prefix, "--out", out2, NULL};
    CHECK_MSG(ffwd(&o, sb) != 0 && strstr(o.s, "differs from the record's"), "a replay of another command: %s", o.s);
    char *sj2 = xasprintf("%s/simpoints.json", out2);
    CHECK(!path_exists(sj2));
    json_decref(man), json_decref(run);
    free(sj), free(sj2), free(out2), free(rj), free(rec), free(prefix), free(bbv), free(out);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(w);
    free(w);
    return test_done();
}

/* Two vCPUs, the region pinned to vCPU 1: the profile says which vCPU ran
 * what it counted (run.json vcpus, busiest_vcpu), and `ffwd sample` without
 * --vcpu follows that vCPU (it followed vCPU 0, idle for the region). */
static int t_vcpus(void)
{
    char *w = make_temp_dir("/tmp", "ffwd-it-vcpus-");
    char *prefix = xasprintf("%s/p", w), *bbv = xasprintf("%s/p.1.bb.gz", w), *out = xasprintf("%s/pts", w);
    struct sbuf o = {0};
    const char *pa[] = {"profile", "--out", prefix, "--interval", "10000000", "--smp", "2", "--user", "--process",
                        "roi", "--cmd", "ffwd-guest roi -- ffwd-guest pin 1 -- ffwd-matmul 200", "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "vCPU 1 ran most of what was counted");
    char *rj = xasprintf("%s.run.json", prefix);
    json_t *run = json_load_file(rj, 0, NULL);
    json_t *v1 = json_array_get(json_object_get(run, "vcpus"), 1);
    CHECK_MSG(json_integer_value(json_object_get(run, "busiest_vcpu")) == 1 &&
                  json_real_value(json_object_get(v1, "share")) > 0.9,
              "%s: busiest vCPU %lld, vCPU 1's share %f", rj, (long long)json_integer_value(json_object_get(run, "busiest_vcpu")),
              json_real_value(json_object_get(v1, "share")));
    const char *ca[] = {"cluster", bbv, "--maxk", "3", NULL};
    CHECK_MSG(ffwd(&o, ca) == 0, "%s", o.s);
    const char *sa[] = {"sample", "--profile", prefix, "--out", out, "--warmup", "1000000", "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, sa) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "following vCPU 1");
    char *sj = xasprintf("%s/simpoints.json", out);
    json_t *man = json_load_file(sj, 0, NULL);
    CHECK_MSG(json_array_size(json_object_get(man, "points")) >= 1, "%s: no points", sj);
    json_decref(man), json_decref(run);
    free(sj), free(rj), free(prefix), free(bbv), free(out);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(w);
    free(w);
    return test_done();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "vcpus"))
        return t_vcpus();
    if (argc == 2 && !strcmp(argv[1], "replay"))
        return t_replay();
    if (argc == 2 && !strcmp(argv[1], "hostile"))
        return t_hostile();
    if (argc == 2 && !strcmp(argv[1], "unreproducible"))
        return t_unreproducible();
    if (argc != 2 || strcmp(argv[1], "flow"))
        return 2;
    char *dir = make_temp_dir("/tmp", "ffwd-it-sample-");
    char *prefix = xasprintf("%s/prof", dir), *bbv = xasprintf("%s.0.bb.gz", prefix);
    struct sbuf o = {0};

    /* 1. profile: ROI only, deterministic, no disk */
    const char *pa[] = {"profile", "--out", prefix, "--interval", "4000000", "--roi", "--model", "--deterministic",
                        "--append", "ffwd.root=none", "--cmd", WORKLOAD, "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
    struct sample_positions pos;
    char *pp = xasprintf("%s.positions", prefix);
    CHECK(sample_positions_read(pp, &pos) == 0);
    CHECK(pos.nvcpus == 1 && pos.n[0] >= 10);
    /* the ROI starts after the boot (> 1e9 instructions); each interval start
     * is INTERVAL after the previous one, within a block (minus what blocks
     * cut short by an exception executed less than the BBV counts them) -- in ROI mode with all modes
     * counted, every instruction of the region is in the BBV */
    CHECK_MSG(pos.n[0] && pos.all[0][0] > 1000000000ULL, "ROI starts at %llu",
              pos.n[0] ? (unsigned long long)pos.all[0][0] : 0ULL);
    for (size_t k = 1; k < pos.n[0]; k++) {
        uint64_t d = pos.all[0][k] - pos.all[0][k - 1];
        CHECK_MSG(d + INTERVAL / 200 >= INTERVAL && d <= INTERVAL + 4096, "interval %zu spans %llu instructions", k - 1,
                  (unsigned long long)d);
    }
    /* --model: the memory plugin's rows are the BBV's intervals (same run, same rule) */
    char *mc = xasprintf("%s.0.model.csv", prefix), *bbt = read_file_gz(bbv, NULL), *mct = read_file(mc, NULL);
    size_t rows = 0, aligned = 0, lines = 0;
    for (char *s1 = NULL, *l = mct ? strtok_r(mct, "\n", &s1) : NULL; l; l = strtok_r(NULL, "\n", &s1)) {
        unsigned long long iv, st, n;
        if (sscanf(l, "%llu,%llu,%llu", &iv, &st, &n) != 3)
            continue;
        rows++;
        /* the BBV line of the same interval: the sum of its counts */
        unsigned long long tot = 0;
        size_t k = 0;
        for (char *p = bbt; p && *p; k++) {
            char *e = strchr(p, '\n');
            if (k == iv)
                for (char *q = strchr(p, ':'); q && (!e || q < e);) {
                    unsigned long long id, c;
                    int used = 0;
                    if (sscanf(q, ":%llu:%llu%n", &id, &c, &used) != 2)
                        break;
                    tot += c;
                    q = strchr(q + used, ':');
                }
            p = e ? e + 1 : NULL;
        }
        lines = k;
        /* same intervals, counted exactly: the positions' counted spans */
        uint64_t span = iv + 1 < pos.n[0] ? pos.counted[0][iv + 1] - pos.counted[0][iv]
                                          : (pos.has_end[0] ? pos.end_counted[0] - pos.counted[0][iv] : 0);
        /* row 0 starts at the region's first instruction, the BBV at the
         * first whole block after it (the hint's block runs on) */
        if (iv == 0 && pos.n[0] > 1 && st + n == pos.counted[0][1] && st <= pos.counted[0][0])
            aligned++;
        else if (iv < pos.n[0] && st == pos.counted[0][iv] && n == span && tot >= n)
            aligned++;
        else
            printf("model row %llu: start %llu, %llu insns; positions: %llu, span %llu; BBV %llu\n", iv, st, n,
                   iv < pos.n[0] ? (unsigned long long)pos.counted[0][iv] : 0ULL, (unsigned long long)span, tot);
    }
    CHECK_MSG(rows == pos.n[0] && aligned == rows, "%zu model rows, %zu BBV lines, %zu aligned with the positions",
              rows, lines, aligned);
    free(mc), free(bbt), free(mct);
    char *rj = xasprintf("%s.run.json", prefix);
    json_t *run = json_load_file(rj, 0, NULL);
    CHECK(run && !strcmp(json_string_value(json_object_get(run, "format")), "ffwd-profile"));
    CHECK(json_integer_value(json_object_get(run, "interval")) == (json_int_t)INTERVAL);
    json_decref(run);

    /* 2. cluster: three programs, at least three phases */
    sbuf_free(&o);
    const char *ca[] = {"cluster", bbv, "--maxk", "8", NULL};
    CHECK_MSG(ffwd(&o, ca) == 0, "%s", o.s);
    char *sp = xasprintf("%s.0.simpoints", prefix), *wp = xasprintf("%s.0.weights", prefix);
    struct simpoint_point *pts = NULL;
    size_t np = 0;
    CHECK(simpoint_read(sp, wp, &pts, &np) == 0);
    CHECK_MSG(np >= 3, "%zu simulation points for three programs", np);
    char *svg = xasprintf("%s.0.svg", prefix), *labels = xasprintf("%s.0.labels", prefix);
    CHECK(path_exists(svg) && path_exists(labels));

    /* 3. sample: one rerun, one checkpoint per point */
    sbuf_free(&o);
    char *out = xasprintf("%s/ckpts", dir);
    const char *sa[] = {"sample", "--profile", prefix, "--warmup", "1000000", "--out", out, "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, sa) == 0, "%s", o.s);
    char *mj = xasprintf("%s/simpoints.json", out);
    json_t *man = json_load_file(mj, 0, NULL);
    json_t *list = json_object_get(man, "points");
    CHECK_MSG(json_array_size(list) == np, "%zu points in simpoints.json, %zu chosen", json_array_size(list), np);
    regex_t re;
    regcomp(&re, "^cpt\\.simpoint_[0-9]{2}_inst_[0-9]+_weight_[0-9.]+_interval_[0-9]+_warmup_[0-9]+$", REG_EXTENDED);
    uint64_t prev = 0;
    double wsum = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *p = json_array_get(list, i);
        uint64_t start = (uint64_t)json_integer_value(json_object_get(p, "interval_start"));
        uint64_t target = (uint64_t)json_integer_value(json_object_get(p, "target"));
        uint64_t reached = (uint64_t)json_integer_value(json_object_get(p, "reached"));
        size_t iv = (size_t)json_integer_value(json_object_get(p, "interval"));
        const char *name = json_string_value(json_object_get(p, "checkpoint"));
        wsum += json_number_value(json_object_get(p, "weight"));
        /* counts are what the profile counts (--roi): the region's instructions */
        CHECK(iv < pos.n[0] && start == pos.counted[0][iv]);
        /* a --roi profile counts the kernel too: stopped by count, not at
         * landmarks (an interrupt more or less moves the count by hundreds) */
        CHECK(target == (start > 1000000 ? start - 1000000 : 0));
        CHECK(json_object_get(p, "landmark") == NULL);
        /* the trigger's documented bound: within the block that reaches the count */
        CHECK_MSG(reached >= target && reached - target < 1024, "point %zu: asked %llu, reached %llu", i,
                  (unsigned long long)target, (unsigned long long)reached);
        /* every point carries its proof: the rerun's interval is the profile's */
        double dist = json_number_value(json_object_get(json_object_get(p, "landing"), "distance"));
        CHECK_MSG(json_is_number(json_object_get(json_object_get(p, "landing"), "distance")) && dist <= 0.1,
                  "point %zu: landing distance %f", i, dist);
        json_t *win = json_object_get(p, "window");
        /* the last interval may be short */
        if (!(iv + 1 == pos.n[0] || json_integer_value(json_object_get(win, "measure_insts")) + 4096 >= (json_int_t)INTERVAL)) {
            char *js = json_dumps(win, JSON_COMPACT); /* freed: a failure must not add a leak report */
            CHECK_MSG(0, "point %zu (interval %zu of %zu): window %s", i, iv, pos.n[0], js);
            free(js);
        }
        CHECK(i == 0 || target > prev); /* indexed in instruction order */
        prev = target;
        CHECK_MSG(name && regexec(&re, name, 0, NULL, 0) == 0, "checkpoint name '%s'", name ? name : "");
        char *cpt = xasprintf("%s/%s/m5.cpt", out, name ? name : "?");
        CHECK_MSG(path_exists(cpt), "%s missing", cpt);
        free(cpt);
    }
    regfree(&re);
    CHECK(fabs(wsum - 1.0) < 1e-3);
    char *caps = xasprintf("%s/captures", out);
    CHECK(!path_exists(caps)); /* converted, then dropped */
    json_decref(man);

    /* 4. errors: the output exists; a point beyond the profile */
    sbuf_free(&o);
    CHECK(ffwd(&o, sa) != 0);
    CHECK_STR_HAS(o.s, "already holds a complete sample");
    char *bad_sp = xasprintf("%s/bad.simpoints", dir), *bad_w = xasprintf("%s/bad.weights", dir);
    write_file_atomic(bad_sp, "99999 0\n", 8, 0644);
    write_file_atomic(bad_w, "1 0\n", 4, 0644);
    char *out2 = xasprintf("%s/ck2", dir);
    const char *sb[] = {"sample", "--profile", prefix, "--simpoints", bad_sp, "--weights", bad_w, "--out", out2, NULL};
    sbuf_free(&o);
    CHECK(ffwd(&o, sb) != 0);
    CHECK_STR_HAS(o.s, "bad.simpoints: interval 99999");
    CHECK(!path_exists(out2));
    const char *sc[] = {"cluster", "/nonexistent.bb.gz", NULL};
    sbuf_free(&o);
    CHECK(ffwd(&o, sc) != 0);
    CHECK_STR_HAS(o.s, "/nonexistent.bb.gz");

    printf("sample: %zu intervals profiled, %zu simulation points captured in one rerun\n", pos.n[0], np);
    sbuf_free(&o);
    sample_positions_free(&pos);
    free(pts);
    rm_rf(dir);
    free(dir);
    free(prefix);
    free(bbv);
    free(pp);
    free(rj);
    free(sp);
    free(wp);
    free(svg);
    free(labels);
    free(out);
    free(mj);
    free(caps);
    free(bad_sp);
    free(bad_w);
    free(out2);
    return test_done();
}
