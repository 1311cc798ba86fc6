/*
 * Simulation points that land where the profile meant, on a real workload:
 * Debian's xz, bzip2, lua5.4 and sqlite3 on the guest's root disk, reading an
 * input from the disk and writing their output (and a database) to it, with
 * the kernel's own noise (page cache, interrupts, timers) -- no
 * --deterministic. profile -> cluster -> sample, and every point must pass
 * the landing check (the rerun's interval is the profile's, by code).
 *
 * Cases:
 *   process   --user --process roi, the program marked by `ffwd-guest roi --`
 *             (it and its children: sh -> xz, bzip2, lua, sqlite3); a second
 *             rerun captures the same points; a failure mid-sample keeps
 *             what was taken and the same command resumes
 *   user      --user (every user process)
 *   kill      `ffwd sample` killed (SIGKILL) while it converts: the points
 *             taken stay, nothing looks complete, the same command resumes
 *   regress   the cases that went wrong silently: `ffwd-guest roi-begin` as a
 *             separate short process under --process roi (warned now); a
 *             rebuilt disk (refused); the same output folder again (refused)
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <stdbool.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>

#include "sample/landmarks.h"
#include "sample/sample.h"
#include "sample/simpoint.h"
#include "tests/integration/helpers.h"

#define INTERVAL "10000000"
#define PROGRAMS                                                                                                   \
    "/usr/bin/xz -6 -T1 -c /root/in.txt > /root/o.xz; bzip2 -9 -c /root/in.txt > /root/o.bz2; "                   \
    "date -s @1735689600 > /dev/null; "                                                                         \
    "lua5.4 -e \\\"local s=0 for i=1,300000 do s=s+(i*i)%7 end print('lua', s)\\\"; "                              \
    "sqlite3 /root/t.db \\\"create table t(a); with recursive c(x) as (select 1 union all select x+1 from c "      \
    "where x<20000) insert into t select x*7%1000 from c; select 'sql', sum(a) from t;\\\""
/* The programs run the same instructions in the profile and in every rerun:
 * ASLR off (Lua 5.4 seeds its string hash with addresses and time(NULL)), the
 * clock set right before lua so its time(NULL) is the same second (as `ffwd
 * suite` does). A point's landmark promises the same run of a block; a program
 * that does something else in the rerun cannot keep it. */
#define SETUP "echo 0 > /proc/sys/kernel/randomize_va_space; head -c 300000 /data/input.txt > /root/in.txt; "
#define MARKED SETUP "ffwd-guest roi -- sh -c \"" PROGRAMS "\"; md5sum /root/o.xz /root/o.bz2"
#define UNMARKED SETUP "sh -c \"" PROGRAMS "\"; md5sum /root/o.xz /root/o.bz2"

static json_t *points_of(const char *dir)
{
    char *mp = xasprintf("%s/simpoints.json", dir);
    json_t *m = json_load_file(mp, 0, NULL);
    free(mp);
    json_t *p = m ? json_incref(json_object_get(m, "points")) : NULL;
    json_decref(m);
    return p;
}

/* profile (with --user, and --process roi if `process`) -> cluster; returns
 * the number of simulation points (their intervals in *pts if not NULL) */
static size_t profile_and_cluster(const char *prefix, bool process, const char *cmd, struct simpoint_point **pts)
{
    struct sbuf o = {0};
    const char *pa[] = {"profile", "--out", prefix, "--interval", INTERVAL, "--user", "--cmd", cmd,
                        "--timeout", "300", NULL, NULL, NULL};
    if (process)
        pa[10] = "--process", pa[11] = "roi";
    CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
    CHECK_MSG(strstr(o.s, "counted only") == NULL, "a real region warned as tiny: %s", o.s);
    char *bbv = xasprintf("%s.0.bb.gz", prefix);
    sbuf_free(&o);
    const char *ca[] = {"cluster", bbv, "--maxk", "8", NULL};
    CHECK_MSG(ffwd(&o, ca) == 0, "%s", o.s);
    char *sp = xasprintf("%s.0.simpoints", prefix), *wp = xasprintf("%s.0.weights", prefix);
    struct simpoint_point *p = NULL;
    size_t np = 0;
    CHECK(simpoint_read(sp, wp, &p, &np) == 0);
    if (pts)
        *pts = p;
    else
        free(p);
    free(sp), free(wp), free(bbv);
    sbuf_free(&o);
    return np;
}

/* Every point: landed (distance small), at the profiled counted start, with
 * a gem5 window of about one interval. Prints the distances. */
static void check_points(const char *label, json_t *pts, size_t np, const struct sample_positions *pos)
{
    CHECK_MSG(json_array_size(pts) == np, "%s: %zu points in simpoints.json, %zu chosen", label,
              json_array_size(pts), np);
    double worst = 0;
    printf("%s: landing distances:", label);
    for (size_t i = 0; i < json_array_size(pts); i++) {
        json_t *p = json_array_get(pts, i);
        json_t *d = json_object_get(json_object_get(p, "landing"), "distance");
        size_t iv = (size_t)json_integer_value(json_object_get(p, "interval"));
        uint64_t start = (uint64_t)json_integer_value(json_object_get(p, "interval_start"));
        CHECK_MSG(json_is_number(d), "%s: point %zu has no landing distance", label, i);
        double dist = json_number_value(d);
        printf(" %.5f", dist);
        if (dist > worst)
            worst = dist;
        /* the proof is real: same code in the same proportions */
        CHECK_MSG(dist <= 0.02, "%s: point %zu (interval %zu) landed %.4f away", label, i, iv, dist);
        CHECK(iv < pos->n[0] && start == pos->counted[0][iv]);
        json_t *w = json_object_get(p, "window");
        json_int_t m = json_integer_value(json_object_get(w, "measure_insts"));
        /* user instructions of one interval, plus the kernel's share in it */
        CHECK_MSG(iv + 1 == pos->n[0] || m >= 10000000 - 4096, "%s: point %zu: gem5 window of %lld", label, i,
                  (long long)m);
        CHECK(json_integer_value(json_object_get(p, "el")) >= 0);
    }
    printf("  (worst %.5f)\n", worst);
}

static int t_process(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-land-");
    char *prefix = xasprintf("%s/p", dir), *a = xasprintf("%s/a", dir), *b = xasprintf("%s/b", dir);
    struct simpoint_point *spts = NULL;
    size_t np = profile_and_cluster(prefix, true, MARKED, &spts);
    CHECK(np >= 3);
    struct sbuf o = {0};
    struct sample_positions pos;
    char *pp = xasprintf("%s.positions", prefix);
    CHECK(sample_positions_read(pp, &pos) == 0);
    /* xz + bzip2 + lua + sqlite3 of this size: ~800 M user instructions */
    CHECK_MSG(pos.n[0] >= 40, "%zu intervals", pos.n[0]);
    /* the region starts at its first instruction: counted ~0, long after boot */
    CHECK(pos.counted[0][0] < 64 && pos.self[0][0] > 500000000ULL);

    /* two independent reruns */
    const char *sa[] = {"sample", "--profile", prefix, "--warmup", "1000000", "--out", a, "--timeout", "300", NULL};
    const char *sb[] = {"sample", "--profile", prefix, "--warmup", "1000000", "--out", b, "--timeout", "300", NULL};
    sbuf_free(&o);
    CHECK_MSG(ffwd(&o, sa) == 0, "%s", o.s);
    sbuf_free(&o);
    CHECK_MSG(ffwd(&o, sb) == 0, "%s", o.s);
    json_t *pa1 = points_of(a), *pb1 = points_of(b);
    check_points("process, rerun 1", pa1, np, &pos);
    check_points("process, rerun 2", pb1, np, &pos);
    size_t same_pc = 0, same_el = 0, same_user_pc = 0, irq = 0;
    for (size_t i = 0; i < json_array_size(pa1) && i < json_array_size(pb1); i++) {
        json_t *x = json_array_get(pa1, i), *y = json_array_get(pb1, i);
        CHECK(json_integer_value(json_object_get(x, "interval")) == json_integer_value(json_object_get(y, "interval")));
        uint64_t rx = (uint64_t)json_integer_value(json_object_get(x, "reached"));
        uint64_t ry = (uint64_t)json_integer_value(json_object_get(y, "reached"));
        /* The same instruction: both reruns stop where the profile's landmark
         * block ends. xz and bzip2 run the same instructions every time, so
         * their counts are equal too; lua seeds its string hashes with
         * time(NULL) and sqlite3 reads the clock and /dev/urandom, so there
         * the count of the same instruction differs by a few hundred between
         * runs -- within the landmark's window (the profile's count of the
         * block, half its gap either way: armed_at .. 2 x target - armed_at),
         * which still finds the same block. Each rerun stops where that
         * block ends: inside the window (armed_at .. gives_up_at), plus the
         * block (at most 512). The two reruns may then be up to the window's
         * width apart (CI saw 2,492 in a window of +-1,749). */
        json_t *lmx = json_object_get(x, "landmark");
        uint64_t armed = (uint64_t)json_integer_value(json_object_get(lmx, "armed_at"));
        uint64_t hi = (uint64_t)json_integer_value(json_object_get(lmx, "gives_up_at")) + 512;
        CHECK_MSG(json_object_get(x, "landmark") && rx >= armed && ry >= armed && rx <= hi && ry <= hi,
                  "point %zu: reached %llu and %llu (the landmark's window: %llu .. %llu)", i, (unsigned long long)rx,
                  (unsigned long long)ry, (unsigned long long)armed, (unsigned long long)hi);
        CHECK_MSG(json_equal(json_object_get(x, "el"), json_object_get(y, "el")) &&
                      json_equal(json_object_get(x, "pc"), json_object_get(y, "pc")),
                  "point %zu: EL/PC %lld/%s and %lld/%s", i, json_integer_value(json_object_get(x, "el")),
                  json_string_value(json_object_get(x, "pc")), json_integer_value(json_object_get(y, "el")),
                  json_string_value(json_object_get(y, "pc")));
        same_el += json_equal(json_object_get(x, "el"), json_object_get(y, "el"));
        same_pc += json_equal(json_object_get(x, "pc"), json_object_get(y, "pc"));
        json_t *ux = json_object_get(x, "user_pc") ?: json_object_get(x, "pc");
        json_t *uy = json_object_get(y, "user_pc") ?: json_object_get(y, "pc");
        same_user_pc += json_equal(ux, uy);
        irq += (json_object_get(x, "entry") != NULL) + (json_object_get(y, "entry") != NULL);
        /* an interrupt taken while the trigger held the vCPU is not where the
         * profile meant: the run stops at the next counted block instead */
        for (int k = 0; k < 2; k++) {
            const char *e = json_string_value(json_object_get(k ? y : x, "entry"));
            CHECK_MSG(!e || strcmp(e, "irq-from-el0"), "rerun %d, point %zu: stopped at an interrupt entry from user mode",
                      k + 1, i);
        }
        printf("point %zu: reached %llu / %llu, EL %lld / %lld, PC %s / %s, user PC %s / %s\n", i,
               (unsigned long long)rx, (unsigned long long)ry, json_integer_value(json_object_get(x, "el")),
               json_integer_value(json_object_get(y, "el")), json_string_value(json_object_get(x, "pc")),
               json_string_value(json_object_get(y, "pc")), json_string_value(ux), json_string_value(uy));
    }
    printf("process: two reruns: %zu of %zu points at the same EL, %zu at the same PC, %zu at the same user PC; "
           "%zu of %zu stops at an exception entry from EL0\n",
           same_el, json_array_size(pa1), same_pc, same_user_pc, irq, 2 * json_array_size(pa1));

    /* a failure mid-sample keeps what was taken; the same command resumes.
     * The failure: a point the rerun cannot reach (a positions file whose
     * start of the last point's interval lies beyond the run). */
    char *c = xasprintf("%s/c", dir), *pp2 = xasprintf("%s/q.positions", dir);
    char *q = xasprintf("%s/q", dir);
    const char *ext[] = {".run.json", ".blocks", ".0.bb.gz", ".0.simpoints", ".0.weights"};
    for (size_t k = 0; k < 5; k++) {
        char *from = xasprintf("%s%s", prefix, ext[k]), *to = xasprintf("%s%s", q, ext[k]);
        CHECK(link(from, to) == 0);
        free(from), free(to);
    }
    size_t last = 0;
    for (size_t k = 0; k < np; k++)
        if (spts[k].interval > last)
            last = spts[k].interval;
    char *text = file_text(pp);
    struct sbuf edited = {0};
    for (char *s1 = NULL, *l = strtok_r(text, "\n", &s1); l; l = strtok_r(NULL, "\n", &s1)) {
        unsigned v;
        unsigned long long iv, all, self, cnt;
        if (l[0] != '#' && strncmp(l, "end", 3) && sscanf(l, "%u %llu %llu %llu %llu", &v, &iv, &all, &self, &cnt) == 5 &&
            iv == last)
            sbuf_addf(&edited, "%u %llu %llu %llu %llu\n", v, iv, all, self, cnt + 40000000000ULL);
        else
            sbuf_addf(&edited, "%s\n", l);
    }
    write_file_atomic(pp2, edited.s, edited.len, 0644);
    const char *sc[] = {"sample", "--profile", q, "--warmup", "1000000", "--out", c, "--keep-captures",
                        "--timeout", "300", NULL};
    sbuf_free(&o);
    CHECK(ffwd(&o, sc) != 0);
    CHECK_STR_HAS(o.s, "was never reached");
    CHECK_STR_HAS(o.s, "simulation points taken");
    char *mc = xasprintf("%s/simpoints.json", c), *caps = xasprintf("%s/captures", c);
    CHECK(!path_exists(mc)); /* nothing incomplete looks complete */
    CHECK(path_is_dir(caps)); /* --keep-captures kept them */
    size_t kept = 0;
    DIR *dd = opendir(c);
    for (struct dirent *e; dd && (e = readdir(dd));)
        if (!strncmp(e->d_name, "cpt.simpoint_", 13)) {
            char *rp = xasprintf("%s/%s/ffwd-point.json", c, e->d_name);
            kept += path_exists(rp);
            free(rp);
        }
    if (dd)
        closedir(dd);
    CHECK_MSG(kept == np - 1, "%zu of %zu points kept after the failure", kept, np - 1);
    /* the profile put right: the same command takes only the missing point */
    unlink(pp2);
    CHECK(link(pp, pp2) == 0);
    sbuf_free(&o);
    CHECK_MSG(ffwd(&o, sc) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "resuming");
    CHECK_STR_HAS(o.s, "with 1 capture points");
    json_t *pc1 = points_of(c);
    check_points("process, resumed", pc1, np, &pos);
    sbuf_free(&o);
    CHECK(ffwd(&o, sc) != 0); /* complete now: refused, not redone */
    CHECK_STR_HAS(o.s, "already holds a complete sample");

    json_decref(pa1), json_decref(pb1), json_decref(pc1);
    free(c), free(pp2), free(q), free(text), free(mc), free(caps);
    sbuf_free(&edited);
    sbuf_free(&o);
    free(spts), free(pp);
    sample_positions_free(&pos);
    if (!t_fail)
        rm_rf(dir);
    free(prefix), free(a), free(b), free(dir);
    return test_done();
}

static int t_user(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-landu-");
    char *prefix = xasprintf("%s/p", dir), *a = xasprintf("%s/a", dir);
    size_t np = profile_and_cluster(prefix, false, UNMARKED, NULL);
    struct sample_positions pos;
    char *pp = xasprintf("%s.positions", prefix);
    CHECK(sample_positions_read(pp, &pos) == 0);
    struct sbuf o = {0};
    const char *sa[] = {"sample", "--profile", prefix, "--warmup", "1000000", "--out", a, "--timeout", "300", NULL};
    /* the trigger holds each vCPU 20 ms before ffwd asks QEMU to stop (the
     * guest's clock runs on): the timer's interrupt is pending at every stop */
    setenv("FFWD_TRIGGER_HOLD_MS", "20", 1);
    CHECK_MSG(ffwd(&o, sa) == 0, "%s", o.s);
    unsetenv("FFWD_TRIGGER_HOLD_MS");
    json_t *p = points_of(a);
    check_points("user", p, np, &pos);
    /* ... and no point is that interrupt's entry: it is captured right
     * before it, at the user instruction the count meant, the interrupt
     * pending (it was taken, nothing of its handler ran) */
    size_t undone = 0, weak_found = 0;
    for (size_t i = 0; i < json_array_size(p); i++) {
        json_t *pt = json_array_get(p, i);
        const char *e = json_string_value(json_object_get(pt, "entry"));
        CHECK_MSG(!e || strcmp(e, "irq-from-el0"), "point %zu: stopped at an interrupt entry from user mode", i);
        if (json_object_get(pt, "interrupt_pending")) {
            undone++;
            CHECK(json_integer_value(json_object_get(pt, "el")) == 0);
            json_t *lm = json_object_get(pt, "landmark");
            /* a landmark whose P recurs every few instructions (a tight loop: its window, half P's gap
             * either way, under FFWD_LANDMARK_MIN_GAP wide) is taken only where no stronger one is
             * within a step, and promises no exact successor: a rerun whose loop runs differently
             * leaves it elsewhere (seen: P 0xaaaaaaabcd14 with a gap of 29, stopped at the loop's other
             * exit, landing distance 3.8e-6). Only a strong landmark must stop at its code. */
            int64_t width = json_integer_value(json_object_get(lm, "gives_up_at")) -
                            json_integer_value(json_object_get(lm, "armed_at"));
            bool strong = width >= (int64_t)FFWD_LANDMARK_MIN_GAP;
            if (lm && !strcmp(json_string_value(json_object_get(lm, "found")) ?: "", "block") && !strong)
                weak_found++;
            if (lm && !strcmp(json_string_value(json_object_get(lm, "found")) ?: "", "block") && strong) {
                char *js = json_dumps(pt, JSON_COMPACT);
                /* the same code: at expected_pc, or at its offset in another mapping of the same page
                 * (a shared library's block translated in another process: sample.c) */
                CHECK_MSG(json_is_true(json_object_get(lm, "at_expected_code")), "point %zu: %s", i, js);
                free(js);
            }
        }
    }
    printf("user: %zu of %zu points captured right before an interrupt taken while the vCPU was held (%zu found "
           "by a tight loop's landmark: not checked for their code)\n",
           undone, json_array_size(p), weak_found);
    CHECK_MSG(undone > 0, "no stop met the held vCPU's interrupt: the hold did not work");
    json_decref(p);
    sample_positions_free(&pos);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(pp), free(prefix), free(a), free(dir);
    return test_done();
}

/* Two profiles of a program that runs the same instructions every time
 * (xz) count them the same: identical positions and landmarks. Before, the
 * kernel's memset counted as user code (a block translated at its physical
 * address in early boot) and the counts drifted from the first 100 k. */
static void same_counts_twice(const char *dir)
{
    char *p[2];
    for (int k = 0; k < 2; k++) {
        p[k] = xasprintf("%s/twice%d", dir, k);
        struct sbuf o = {0};
        const char *pa[] = {"profile", "--out", p[k], "--interval", INTERVAL, "--user", "--process", "roi", "--cmd",
                            SETUP "ffwd-guest roi -- sh -c \"/usr/bin/xz -6 -T1 -c /root/in.txt > /root/o.xz\"",
                            "--timeout", "300", NULL};
        CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
        sbuf_free(&o);
    }
    const char *ext[] = {".landmarks", ".positions"};
    for (int e = 0; e < 2; e++) {
        char *a = xasprintf("%s%s", p[0], ext[e]), *b = xasprintf("%s%s", p[1], ext[e]);
        char *ta = file_text(a), *tb = file_text(b);
        size_t lines = 0, same = 0;
        /* positions: the counted column only (the all-instruction ones include the kernel's) */
        char *sa = NULL, *sb = NULL;
        for (char *la = strtok_r(ta, "\n", &sa), *lb = strtok_r(tb, "\n", &sb); la && lb;
             la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
            if (la[0] == '#')
                continue;
            lines++;
            if (e == 0)
                same += !strcmp(la, lb);
            else {
                const char *ca = strrchr(la, ' '), *cb = strrchr(lb, ' ');
                same += ca && cb && !strcmp(ca, cb);
            }
        }
        printf("twice: %s: %zu of %zu lines the same\n", ext[e], same, lines);
        CHECK_MSG(lines > 10 && same == lines, "%s: %zu of %zu lines the same", ext[e], same, lines);
        free(a), free(b), free(ta), free(tb);
    }
    free(p[0]), free(p[1]);
}

static int t_regress(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-landr-");
    char *prefix = xasprintf("%s/p", dir);
    struct sbuf o = {0};
    same_counts_twice(dir);
    /* README-style marker as its own process: process=roi followed a task of
     * ~300 k instructions silently; now it says so */
    const char *pa[] = {"profile", "--out", prefix, "--interval", "1000000", "--process", "roi", "--cmd",
                        SETUP "ffwd-guest roi-begin; /usr/bin/xz -6 -T1 -c /root/in.txt > /root/o.xz", "--timeout",
                        "300", NULL};
    CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "counted only");
    CHECK_STR_HAS(o.s, "ffwd-guest roi -- CMD");
    /* one overwrite rule: an earlier result is replaced only with --force */
    char *rjs = xasprintf("%s.run.json", prefix), *before = file_text(rjs);
    sbuf_free(&o);
    CHECK(ffwd(&o, pa) != 0);
    CHECK_STR_HAS(o.s, "use --force");
    char *after = file_text(rjs);
    CHECK(before && after && !strcmp(before, after)); /* untouched */
    free(rjs), free(before), free(after);
    /* a rebuilt disk: the profile's checksum no longer matches */
    char *rj = xasprintf("%s.run.json", prefix);
    json_t *run = json_load_file(rj, 0, NULL);
    CHECK(run && json_string_value(json_object_get(json_object_get(run, "guest"), "disk_sha256")));
    const char *disk = json_string_value(json_object_get(json_object_get(run, "guest"), "disk"));
    CHECK(disk && disk[0] == '/'); /* absolute: a rerun from elsewhere finds it */
    json_object_set_new(json_object_get(run, "guest"), "disk_sha256",
                        json_string("0000000000000000000000000000000000000000000000000000000000000000"));
    CHECK(json_dump_file(run, rj, 0) == 0);
    const char *ca[] = {"cluster", NULL, "--maxk", "2", NULL};
    char *bbv = xasprintf("%s.0.bb.gz", prefix), *out = xasprintf("%s/ck", dir);
    ca[1] = bbv;
    sbuf_free(&o);
    CHECK_MSG(ffwd(&o, ca) == 0, "%s", o.s);
    sbuf_free(&o);
    CHECK(ffwd(&o, ca) != 0); /* the clustering exists */
    CHECK_STR_HAS(o.s, "use --force");
    const char *cf[] = {"cluster", bbv, "--maxk", "2", "--force", NULL};
    sbuf_free(&o);
    CHECK_MSG(ffwd(&o, cf) == 0, "%s", o.s);
    const char *sa[] = {"sample", "--profile", prefix, "--out", out, NULL};
    sbuf_free(&o);
    CHECK(ffwd(&o, sa) != 0);
    CHECK_STR_HAS(o.s, "changed since the profile");
    CHECK(!path_exists(out));
    json_decref(run);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(rj), free(bbv), free(out), free(prefix), free(dir);
    return test_done();
}

static size_t count_records(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (!strncmp(e->d_name, "cpt.simpoint_", 13)) {
            char *rp = xasprintf("%s/%s/ffwd-point.json", dir, e->d_name);
            n += path_exists(rp);
            free(rp);
        }
    if (d)
        closedir(d);
    return n;
}

static int t_kill(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-landk-");
    char *prefix = xasprintf("%s/p", dir), *out = xasprintf("%s/ck", dir);
    size_t np = profile_and_cluster(prefix, true,
                                    SETUP "ffwd-guest roi -- sh -c \"/usr/bin/xz -6 -T1 -c /root/in.txt > /root/o.xz; "
                                          "bzip2 -9 -c /root/in.txt > /root/o.bz2\"",
                                    NULL);
    CHECK(np >= 2);
    char *argv[] = {FFWD_BIN, "sample", "--profile", prefix, "--out", out, "--warmup", "100000", NULL};
    pid_t pid = ffwd_bg(argv);
    double t0 = now_sec();
    while (count_records(out) == 0 && now_sec() - t0 < 300)
        usleep(20000);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    char *mp = xasprintf("%s/simpoints.json", out);
    size_t kept = count_records(out);
    printf("kill: %zu of %zu points taken when killed\n", kept, np);
    CHECK(kept >= 1);
    if (kept < np)
        CHECK(!path_exists(mp)); /* nothing incomplete looks complete */
    struct sbuf o = {0};
    const char *sa[] = {"sample", "--profile", prefix, "--out", out, "--warmup", "100000", NULL};
    int rc = ffwd(&o, sa);
    if (kept < np) {
        CHECK_MSG(rc == 0, "%s", o.s);
        CHECK_STR_HAS(o.s, "resuming");
    }
    json_t *p = points_of(out);
    CHECK_MSG(json_array_size(p) == np, "%zu points after resuming, %zu chosen", json_array_size(p), np);
    json_decref(p);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(mp), free(prefix), free(out), free(dir);
    return test_done();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "kill"))
        return t_kill();
    if (argc == 2 && !strcmp(argv[1], "process"))
        return t_process();
    if (argc == 2 && !strcmp(argv[1], "user"))
        return t_user();
    if (argc == 2 && !strcmp(argv[1], "regress"))
        return t_regress();
    return 2;
}
