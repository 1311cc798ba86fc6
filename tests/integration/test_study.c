/*
 * test_study.c -- `ffwd study` on real programs of the built-in suite.
 *
 *   qemu    xz and lua at the test size, without gem5, both at once (runner
 *           tasks, --parallel 2): profile -> cluster -> sample for each, every point landing (distance within the bound,
 *           as sample measured it), outputs checked against the suite, the
 *           report (JSON and HTML: a phase plot per benchmark); the same
 *           command again does nothing twice (every stage "done earlier",
 *           the stage results untouched); another interval is refused, not
 *           resumed from the old results
 *   kill    the study killed (its whole process group, as ^C does) in the
 *           middle of a stage, then the same command: it finishes, and what
 *           was done before the kill is kept as it was
 *   gem5    (GEM5=path, else SKIPPED) a small suite of the test's own, with
 *           --gem5 --full: every point measured in gem5 O3, the weighted CPI
 *           against the whole region run in gem5, the report's error equal
 *           to the one computed here from the stage results
 *   browser (chromium, else SKIPPED) report.html in headless chromium: it
 *           renders, every plot is there, nothing on the console
 */
#define _GNU_SOURCE
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sample/sample.h"
#include "helpers.h"

static json_t *load(const char *dir, const char *rel)
{
    char *p = xasprintf("%s/%s", dir, rel);
    json_t *j = json_load_file(p, 0, NULL);
    CHECK_MSG(j != NULL, "%s: missing or not JSON", p);
    free(p);
    return j;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* What the report says of a benchmark agrees with its stage results. */
static void check_bench(const char *out, json_t *b)
{
    const char *name = json_string_value(json_object_get(b, "name"));
    char *bdir = xasprintf("%s/%s", out, name);
    json_t *smp = load(bdir, "sample.json"), *cl = load(bdir, "cluster.json");
    CHECK_MSG(!strcmp(json_string_value(json_object_get(b, "status")) ?: "", "done"), "%s: %s", name,
              json_string_value(json_object_get(b, "status")));
    CHECK_MSG(json_is_true(json_object_get(b, "output_checked")), "%s: output not checked", name);
    CHECK(json_integer_value(json_object_get(b, "instructions_profiled")) > 10000000);
    json_t *pts = json_object_get(b, "points");
    CHECK(json_array_size(pts) == json_array_size(json_object_get(smp, "points")));
    CHECK(json_array_size(pts) == json_array_size(json_object_get(cl, "points")));
    double wsum = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pts, i, p)
    {
        double d = json_number_value(json_object_get(p, "landing_distance"));
        json_t *sp = json_array_get(json_object_get(smp, "points"), i);
        CHECK_MSG(d >= 0 && d <= 0.1, "%s point %zu: landing distance %g", name, i, d);
        CHECK(d == json_number_value(json_object_get(sp, "landing_distance")));
        wsum += json_number_value(json_object_get(p, "weight"));
    }
    CHECK_MSG(fabs(wsum - 1) < 1e-6, "%s: weights sum to %g", name, wsum);
    json_decref(smp), json_decref(cl);
    free(bdir);
}

static char *study_args_run(const char *const *a, struct sbuf *o)
{
    int rc = ffwd(o, a);
    CHECK_MSG(rc == 0, "ffwd study: exit %d: %s", rc, o->s);
    return o->s;
}

static int t_qemu(const char *dir)
{
    char *out = xasprintf("%s/s", dir);
    /* both at once (two runner tasks), then again one after the other */
    const char *ap[] = {"study", "debian", "--bench", "xz,lua", "--out", out, "--interval", "5000000", "--parallel", "2",
                        NULL};
    const char *a[] = {"study", "debian", "--bench", "xz,lua", "--out", out, "--interval", "5000000", NULL};
    struct sbuf o = {0};
    study_args_run(ap, &o);
    char *tl = xasprintf("%s/lua/study.log", out);
    CHECK_MSG(path_exists(tl), "no task log %s", tl);
    /* every long stage has an estimate: the first from the suite's size and
     * a first guess of the rate, the later ones from the rate measured */
    char *tlt = file_text(tl);
    CHECK_MSG(strstr(tlt, "profile ...") && strstr(tlt, "a first guess: nothing measured yet") &&
                  strstr(tlt, "region: ") && strstr(tlt, "at the rate the study has measured"),
              "no estimate for every stage in %s: %s", tl, tlt);
    free(tlt);
    free(tl);
    json_t *r = load(out, "report.json");
    CHECK(json_array_size(json_object_get(r, "benchmarks")) == 2);
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(r, "benchmarks"), i, b) check_bench(out, b);
    char *html = xasprintf("%s/report.html", out);
    char *h = file_text(html);
    CHECK_MSG(count(h, "<svg class=\"phase\"") == 2, "report.html: %zu phase plots, want 2",
              count(h, "<svg class=\"phase\""));
    CHECK(!strstr(h, "http://") || count(h, "http://") == count(h, "http://www.w3.org/2000/svg"));
    /* again: nothing is redone */
    char *sj = xasprintf("%s/xz/sample.json", out);
    char *before = file_text(sj);
    study_args_run(a, &o);
    CHECK_MSG(count(o.s, "done earlier") == 6, "second run: %zu stages done earlier, want 6: %s",
              count(o.s, "done earlier"), o.s);
    char *after = file_text(sj);
    CHECK(!strcmp(before, after));
    free(sj), free(before), free(after);
    /* the points in "gem5" (the tests' fake one: files and numbers from its
     * arguments) with the user's configuration, --json: every point there
     * (regression: sample-run --config --json printed no result, its folder
     * name read after it was freed) */
    char *sd = xasprintf("%s/xz/sample", out), *fake = xasprintf("%s/tests/integration/fake-gem5.sh", FFWD_SOURCE_DIR),
         *cfg = xasprintf("%s/gem5/ffwd_stdlib.py", FFWD_SOURCE_DIR);
    const char *sr[] = {"sample-run", sd, "--gem5", fake, "--cpu", "o3", "--config", cfg, "--json", NULL};
    int jrc;
    json_t *jr = ffwd_json(sr, &jrc);
    json_t *xz = json_array_get(json_object_get(r, "benchmarks"), 0);
    CHECK_MSG(jrc == 0 && jr && json_array_size(json_object_get(jr, "points")) == json_array_size(json_object_get(xz, "points")),
              "sample-run --config --json: exit %d, %zu points", jrc, json_array_size(json_object_get(jr, "points")));
    CHECK(strstr(json_string_value(json_object_get(jr, "results_json")) ?: "", "gem5-ffwd_stdlib-o3/results.json"));
    json_decref(jr);
    free(sd), free(fake), free(cfg);
    /* with another interval the old results are not taken: refused, named */
    const char *a3[] = {"study", "debian", "--bench", "xz", "--out", out, "--interval", "4000000", NULL};
    int rc = ffwd(&o, a3);
    CHECK_MSG(rc == 1 && strstr(o.s, "made by another command") && strstr(o.s, "--interval 5000000"),
              "study resumed with another interval: exit %d: %s", rc, o.s);
    sbuf_free(&o);
    json_decref(r);
    free(h), free(html), free(out);
    return 0;
}

static int t_kill(const char *dir)
{
    char *out = xasprintf("%s/k", dir);
    char *argv[] = {FFWD_BIN, "study", "debian", "--bench", "python,perl", "--out", out, "--interval", "5000000", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        setsid(); /* its own process group: killed as a whole, as ^C kills a terminal's */
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1), dup2(nul, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    /* wait for python's profile to be done and its sample under way */
    char *pj = xasprintf("%s/python/profile.json", out), *sl = xasprintf("%s/python/sample.log", out);
    double t0 = now_sec();
    while (!(path_exists(pj) && path_exists(sl)) && now_sec() - t0 < 300)
        usleep(100000);
    CHECK_MSG(path_exists(sl), "the study never reached python's sample stage");
    usleep(1500000);
    kill(-pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    char *sjp = xasprintf("%s/python/sample.json", out);
    CHECK(!path_exists(sjp)); /* killed during it */
    free(sjp);
    char *prof_before = file_text(pj);
    const char *a[] = {"study", "debian", "--bench", "python,perl", "--out", out, "--interval", "5000000", NULL};
    struct sbuf o = {0};
    study_args_run(a, &o);
    CHECK_MSG(strstr(o.s, "profile: done earlier"), "the profile was redone: %s", o.s);
    char *prof_after = file_text(pj);
    CHECK(!strcmp(prof_before, prof_after));
    free(prof_after);
    json_t *r = load(out, "report.json");
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(r, "benchmarks"), i, b) check_bench(out, b);
    json_decref(r);
    sbuf_free(&o);
    free(pj), free(sl), free(out), free(prof_before);
    return 0;
}

static const char *need(const char *var, const char *what)
{
    const char *g = getenv(var);
    if (!g || !*g || access(g, X_OK) < 0) {
        printf("SKIPPED: %s -- %s is not set to an executable.\nSKIPPED: this is not a pass.\n", what, var);
        return NULL;
    }
    return g;
}

/* A suite of the test's own: small regions, so that gem5 O3 runs all of one. */
static char *small_suite(const char *dir)
{
    char *p = xasprintf("%s/small.json", dir);
    const char *t =
        "{\"ffwd_suite\": 1, \"name\": \"small\", \"description\": \"two small programs\", \"benchmarks\": [\n"
        " {\"name\": \"xz1\", \"kind\": \"compression\", \"packages\": [\"xz-utils\"],\n"
        "  \"inputs\": [{\"path\": \"in.txt\", \"generator\": \"text\", \"seed\": 9, \"bytes\": {\"test\": 30000, "
        "\"ref\": 600000}}],\n"
        "  \"command\": \"/usr/bin/xz -1 -T1 -c in.txt\"},\n"
        " {\"name\": \"bz\", \"kind\": \"compression\", \"packages\": [\"bzip2\"],\n"
        "  \"inputs\": [{\"path\": \"in.txt\", \"generator\": \"text\", \"seed\": 10, \"bytes\": {\"test\": 30000, "
        "\"ref\": 1000000}}],\n"
        "  \"command\": \"/bin/bzip2 -9 -c in.txt\"}]}\n";
    CHECK(write_file_atomic(p, t, strlen(t), 0644) == 0);
    return p;
}

static int t_gem5(const char *dir)
{
    const char *g = need("GEM5", "the study's gem5 stages");
    if (!g)
        return 77;
    char *suite = small_suite(dir), *out = xasprintf("%s/g", dir);
    const char *a[] = {"study", suite, "--out", out, "--interval", "1000000", "--maxk", "4", "--gem5", g, "--full",
                       "--jobs", "2", NULL};
    struct sbuf o = {0};
    study_args_run(a, &o);
    json_t *r = load(out, "report.json");
    double worst = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(r, "benchmarks"), i, b)
    {
        const char *name = json_string_value(json_object_get(b, "name"));
        CHECK_MSG(!strcmp(json_string_value(json_object_get(b, "status")) ?: "", "done"), "%s: %s", name,
                  json_string_value(json_object_get(b, "status")));
        /* recompute the estimate from sample-run's own results */
        char *bdir = xasprintf("%s/%s", out, name);
        json_t *sr = load(bdir, "sample-run.json"), *fr = load(bdir, "full-run.json"), *smp = load(bdir, "sample.json");
        /* each point stands for w/u intervals (u: its interval's user instructions, from the
         * profile's positions): CPI = sum(w/u * cycles) / sum(w/u * instructions) */
        char *pp = xasprintf("%s/profile/p.positions", bdir);
        struct sample_positions pos;
        CHECK(sample_positions_read(pp, &pos) == 0 && pos.n[0] > 0 && pos.has_end[0]);
        free(pp);
        double c = 0, n = 0;
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(sr, "points"), k, p)
        {
            json_t *sp = json_array_get(json_object_get(smp, "points"), k);
            double w = json_number_value(json_object_get(sp, "weight"));
            size_t iv = (size_t)json_integer_value(json_object_get(sp, "interval"));
            uint64_t ua = iv < pos.n[0] ? pos.counted[0][iv] : 0,
                     ub = iv + 1 < pos.n[0] ? pos.counted[0][iv + 1] : pos.end_counted[0];
            CHECK_MSG(ub > ua, "%s: point %zu: interval %zu has no user instructions", name, k, iv);
            double u = ub > ua ? (double)(ub - ua) : 1;
            c += w / u * json_number_value(json_object_get(p, "cycles"));
            n += w / u * json_number_value(json_object_get(p, "instructions"));
        }
        sample_positions_free(&pos);
        json_t *f = json_array_get(json_object_get(fr, "points"), 0);
        double full = json_number_value(json_object_get(f, "cycles")) / json_number_value(json_object_get(f, "instructions"));
        double est = c / n, err = (est - full) / full;
        CHECK(json_array_size(json_object_get(sr, "points")) == json_array_size(json_object_get(smp, "points")));
        CHECK_MSG(fabs(json_number_value(json_object_get(b, "weighted_cpi")) - est) < 1e-9, "%s: weighted CPI", name);
        CHECK_MSG(fabs(json_number_value(json_object_get(b, "full_cpi")) - full) < 1e-9, "%s: full CPI", name);
        CHECK_MSG(fabs(json_number_value(json_object_get(b, "cpi_error")) - err) < 1e-9, "%s: error", name);
        /* the reference ended where the region ends in gem5 (ffwd-guest roi's work-end), not at QEMU's
         * count of it (which holds QEMU's timer interrupts, not gem5's) */
        CHECK_MSG(json_is_true(json_object_get(f, "region_end")), "%s: the full run did not end at the region's end",
                  name);
        /* the full run covered the region: as many instructions as the points' windows together at least */
        CHECK(json_number_value(json_object_get(f, "instructions")) >
              (double)json_integer_value(json_object_get(b, "instructions_profiled")));
        printf("study gem5: %s: %zu points, weighted CPI %.4f, full-region CPI %.4f, error %+.2f %%\n", name,
               json_array_size(json_object_get(sr, "points")), est, full, 100 * err);
        worst = fabs(err) > worst ? fabs(err) : worst;
        json_decref(sr), json_decref(fr), json_decref(smp);
        free(bdir);
    }
    CHECK(fabs(json_number_value(json_object_get(r, "worst_abs_cpi_error")) - worst) < 1e-9);
    char *hp = xasprintf("%s/report.html", out);
    char *h = file_text(hp);
    free(hp);
    CHECK(count(h, "<svg class=\"cpi\"") == 2);
    json_decref(r);
    sbuf_free(&o);
    free(h), free(suite), free(out);
    return 0;
}

static int t_browser(const char *dir)
{
    const char *chromium = "/usr/bin/chromium";
    if (access(chromium, X_OK) < 0) {
        printf("SKIPPED: the report in a browser -- %s is not installed (scripts/install-deps.sh installs it).\n"
               "SKIPPED: this is not a pass.\n",
               chromium);
        return 77;
    }
    /* a study without gem5 is enough for the page's structure */
    char *out = xasprintf("%s/b", dir);
    const char *a[] = {"study", "debian", "--bench", "tcc", "--out", out, "--interval", "5000000", NULL};
    struct sbuf o = {0};
    study_args_run(a, &o);
    char *html = xasprintf("file://%s/report.html", out), *shot = xasprintf("%s/report.png", out);
    char *shot_arg = xasprintf("--screenshot=%s", shot);
    char *argv[] = {(char *)chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                    "--v=0", "--dump-dom", html, NULL};
    o.len = 0;
    struct sbuf dom = {0};
    char *errp = xasprintf("%s/chromium.err", dir), *domp = xasprintf("%s/dom.html", dir);
    int rc = run_cmd(argv, &(struct run_opts){.stdout_file = domp, .stderr_file = errp});
    CHECK_MSG(rc == 0, "chromium --dump-dom: exit %d", rc);
    char *d = file_text(domp), *err = file_text(errp);
    CHECK_MSG(strstr(d, "<table id=\"summary\">") && count(d, "<svg class=\"phase\"") == 1,
              "the rendered page lacks the summary or the phase plot");
    CHECK_MSG(count(d, "<rect class=\"point\"") >= 1, "no simulation point drawn");
    CHECK_MSG(!strstr(err, "CONSOLE") && !strstr(err, "Uncaught"), "console messages: %s", err);
    char *sargv[] = {(char *)chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1100,1400",
                     shot_arg, html, NULL};
    CHECK(run_cmd(sargv, &(struct run_opts){.quiet = true}) == 0);
    struct stat sb;
    CHECK_MSG(stat(shot, &sb) == 0 && sb.st_size > 10000, "no screenshot %s", shot);
    printf("report screenshot: %s (%lld bytes)\n", shot, (long long)sb.st_size);
    sbuf_free(&dom);
    sbuf_free(&o);
    free(d), free(err), free(errp), free(domp), free(html), free(shot), free(shot_arg), free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char *dir = make_temp_dir("/tmp", "ffwd-it-study-");
    int skip = 0;
    if (!strcmp(argv[1], "qemu"))
        t_qemu(dir);
    else if (!strcmp(argv[1], "kill"))
        t_kill(dir);
    else if (!strcmp(argv[1], "gem5"))
        skip = t_gem5(dir);
    else if (!strcmp(argv[1], "browser"))
        skip = t_browser(dir);
    else
        return 2;
    int r = test_done();
    if (!r)
        rm_rf(dir);
    free(dir);
    return skip == 77 && !r ? 77 : r;
}
