/* cmd_cluster.c -- `ffwd cluster`: SimPoint 3.2 clustering of a BBV file. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../sample/simpoint.h"
#include "cli.h"
#include "opts.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ffwd cluster BBV [OPTIONS]\n"
            "\n"
            "Choose simulation points from basic-block vectors (SimPoint 3.2's format, gzip'd or\n"
            "plain; e.g. PREFIX.0.bb.gz from `ffwd profile`) with SimPoint 3.2's method: random\n"
            "projection, weighted k-means with several initialisations, BIC-scored binary search\n"
            "for k. Writes OUT.simpoints (\"<interval> <cluster>\"), OUT.weights (\"<weight>\n"
            "<cluster>\"), OUT.labels (\"<cluster> <distance>\" per interval) -- the files gem5's\n"
            "configs read -- and OUT.svg, a phase plot of interval -> cluster.\n"
            "\n"
            "Options:\n"
            "  --out PREFIX         output prefix (default: BBV without .bb.gz / .bb)\n"
            "  --force              replace earlier PREFIX.simpoints/.weights/.labels/.svg\n"
            "  --maxk K             largest k the search tries (default 30)\n"
            "  --k K                exactly K clusters, no search\n"
            "  --dim D              projected dimensions (default 15)\n"
            "  --seeds N            k-means initialisations per k, best BIC kept (default 5)\n"
            "  --iters N            k-means iterations at most (default 100)\n"
            "  --init samp|ff       initial centres: random sample (default) or furthest-first\n"
            "  --bic-threshold T    smallest k with BIC >= min + T * (max - min) (default 0.9)\n"
            "  --seed N             random seed (projection and initialisation)\n"
            "  --fixed-length       weigh every interval equally (default: by its instructions,\n"
            "                       so a partial last interval counts for what it holds)\n"
            "  --threads N          k-means runs at once (default: one per CPU); the result is the\n"
            "                       same for any N\n"
            "  --json               the result as JSON on standard output (docs/json.md)\n"
            "\n"
            "Memory: one pass over the input, intervals x D doubles; the projection matrix is\n"
            "generated from a hash, never stored, so millions of distinct blocks cost nothing.\n");
}

int cmd_cluster(int argc, char **argv)
{
    enum { O_MAXK = 1000, O_K, O_DIM, O_SEEDS, O_ITERS, O_INIT, O_BIC, O_SEED, O_FIXED, O_THREADS };
    static const struct option lo[] = {{"out", required_argument, 0, OPT_OUT},
                                       {"force", no_argument, 0, OPT_FORCE},
                                       {"maxk", required_argument, 0, O_MAXK},
                                       {"k", required_argument, 0, O_K},
                                       {"dim", required_argument, 0, O_DIM},
                                       {"seeds", required_argument, 0, O_SEEDS},
                                       {"iters", required_argument, 0, O_ITERS},
                                       {"init", required_argument, 0, O_INIT},
                                       {"bic-threshold", required_argument, 0, O_BIC},
                                       {"seed", required_argument, 0, O_SEED},
                                       {"fixed-length", no_argument, 0, O_FIXED},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"threads", required_argument, 0, O_THREADS},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct simpoint_opts so;
    simpoint_default_opts(&so);
    uint64_t dim = 15, v, proj_seed = 2042712918;
    bool fixed = false;
    const char *out = NULL;
    bool force = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case OPT_FORCE: force = true; break;
        case O_MAXK:
            if (cli_uint("--maxk", optarg, 1, 1000, &v) < 0)
                return cli_bad_value(help);
            so.maxk = (unsigned)v;
            break;
        case O_K:
            if (cli_uint("--k", optarg, 1, 1000, &v) < 0)
                return cli_bad_value(help);
            so.k = (unsigned)v;
            break;
        case O_DIM:
            if (cli_uint("--dim", optarg, 1, 1000, &dim) < 0)
                return cli_bad_value(help);
            break;
        case O_SEEDS:
            if (cli_uint("--seeds", optarg, 1, 1000, &v) < 0)
                return cli_bad_value(help);
            so.seeds = (unsigned)v;
            break;
        case O_ITERS:
            if (cli_uint("--iters", optarg, 1, 100000, &v) < 0)
                return cli_bad_value(help);
            so.iters = (unsigned)v;
            break;
        case O_INIT:
            if (strcmp(optarg, "samp") && strcmp(optarg, "ff")) {
                ffwd_seterr("--init: must be samp or ff (got '%s')", optarg);
                return cli_bad_value(help);
            }
            so.furthest_first = !strcmp(optarg, "ff");
            break;
        case O_BIC: {
            char *end;
            so.bic_threshold = strtod(optarg, &end);
            if (end == optarg || *end || !(so.bic_threshold >= 0 && so.bic_threshold <= 1)) {
                ffwd_seterr("--bic-threshold: '%s' is not a number in [0, 1]", optarg);
                return cli_bad_value(help);
            }
            break;
        }
        case O_SEED:
            if (cli_uint("--seed", optarg, 0, UINT64_MAX, &so.seed) < 0)
                return cli_bad_value(help);
            proj_seed = so.seed ^ 0x5eedULL;
            break;
        case O_FIXED: fixed = true; break;
        case OPT_JSON: json = true; break;
        case O_THREADS:
            if (cli_uint("--threads", optarg, 1, 1024, &v) < 0)
                return cli_bad_value(help);
            so.threads = (unsigned)v;
            break;
        case 'h': help(stdout); return 0;
        default: return cli_bad_option(c, argv, help);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(help, "expects one BBV file");
    const char *in = argv[optind];
    if (json)
        cli_json_start();
    char *prefix = out ? xstrdup(out) : xstrdup(in);
    if (!out) {
        size_t l = strlen(prefix);
        if (l > 6 && !strcmp(prefix + l - 6, ".bb.gz"))
            prefix[l - 6] = 0;
        else if (l > 3 && !strcmp(prefix + l - 3, ".bb"))
            prefix[l - 3] = 0;
    }
    char *spo = xasprintf("%s.simpoints", prefix), *svo = xasprintf("%s.svg", prefix);
    int taken = cli_refuse_overwrite(force, spo, svo, NULL);
    free(spo), free(svo);
    if (taken < 0) {
        free(prefix);
        return cli_fail();
    }
    struct bbv_data d;
    double t0 = now_sec();
    if (bbv_load(in, (unsigned)dim, proj_seed, fixed, &d) < 0) {
        free(prefix);
        return cli_fail();
    }
    double t1 = now_sec();
    ffwd_info("%s: %zu intervals, %llu distinct blocks (largest id), %llu id:count entries; read and projected "
              "in %.2f s",
              in, d.n, (unsigned long long)d.max_id, (unsigned long long)d.entries, t1 - t0);
    struct simpoint_result r;
    if (simpoint_cluster(&d, &so, &r) < 0) {
        bbv_free(&d);
        free(prefix);
        return cli_fail();
    }
    double t2 = now_sec();
    for (unsigned i = 0; i < r.ntried; i++)
        ffwd_debug("k = %u: BIC %.6g", r.tried_k[i], r.tried_bic[i]);
    char *svg = xasprintf("%s.svg", prefix);
    int rc = simpoint_write(prefix, &d, &r) < 0 || simpoint_svg(svg, &d, &r, in) < 0 ? -1 : 0;
    if (rc == 0) {
        ffwd_info("k = %u chosen (tried %u values of k) in %.2f s; %zu simulation points:", r.k, r.ntried, t2 - t1,
                  r.npoints);
        for (size_t i = 0; i < r.npoints; i++)
            printf("interval %zu  cluster %u  weight %.4f\n", r.points[i].interval, r.points[i].cluster,
                   r.points[i].weight);
        ffwd_info("wrote %s.simpoints, %s.weights, %s.labels, %s", prefix, prefix, prefix, svg);
    }
    if (rc == 0 && json) {
        json_t *pts = json_array(), *tried = json_array();
        for (size_t i = 0; i < r.npoints; i++)
            json_array_append_new(pts, json_pack("{s:I, s:i, s:f}", "interval", (json_int_t)r.points[i].interval,
                                                 "cluster", (int)r.points[i].cluster, "weight", r.points[i].weight));
        for (unsigned i = 0; i < r.ntried; i++)
            json_array_append_new(tried, json_pack("{s:i, s:f}", "k", (int)r.tried_k[i], "bic", r.tried_bic[i]));
        char *f[4] = {xasprintf("%s.simpoints", prefix), xasprintf("%s.weights", prefix),
                      xasprintf("%s.labels", prefix), xstrdup(svg)};
        rc = cli_json_emit("cluster",
                           json_pack("{s:s, s:I, s:I, s:i, s:o, s:o, s:{s:s, s:s, s:s, s:s}, s:f}", "bbv", in,
                                     "intervals", (json_int_t)d.n, "blocks", (json_int_t)d.max_id, "k", (int)r.k,
                                     "points", pts, "tried", tried, "files", "simpoints", f[0], "weights", f[1],
                                     "labels", f[2], "svg", f[3], "seconds", now_sec() - t0));
        for (int i = 0; i < 4; i++)
            free(f[i]);
    }
    free(svg);
    simpoint_result_free(&r);
    bbv_free(&d);
    free(prefix);
    return rc < 0 ? cli_fail() : 0;
}
