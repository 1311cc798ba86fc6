/*
 * cmd_estimate.c -- `ffwd estimate`: fit the linear CPI model on intervals
 * measured in gem5 (the simulation points of `ffwd sample` run by `ffwd
 * sample-run`), report its held-out error, apply it to every interval of a
 * run, save/reuse the calibration.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/cjson.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../gem5/simpoints.h"
#include "../model/estimate.h"
#include "cli.h"
#include "opts.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ffwd estimate --events CSV [--samples DIR [--cpu o3] [--config USER.py]] [--calibration FILE]\n"
            "                     [--save FILE [--force]] [--reference-cpi X] [--holdout DIR] [--json]\n"
            "\n"
            "CPI_i = sum_j w_j * event_ij / instructions_i, w_j >= 0 (non-negative least\n"
            "squares), events from the memory plugin's model (`ffwd trace record --model`):\n"
            "base, mul/div, FP/SIMD, loads, stores, branches, and the misses of L1I, L1D, L2,\n"
            "LLC, ITLB, DTLB per instruction.\n"
            "\n"
            "  --events CSV         PREFIX.<vcpu>.model.csv of the run to estimate; its intervals\n"
            "                       must be the BBV intervals of the profile (same --interval, --roi)\n"
            "  --samples DIR        calibration: `ffwd sample` output measured by `ffwd sample-run`\n"
            "                       (DIR/gem5-CPU/results.json): each point's gem5 CPI with the events\n"
            "                       of its interval from --events\n"
            "  --cpu TYPE           which sample-run results (default o3)\n"
            "  --config USER.py     ... of sample-run --config USER.py (DIR/gem5-USER-CPU/results.json)\n"
            "  --calibration FILE   calibration points saved earlier (same gem5 CPU configuration\n"
            "                       and model); added to --samples' points\n"
            "  --save FILE          write the calibration points and the fitted weights (an existing\n"
            "                       FILE only with --force)\n"
            "  --reference-cpi X    a known CPI of the whole run (e.g. a full gem5 run): error in %%\n"
            "  --holdout DIR        more measured intervals (`ffwd sample` + `sample-run` output) NOT\n"
            "                       used for the fit: the error of each predicted interval CPI\n"
            "  --json               the result as JSON on standard output (docs/json.md)\n"
            "\n"
            "Reports the weights, the fit's error, the leave-one-out error (each calibration\n"
            "interval predicted by a fit on the others), the estimated CPI of every interval and\n"
            "of the run (cycles = sum of CPI_i x instructions_i), next to the SimPoint-weighted\n"
            "gem5 CPI when --samples carries weights.\n");
}

/* Calibration points from DIR/simpoints.json + DIR/gem5-TAG/results.json. */
static int load_samples(const char *dir, const char *tag, const struct est_row *all, size_t nall,
                        struct est_row **cal, size_t *ncal, double *wcpi)
{
    char *mp = xasprintf("%s/simpoints.json", dir), *rp = xasprintf("%s/gem5-%s/results.json", dir, tag);
    json_error_t e;
    json_t *man = json_load_file(mp, 0, &e), *res = man ? json_load_file(rp, 0, &e) : NULL;
    int rc = 0;
    if (!man || !res) {
        rc = ffwd_seterr("%s: %s", man ? rp : mp, e.text);
        goto out;
    }
    json_t *pts = json_object_get(man, "points"), *runs = json_object_get(res, "points");
    double wsum = 0;
    *wcpi = 0;
    for (size_t i = 0; i < json_array_size(runs); i++) {
        json_t *r = json_array_get(runs, i);
        json_int_t idx = json_integer_value(json_object_get(r, "index"));
        double cpi = json_number_value(json_object_get(r, "cpi")), w = json_number_value(json_object_get(r, "weight"));
        json_t *p = NULL;
        for (size_t k = 0; k < json_array_size(pts); k++)
            if (json_integer_value(json_object_get(json_array_get(pts, k), "index")) == idx)
                p = json_array_get(pts, k);
        if (!p || !(cpi > 0)) {
            rc = ffwd_seterr("%s: point %lld has no matching simulation point or no CPI", rp, (long long)idx);
            goto out;
        }
        uint64_t iv = (uint64_t)json_integer_value(json_object_get(p, "interval"));
        const struct est_row *row = NULL;
        for (size_t k = 0; k < nall; k++)
            if (all[k].interval == iv)
                row = &all[k];
        if (!row) {
            rc = ffwd_seterr("interval %" PRIu64 " of %s is not in the events file", iv, mp);
            goto out;
        }
        *cal = xrealloc(*cal, (*ncal + 1) * sizeof **cal);
        (*cal)[*ncal] = *row;
        (*cal)[(*ncal)++].cpi = cpi;
        *wcpi += w * cpi;
        wsum += w;
    }
    if (wsum > 0)
        *wcpi /= wsum;
out:
    json_decref(man);
    json_decref(res);
    free(mp);
    free(rp);
    return rc;
}

static int load_calibration(const char *path, const struct est_features *f, struct est_row **cal, size_t *ncal)
{
    json_t *j = cj_load_path(path);
    if (!j)
        return -1;
    json_t *names = json_object_get(j, "features"), *pts = json_object_get(j, "points");
    int rc = 0;
    if (strcmp(json_string_value(json_object_get(j, "format")) ? json_string_value(json_object_get(j, "format")) : "",
               "ffwd-calibration") ||
        json_array_size(names) != f->n || !json_is_array(pts)) {
        rc = ffwd_seterr("%s: not an ffwd calibration with the features of the events file (%u)", path, f->n);
        goto out;
    }
    for (unsigned k = 0; k < f->n; k++)
        if (strcmp(json_string_value(json_array_get(names, k)) ? json_string_value(json_array_get(names, k)) : "",
                   f->name[k])) {
            rc = ffwd_seterr("%s: feature %u is '%s', the events file has '%s'", path, k,
                             json_string_value(json_array_get(names, k)), f->name[k]);
            goto out;
        }
    for (size_t i = 0; i < json_array_size(pts); i++) {
        json_t *p = json_array_get(pts, i), *x = json_object_get(p, "x");
        struct est_row r = {.interval = (uint64_t)json_integer_value(json_object_get(p, "interval")),
                            .insns = (uint64_t)json_integer_value(json_object_get(p, "insns")),
                            .cpi = json_number_value(json_object_get(p, "cpi"))};
        if (json_array_size(x) != f->n || !(r.cpi > 0)) {
            rc = ffwd_seterr("%s: point %zu: field x needs %u values and cpi a positive number", path, i, f->n);
            goto out;
        }
        for (unsigned k = 0; k < f->n; k++)
            r.x[k] = json_number_value(json_array_get(x, k));
        *cal = xrealloc(*cal, (*ncal + 1) * sizeof **cal);
        (*cal)[(*ncal)++] = r;
    }
out:
    json_decref(j);
    return rc;
}

static int save_calibration(const char *path, const struct est_features *f, const struct est_row *cal, size_t n,
                            const double *w, const char *cpu)
{
    json_t *names = json_array(), *ws = json_array(), *pts = json_array();
    for (unsigned k = 0; k < f->n; k++) {
        json_array_append_new(names, json_string(f->name[k]));
        json_array_append_new(ws, json_real(w[k]));
    }
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array();
        for (unsigned k = 0; k < f->n; k++)
            json_array_append_new(x, json_real(cal[i].x[k]));
        json_array_append_new(pts, json_pack("{s:I, s:I, s:f, s:o}", "interval", (json_int_t)cal[i].interval,
                                             "insns", (json_int_t)cal[i].insns, "cpi", cal[i].cpi, "x", x));
    }
    json_t *j = json_pack("{s:s, s:i, s:s, s:o, s:o, s:o}", "format", "ffwd-calibration", "version", 1, "gem5_cpu",
                          cpu, "features", names, "weights", ws, "points", pts);
    char *text = json_dumps(j, JSON_INDENT(2));
    int rc = write_file_atomic(path, text, strlen(text), 0644);
    free(text);
    json_decref(j);
    return rc < 0 ? ffwd_preerr("%s", path) : 0;
}

int cmd_estimate(int argc, char **argv)
{
    enum { O_EVENTS = 1000, O_SAMPLES, O_CALIB, O_SAVE, O_REF, O_HOLD, O_CONFIG };
    static const struct option lo[] = {{"events", required_argument, 0, O_EVENTS},
                                       {"samples", required_argument, 0, O_SAMPLES},
                                       {"cpu", required_argument, 0, OPT_CPU},
                                       {"config", required_argument, 0, O_CONFIG},
                                       {"calibration", required_argument, 0, O_CALIB},
                                       {"save", required_argument, 0, O_SAVE},
                                       {"reference-cpi", required_argument, 0, O_REF},
                                       {"holdout", required_argument, 0, O_HOLD},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"force", no_argument, 0, OPT_FORCE},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *events = NULL, *samples = NULL, *calib = NULL, *save = NULL, *cpu = "o3", *hold = NULL,
               *config = NULL;
    bool force = false, json = false;
    double ref = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case O_EVENTS: events = optarg; break;
        case O_SAMPLES: samples = optarg; break;
        case OPT_CPU:
            if (cli_gem5_cpu(optarg, &cpu) < 0)
                return cli_bad_value(help);
            break;
        case O_CALIB: calib = optarg; break;
        case O_CONFIG: config = optarg; break;
        case O_SAVE: save = optarg; break;
        case OPT_FORCE: force = true; break;
        case O_HOLD: hold = optarg; break;
        case OPT_JSON: json = true; break;
        case O_REF: {
            char *end;
            ref = strtod(optarg, &end);
            if (end == optarg || *end || !(ref > 0)) {
                ffwd_seterr("--reference-cpi: '%s' is not a positive number", optarg);
                return cli_bad_value(help);
            }
            break;
        }
        case 'h': help(stdout); return 0;
        default: return cli_bad_option(c, argv, help);
        }
    }
    if (optind != argc)
        return cli_usage(help, "unexpected argument '%s'", argv[optind]);
    if (!events || (!samples && !calib))
        return cli_usage(help, "needs --events CSV and --samples DIR or --calibration FILE");
    if (save && cli_refuse_overwrite(force, save, NULL) < 0)
        return cli_fail();
    char *tag = gem5_results_tag(config, cpu); /* the results sample-run wrote for this system */
    if (json)
        cli_json_start();
    json_t *jr = json_object(); /* the --json result, filled as the text is printed */
    struct est_features f;
    struct est_row *all = NULL, *cal = NULL;
    size_t nall = 0, ncal = 0;
    double wcpi = 0, w[EST_MAXF], rms = 0;
    int rc = -1;
    if (est_read_csv(events, &f, &all, &nall) < 0)
        goto out;
    if (samples && load_samples(samples, tag, all, nall, &cal, &ncal, &wcpi) < 0)
        goto out;
    if (calib && load_calibration(calib, &f, &cal, &ncal) < 0)
        goto out;
    if (est_fit(cal, ncal, f.n, w, &rms) < 0)
        goto out;
    double loo = est_loocv(cal, ncal, f.n), mean = 0;
    for (size_t i = 0; i < ncal; i++)
        mean += cal[i].cpi / (double)ncal;
    printf("calibration: %zu intervals measured in gem5 (%s), mean CPI %.4f\n", ncal, cpu, mean);
    printf("weights (cycles per event):");
    for (unsigned k = 0; k < f.n; k++)
        if (w[k] > 0)
            printf(" %s %.4g", f.name[k], w[k]);
    printf("\nfit: RMS CPI error %.4f (%.1f%% of the mean); leave-one-out mean |error| %.1f%%\n", rms,
           100 * rms / mean, 100 * loo);
    json_t *jw = json_object();
    for (unsigned k = 0; k < f.n; k++)
        json_object_set_new(jw, f.name[k], json_real(w[k]));
    json_object_update_new(jr, json_pack("{s:s, s:s, s:I, s:f, s:o, s:f, s:f}", "events", events, "gem5_cpu", cpu,
                                         "calibration_intervals", (json_int_t)ncal, "calibration_mean_cpi", mean,
                                         "weights", jw, "rms_cpi_error", rms, "loo_mean_abs_error", loo));
    double cycles = 0, insns = 0;
    for (size_t i = 0; i < nall; i++) {
        cycles += est_cpi(&all[i], f.n, w) * (double)all[i].insns;
        insns += (double)all[i].insns;
    }
    double est = insns > 0 ? cycles / insns : 0;
    bool all_zero = true;
    for (unsigned k = 0; k < f.n; k++)
        all_zero &= !(w[k] > 0);
    /* a fit that predicts no cycles (every weight 0, e.g. events that are
     * all zero or calibration CPIs of 0) is no estimate: say so, save nothing */
    if (!(est > 0) || !isfinite(est) || all_zero || !(mean > 0)) {
        ffwd_seterr("%s: the fit is degenerate (every weight %s, estimated CPI %g): the events do not explain "
                    "the measured CPIs; nothing was %s",
                    events, all_zero ? "is 0" : "fitted", est, save ? "saved" : "estimated");
        goto out;
    }
    printf("estimate: %zu intervals, %.0f instructions, %.0f cycles: CPI %.4f (IPC %.4f)\n", nall, insns, cycles, est,
           1 / est);
    json_object_update_new(jr, json_pack("{s:I, s:f, s:f, s:f, s:f}", "intervals", (json_int_t)nall, "instructions",
                                         insns, "cycles", cycles, "cpi", est, "ipc", 1 / est));
    if (samples && wcpi > 0)
        json_object_set_new(jr, "gem5_weighted_cpi", json_real(wcpi));
    if (ref > 0)
        json_object_set_new(jr, "reference_cpi", json_real(ref));
    if (samples && wcpi > 0)
        printf("gem5 SimPoint-weighted CPI %.4f: the estimate differs by %+.1f%%\n", wcpi, 100 * (est - wcpi) / wcpi);
    if (ref > 0)
        printf("reference CPI %.4f: the estimate differs by %+.1f%%\n", ref, 100 * (est - ref) / ref);
    if (hold) {
        struct est_row *ho = NULL;
        size_t nho = 0;
        double hw;
        if (load_samples(hold, tag, all, nall, &ho, &nho, &hw) < 0) {
            free(ho);
            goto out;
        }
        double err = 0, cm = 0, cp = 0, worst = 0;
        size_t used = 0;
        for (size_t i = 0; i < nho; i++) {
            bool in_cal = false;
            for (size_t k = 0; k < ncal; k++)
                in_cal |= cal[k].interval == ho[i].interval;
            if (in_cal)
                continue; /* held out means: not fitted on */
            double p = est_cpi(&ho[i], f.n, w), e = fabs(p - ho[i].cpi) / ho[i].cpi;
            err += e;
            worst = fmax(worst, e);
            cm += ho[i].cpi * (double)ho[i].insns;
            cp += p * (double)ho[i].insns;
            used++;
        }
        if (used)
            json_object_set_new(jr, "holdout", json_pack("{s:I, s:f, s:f, s:f, s:f}", "intervals", (json_int_t)used,
                                                         "mean_abs_cpi_error", err / (double)used, "worst_abs_cpi_error",
                                                         worst, "cycles_predicted", cp, "cycles_measured", cm));
        if (used)
            printf("held out: %zu intervals measured in gem5 and not fitted on: mean |CPI error| %.1f%%, worst %.1f%%; "
                   "their cycles: predicted %.0f, measured %.0f (%+.1f%%)\n",
                   used, 100 * err / (double)used, 100 * worst, cp, cm, 100 * (cp - cm) / cm);
        else
            printf("held out: every interval of %s is in the calibration set\n", hold);
        free(ho);
    }
    rc = save ? save_calibration(save, &f, cal, ncal, w, cpu) : 0;
    if (rc == 0 && save)
        ffwd_info("calibration saved: %s", save);
    if (rc == 0 && json) {
        if (save)
            json_object_set_new(jr, "saved", json_string(save));
        rc = cli_json_emit("estimate", json_incref(jr));
    }
out:
    json_decref(jr);
    free(all);
    free(cal);
    free(tag);
    return rc < 0 ? cli_fail() : 0;
}
