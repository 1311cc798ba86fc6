/*
 * cmd_landing.c -- `ffwd landing`: how well a rerun lands on a profile,
 * over every interval (the per-point check is part of `ffwd sample`).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/util.h"
#include "../sample/landing.h"
#include "cli.h"
#include "opts.h"

static void help(FILE *f)
{
    fprintf(f, "usage: ffwd landing PROFILE RERUN [--vcpu K] [--json]\n"
               "\n"
               "Compare every interval of a profile (PREFIX of `ffwd profile`) with the same\n"
               "interval of a rerun (DIR/landing/rerun of `ffwd sample`): the landing distance\n"
               "(SimPoint's Manhattan distance of the normalised BBVs, by code; 0 = same code in\n"
               "the same proportions, 2 = disjoint), and, for comparison, how far from each\n"
               "interval's start a rerun would land that stopped at the profile's count of every\n"
               "instruction instead of what the profile counts (in intervals).\n");
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *s, size_t n, double p) { return n ? s[(size_t)(p * (double)(n - 1) + 0.5)] : 0; }

int cmd_landing(int argc, char **argv)
{
    static const struct option lo[] = {{"vcpu", required_argument, 0, 'v'},
                                       {"json", no_argument, 0, 'j'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    uint64_t vcpu = 0;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'v':
            if (cli_uint("--vcpu", optarg, 0, 63, &vcpu) < 0)
                return cli_bad_value(help);
            break;
        case 'j': json = true; break;
        case 'h': help(stdout); return 0;
        default: return cli_bad_option(c, argv, help);
        }
    }
    if (argc - optind != 2)
        return cli_usage(help, "expects PROFILE and RERUN");
    struct landing_report r;
    if (landing_compare(argv[optind], argv[optind + 1], (unsigned)vcpu, &r) < 0)
        return cli_fail();
    double *d = xmalloc((r.n ? r.n : 1) * sizeof *d), *o = xmalloc((r.n ? r.n : 1) * sizeof *o);
    memcpy(d, r.distance, r.n * sizeof *d);
    memcpy(o, r.all_offset, r.n * sizeof *o);
    qsort(d, r.n, sizeof *d, cmp_d);
    qsort(o, r.n, sizeof *o, cmp_d);
    size_t over = 0, off1 = 0;
    for (size_t i = 0; i < r.n; i++) {
        over += r.distance[i] > LANDING_MAX_DISTANCE;
        off1 += r.all_offset[i] > 1.0;
    }
    if (json) {
        json_t *j = json_pack("{s:I, s:{s:f, s:f, s:f, s:I}, s:{s:f, s:f, s:f, s:I}}", "intervals",
                              (json_int_t)r.n, "distance", "median", pct(d, r.n, 0.5), "p90", pct(d, r.n, 0.9), "max",
                              pct(d, r.n, 1), "over_threshold", (json_int_t)over, "all_instruction_stop_offset",
                              "median", pct(o, r.n, 0.5), "p90", pct(o, r.n, 0.9), "max", pct(o, r.n, 1),
                              "over_one_interval", (json_int_t)off1);
        char *t = json_dumps(j, JSON_INDENT(2));
        puts(t);
        free(t);
        json_decref(j);
    } else {
        printf("%zu intervals compared\n", r.n);
        printf("landing distance:            median %.5f  p90 %.5f  max %.5f  (%zu over %.2f)\n", pct(d, r.n, 0.5),
               pct(d, r.n, 0.9), pct(d, r.n, 1), over, LANDING_MAX_DISTANCE);
        printf("stop at all-instruction count: median %.2f  p90 %.2f  max %.2f intervals off  (%zu more than one)\n",
               pct(o, r.n, 0.5), pct(o, r.n, 0.9), pct(o, r.n, 1), off1);
    }
    free(d);
    free(o);
    landing_report_free(&r);
    return 0;
}
