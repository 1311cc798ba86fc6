/*
 * report.c -- the study's report: OUT/report.json for programs and
 * OUT/report.html for people (one file: inline SVG and CSS, no script, no
 * network), both from the stage results the study left in OUT/NAME/.
 *
 * The estimate of a benchmark's CPI. Intervals are of the program's user
 * instructions and a SimPoint weight w is its cluster's share of them; a
 * point's gem5 window counts every instruction (kernel included) and ends
 * early where the region ends. Its cluster's cycles are then about
 * w * U * cycles / u (U: the region's user instructions, u: those of the
 * point's own interval), its instructions w * U * instructions / u, so
 *
 *     CPI = sum(w/u * cycles) / sum(w/u * instructions).
 *
 * w/u is the number of intervals the point stands for; it differs from w
 * only for a short interval -- the last one, which holds the program's exit
 * (tcc, test size: 0.18 M user instructions, 4.2 M in all, CPI 1.09 -- with
 * w alone it counted 1/55 of itself and the estimate was 5.6 % low). The
 * mean of the CPIs (sample-run's weighted_cpi) is reported next to it.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/util.h"
#include "../sample/sample.h"
#include "study.h"

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/* The user instructions of interval i of the profile PREFIX (vCPU 0), or 0. */
static double interval_user(const struct sample_positions *pos, size_t i)
{
    if (!pos->nvcpus || i >= pos->n[0])
        return 0;
    uint64_t a = pos->counted[0][i];
    uint64_t b = i + 1 < pos->n[0] ? pos->counted[0][i + 1] : pos->has_end[0] ? pos->end_counted[0] : 0;
    return b > a ? (double)(b - a) : 0;
}

static json_t *load(const char *bdir, const char *stage)
{
    char *p = xasprintf("%s/%s.json", bdir, stage);
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    return j;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void esc(struct sbuf *h, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '<': sbuf_addf(h, "&lt;"); break;
        case '>': sbuf_addf(h, "&gt;"); break;
        case '&': sbuf_addf(h, "&amp;"); break;
        case '"': sbuf_addf(h, "&quot;"); break;
        default: sbuf_addc(h, *s);
        }
}

/* Cluster per interval, from the cluster stage's labels file. */
static int *read_labels(const char *path, size_t *n)
{
    *n = 0;
    char *t = path ? read_file(path, NULL) : NULL;
    if (!t)
        return NULL;
    size_t cap = 0;
    int *v = NULL;
    for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (*n == cap)
            v = xrealloc(v, (cap = cap ? 2 * cap : 256) * sizeof *v);
        v[(*n)++] = atoi(l);
    }
    free(t);
    return v;
}

/* The phase plot: one row per cluster, a mark per interval, the simulation
 * point of each cluster outlined. */
static void phase_svg(struct sbuf *h, const int *lab, size_t n, json_t *points, unsigned k)
{
    const double x0 = 90, w = 760, rowh = 16;
    double H = 30 + k * (rowh + 4) + 20;
    sbuf_addf(h, "<svg class=\"phase\" xmlns=\"http://www.w3.org/2000/svg\" width=\"880\" height=\"%.0f\" "
                 "role=\"img\" aria-label=\"phase plot\">\n",
              H);
    sbuf_addf(h, "<text x=\"%.0f\" y=\"16\" font-size=\"12\">interval (%zu) &#8594;</text>\n", x0, n);
    double cw = n ? w / (double)n : w;
    for (unsigned c = 0; c < k; c++) {
        double y = 26 + c * (rowh + 4);
        double wt = 0;
        size_t i;
        json_t *p;
        json_array_foreach(points, i, p) if ((unsigned)json_integer_value(json_object_get(p, "cluster")) == c) wt =
            num(p, "weight");
        sbuf_addf(h, "<text x=\"4\" y=\"%.1f\" font-size=\"11\">%u (%.0f%%)</text>\n", y + 12, c, 100 * wt);
        for (size_t j = 0; j < n; j++)
            if (lab[j] == (int)c)
                sbuf_addf(h, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"%s\"/>\n",
                          x0 + cw * (double)j, y, cw > 1 ? cw : 1, rowh, palette[c % 10]);
    }
    size_t i;
    json_t *p;
    json_array_foreach(points, i, p)
    {
        double iv = num(p, "interval");
        unsigned c = (unsigned)json_integer_value(json_object_get(p, "cluster"));
        if (isnan(iv))
            continue;
        sbuf_addf(h, "<rect class=\"point\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"none\" "
                     "stroke=\"black\" stroke-width=\"2\"><title>simulation point: interval %.0f</title></rect>\n",
                  x0 + cw * iv - 1, 26 + c * (rowh + 4) - 1, (cw > 1 ? cw : 1) + 2, rowh + 2, iv);
    }
    sbuf_addf(h, "</svg>\n");
}

/* Per-point CPI as bars (width = weight), the estimate and the full run as lines. */
static void cpi_svg(struct sbuf *h, json_t *pts, double est, double full)
{
    double maxc = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pts, i, p) if (num(p, "cpi") > maxc) maxc = num(p, "cpi");
    if (full > maxc)
        maxc = full;
    if (!(maxc > 0))
        maxc = 1;
    const double x0 = 50, w = 600, H = 180, y0 = 20, ph = 130;
    sbuf_addf(h, "<svg class=\"cpi\" xmlns=\"http://www.w3.org/2000/svg\" width=\"780\" height=\"%.0f\" role=\"img\" "
                 "aria-label=\"CPI per simulation point\">\n",
              H);
    sbuf_addf(h, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#444\"/>\n", x0, y0 + ph, x0 + w,
              y0 + ph);
    sbuf_addf(h, "<text x=\"4\" y=\"%.0f\" font-size=\"11\">%.2f</text><text x=\"4\" y=\"%.0f\" font-size=\"11\">0</text>\n",
              y0 + 4, maxc, y0 + ph);
    double x = x0;
    json_array_foreach(pts, i, p)
    {
        double wt = num(p, "weight"), c = num(p, "cpi");
        double bw = (isnan(wt) ? 0 : wt) * w;
        if (!isnan(c)) {
            double bh = c / maxc * ph;
            sbuf_addf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"white\">"
                         "<title>point %zu: CPI %.4f, weight %.4f</title></rect>\n",
                      x, y0 + ph - bh, bw > 1 ? bw : 1, bh,
                      palette[(unsigned)json_integer_value(json_object_get(p, "cluster")) % 10], i, c, wt);
        }
        x += bw;
    }
    if (!isnan(est))
        sbuf_addf(h, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\" stroke-dasharray=\"4 2\"/>"
                     "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\">estimate %.3f</text>\n",
                  x0, x0 + w, y0 + ph - est / maxc * ph, y0 + ph - est / maxc * ph, x0 + w + 4,
                  y0 + ph - est / maxc * ph + 4, est);
    if (!isnan(full))
        sbuf_addf(h, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\"/>"
                     "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" fill=\"#d62728\">full %.3f</text>\n",
                  x0, x0 + w, y0 + ph - full / maxc * ph, y0 + ph - full / maxc * ph, x0 + w + 4,
                  y0 + ph - full / maxc * ph + 16, full);
    sbuf_addf(h, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">simulation points (bar width: weight)</text>\n</svg>\n",
              x0, y0 + ph + 18);
}

/* V with PREC decimals and SUFFIX, or a dash when unknown. */
static void fmt_num(struct sbuf *h, double v, int prec, const char *suffix)
{
    if (isnan(v))
        sbuf_addf(h, "&#8211;");
    else
        sbuf_addf(h, "%.*f%s", prec, v, suffix);
}

int study_report(const char *out, const struct suite *s, const bool *sel, enum suite_size size,
                 const struct study_opts *o)
{
    double ips_atomic = study_gem5_ips(o, true), ips_detailed = study_gem5_ips(o, false);
    json_t *rep = json_object(), *benches = json_array();
    struct sbuf body = {0}, summary = {0};
    double sum_err = 0, worst = 0;
    unsigned nerr = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!sel[i])
            continue;
        const struct suite_bench *b = &s->b[i];
        char *bdir = xasprintf("%s/%s", out, b->name);
        json_t *prof = load(bdir, "profile"), *cl = load(bdir, "cluster"), *smp = load(bdir, "sample"),
               *sr = load(bdir, "sample-run"), *fr = load(bdir, "full-run");
        char *prefix = xasprintf("%s/profile/p", bdir), *pp = xasprintf("%s/profile/p.positions", bdir);
        uint64_t rc = study_region_count(prefix);
        double region = rc ? (double)rc : NAN;
        struct sample_positions pos;
        if (sample_positions_read(pp, &pos) < 0)
            memset(&pos, 0, sizeof pos);
        free(prefix), free(pp);
        json_t *bj = json_pack("{s:s,s:s,s:s}", "name", b->name, "kind", b->kind, "description", b->description);
        const char *status = !prof ? "not profiled" : !cl ? "not clustered" : !smp ? "not sampled"
                             : o->gem5 && !sr ? "not run in gem5" : o->gem5 && o->full && !fr ? "no full run"
                                                                                               : "done";
        json_object_set_new(bj, "status", json_string(status));
        if (!isnan(region))
            json_object_set_new(bj, "instructions_profiled", json_integer((json_int_t)region));
        json_object_set(bj, "interval", json_object_get(prof, "interval"));
        json_object_set(bj, "output_sha256", json_object_get(prof, "output_sha256"));
        json_object_set(bj, "output_checked", json_object_get(prof, "output_checked"));
        json_object_set(bj, "k", json_object_get(cl, "k"));
        /* points: the sample's (landing) joined with gem5's (CPI) by index */
        json_t *pts = json_array();
        size_t k;
        json_t *p;
        double swc = 0, swi = 0;
        bool all = sr != NULL;
        json_array_foreach(json_object_get(smp, "points"), k, p)
        {
            json_t *q = json_pack("{s:O,s:O,s:O,s:O}", "index", json_object_get(p, "index"), "cluster",
                                  json_object_get(p, "cluster"), "interval", json_object_get(p, "interval"), "weight",
                                  json_object_get(p, "weight"));
            json_object_set(q, "landing_distance", json_object_get(p, "landing_distance"));
            json_object_set(q, "checkpoint", json_object_get(p, "checkpoint"));
            size_t m;
            json_t *g;
            bool got = false;
            json_array_foreach(json_object_get(sr, "points"), m, g) if (json_equal(json_object_get(g, "index"),
                                                                                   json_object_get(p, "index")))
            {
                double cyc = num(g, "cycles"), ins = num(g, "instructions");
                if (!isnan(cyc) && !isnan(ins) && ins > 0) {
                    json_object_set_new(q, "cycles", json_integer((json_int_t)cyc));
                    json_object_set_new(q, "instructions", json_integer((json_int_t)ins));
                    json_object_set_new(q, "cpi", json_real(cyc / ins));
                    json_object_set(q, "gem5_seconds", json_object_get(g, "seconds"));
                    double u = interval_user(&pos, (size_t)json_integer_value(json_object_get(p, "interval")));
                    json_object_set_new(q, "interval_user_instructions", json_integer((json_int_t)u));
                    swc += u > 0 ? num(p, "weight") / u * cyc : NAN;
                    swi += u > 0 ? num(p, "weight") / u * ins : NAN;
                    got = true;
                }
            }
            all &= got;
            json_array_append_new(pts, q);
        }
        json_object_set_new(bj, "points", pts);
        sample_positions_free(&pos);
        double est = all && swi > 0 ? swc / swi : NAN, full = NAN, err = NAN;
        if (!isnan(est)) {
            json_object_set_new(bj, "weighted_cpi", json_real(est));
            json_object_set_new(bj, "weighted_ipc", json_real(1 / est));
            json_object_set(bj, "mean_of_point_cpis", json_object_get(sr, "weighted_cpi"));
        }
        json_t *f0 = json_array_get(json_object_get(fr, "points"), 0);
        if (f0 && num(f0, "instructions") > 0) {
            full = num(f0, "cycles") / num(f0, "instructions");
            json_object_set_new(bj, "full_cpi", json_real(full));
            json_object_set(bj, "full_instructions", json_object_get(f0, "instructions"));
            if (!isnan(est)) {
                err = (est - full) / full;
                json_object_set_new(bj, "cpi_error", json_real(err));
                sum_err += fabs(err);
                worst = fabs(err) > worst ? fabs(err) : worst;
                nerr++;
            }
        }
        /* stage times, next to what gem5 would take for the same work */
        json_t *st = json_object();
        const char *stages[] = {"profile", "cluster", "sample", "sample-run", "full-profile", "full-sample", "full-run"};
        for (int z = 0; z < 7; z++) {
            json_t *sj = load(bdir, stages[z]);
            if (sj)
                json_object_set_new(st, stages[z], json_pack("{s:f}", "seconds", num(sj, "study_seconds")));
            json_decref(sj);
        }
        if (!isnan(region)) {
            json_t *ps = json_object_get(st, "profile");
            if (ps)
                json_object_set_new(ps, "gem5_atomic_seconds_same_instructions", json_real(region / ips_atomic));
        }
        double full_secs = f0 ? num(f0, "seconds") : NAN;
        json_object_set_new(bj, "stages", st);
        if (!isnan(region))
            json_object_set_new(bj, "gem5_detailed_full_region_seconds",
                                json_real(!isnan(full_secs) ? full_secs : region / ips_detailed));
        json_object_set_new(bj, "gem5_detailed_full_region_measured", json_boolean(!isnan(full_secs)));
        json_array_append_new(benches, bj);

        /* HTML */
        sbuf_addf(&summary, "<tr><td><a href=\"#b-");
        esc(&summary, b->name);
        sbuf_addf(&summary, "\">");
        esc(&summary, b->name);
        sbuf_addf(&summary, "</a></td><td>");
        esc(&summary, b->kind);
        sbuf_addf(&summary, "</td><td>%s</td><td>", status);
        fmt_num(&summary, region, 0, "");
        sbuf_addf(&summary, "</td><td>%lld</td><td>", (long long)json_integer_value(json_object_get(cl, "k")));
        fmt_num(&summary, est, 4, "");
        sbuf_addf(&summary, "</td><td>");
        fmt_num(&summary, isnan(est) ? NAN : 1 / est, 4, "");
        sbuf_addf(&summary, "</td><td>");
        fmt_num(&summary, full, 4, "");
        sbuf_addf(&summary, "</td><td>");
        fmt_num(&summary, isnan(err) ? NAN : 100 * err, 2, " %");
        sbuf_addf(&summary, "</td></tr>\n");

        sbuf_addf(&body, "<section id=\"b-");
        esc(&body, b->name);
        sbuf_addf(&body, "\"><h2>");
        esc(&body, b->name);
        sbuf_addf(&body, " <small>");
        esc(&body, b->kind);
        sbuf_addf(&body, "</small></h2><p>");
        esc(&body, b->description);
        sbuf_addf(&body, "</p>\n<p>Region: ");
        fmt_num(&body, region, 0, "");
        sbuf_addf(&body, " user instructions of the program's own processes; output sha256 <code>");
        esc(&body, json_string_value(json_object_get(prof, "output_sha256")));
        sbuf_addf(&body, "</code> %s.</p>\n",
                  json_is_true(json_object_get(prof, "output_checked")) ? "(matches the suite's)" : "(unchecked)");
        size_t nl = 0;
        int *lab = read_labels(json_string_value(json_object_get(json_object_get(cl, "files"), "labels")), &nl);
        if (lab) {
            sbuf_addf(&body, "<h3>Phases</h3>\n");
            phase_svg(&body, lab, nl, json_object_get(bj, "points"),
                      (unsigned)json_integer_value(json_object_get(cl, "k")));
            free(lab);
        }
        sbuf_addf(&body, "<h3>Simulation points</h3>\n<table><tr><th>#</th><th>cluster</th><th>interval</th>"
                         "<th>weight</th><th>landing distance</th><th>CPI</th><th>gem5 s</th></tr>\n");
        json_array_foreach(json_object_get(bj, "points"), k, p)
        {
            sbuf_addf(&body, "<tr><td>%zu</td><td>%lld</td><td>%lld</td><td>%.4f</td><td>", k,
                      (long long)json_integer_value(json_object_get(p, "cluster")),
                      (long long)json_integer_value(json_object_get(p, "interval")), num(p, "weight"));
            fmt_num(&body, num(p, "landing_distance"), 4, "");
            sbuf_addf(&body, "</td><td>");
            fmt_num(&body, num(p, "cpi"), 4, "");
            sbuf_addf(&body, "</td><td>");
            fmt_num(&body, num(p, "gem5_seconds"), 1, "");
            sbuf_addf(&body, "</td></tr>\n");
        }
        sbuf_addf(&body, "</table>\n");
        if (!isnan(est)) {
            sbuf_addf(&body, "<h3>CPI</h3>\n");
            cpi_svg(&body, json_object_get(bj, "points"), est, full);
        }
        sbuf_addf(&body, "<h3>Time</h3>\n<table><tr><th>stage</th><th>seconds</th></tr>\n");
        const char *key;
        json_t *sv;
        json_object_foreach(st, key, sv)
        {
            sbuf_addf(&body, "<tr><td>%s</td><td>", key);
            fmt_num(&body, num(sv, "seconds"), 1, "");
            sbuf_addf(&body, "</td></tr>\n");
        }
        sbuf_addf(&body, "</table>\n<p>In gem5: the profiled instructions on the atomic CPU at %.1f MIPS: ",
                  ips_atomic / 1e6);
        fmt_num(&body, region / ips_atomic, 0, " s");
        sbuf_addf(&body, "; the whole region on a detailed CPU: ");
        fmt_num(&body, !isnan(full_secs) ? full_secs : region / ips_detailed, 0, " s");
        sbuf_addf(&body, "%s.</p>\n</section>\n", !isnan(full_secs) ? " (measured)" : " (at the stated rate)");
        json_decref(prof), json_decref(cl), json_decref(smp), json_decref(sr), json_decref(fr);
        free(bdir);
    }
    json_object_set_new(rep, "format", json_string("ffwd-study-report"));
    json_object_set_new(rep, "version", json_integer(1));
    json_object_set_new(rep, "suite", json_string(s->name));
    json_object_set_new(rep, "size", json_string(suite_size_names[size]));
    json_object_set_new(rep, "gem5", o->gem5 ? json_string(o->gem5) : json_null());
    json_object_set_new(rep, "cpu", json_string(o->cpu ? o->cpu : "o3"));
    json_object_set_new(rep, "gem5_rate_atomic_ips", json_real(ips_atomic));
    json_object_set_new(rep, "gem5_rate_detailed_ips", json_real(ips_detailed));
    json_object_set_new(rep, "benchmarks", benches);
    if (nerr) {
        json_object_set_new(rep, "mean_abs_cpi_error", json_real(sum_err / nerr));
        json_object_set_new(rep, "worst_abs_cpi_error", json_real(worst));
    }
    char *jp = xasprintf("%s/report.json", out);
    char *js = json_dumps(rep, JSON_INDENT(2));
    int r = write_file_atomic(jp, js, strlen(js), 0644);
    free(js);
    free(jp);

    struct sbuf h = {0};
    sbuf_addf(&h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ffwd study: ");
    esc(&h, s->name);
    sbuf_addf(&h, "</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
                  "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
                  "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}small{color:#666}"
                  "section{border-top:1px solid #ddd;margin-top:2em}</style></head><body>\n<h1>ffwd study: ");
    esc(&h, s->name);
    sbuf_addf(&h, " (%s size)</h1>\n<p>", suite_size_names[size]);
    esc(&h, s->description);
    sbuf_addf(&h, "</p>\n<p>gem5: ");
    esc(&h, o->gem5 ? o->gem5 : "none (QEMU stages only)");
    sbuf_addf(&h, ", CPU %s. Weighted CPI = &#931; (w/u)&#183;cycles / &#931; (w/u)&#183;instructions over the "
                  "simulation points (w: the SimPoint weight, u: the user instructions of the point's interval: a "
                  "point stands for w/u intervals).",
              o->cpu ? o->cpu : "o3");
    if (nerr)
        sbuf_addf(&h, " CPI error against the full detailed run: mean |error| %.2f %%, worst %.2f %%.",
                  100 * sum_err / nerr, 100 * worst);
    sbuf_addf(&h, "</p>\n<table id=\"summary\"><tr><th>benchmark</th><th>kind</th><th>status</th><th>instructions"
                  "</th><th>k</th><th>CPI</th><th>IPC</th><th>full CPI</th><th>error</th></tr>\n%s</table>\n%s"
                  "</body></html>\n",
              summary.s ? summary.s : "", body.s ? body.s : "");
    char *hp = xasprintf("%s/report.html", out);
    if (r == 0)
        r = write_file_atomic(hp, h.s, h.len, 0644);
    free(hp);
    sbuf_free(&h);
    sbuf_free(&body);
    sbuf_free(&summary);
    json_decref(rep);
    return r;
}
