/*
 * cmd_sample.c -- `ffwd profile` (BBVs of a run) and `ffwd sample` (every
 * simulation point of that run captured in ONE rerun, each turned into a
 * gem5 checkpoint named as gem5's SimPoint configs name them).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../sample/landmarks.h"
#include "../gem5/simpoints.h"
#include "../gem5/writer.h"
#include "../sample/landmarks.h"
#include "../sample/sample.h"
#include "../sample/simpoint.h"
#include "boot_args.h"
#include "cli.h"

/* ---- ffwd profile ----------------------------------------------------------- */

static void profile_help(FILE *f)
{
    fprintf(f,
            "usage: ffwd profile --out PREFIX [--interval N] [--user] [--roi] [--range LO-HI] [--record]\n"
            "                    [--model [--l1i SPEC] [--l1d SPEC] [--l2 SPEC] [--llc SPEC] [--itlb SPEC]\n"
            "                     [--dtlb SPEC]] [--process roi|TTBR0] [--force] [--json] [GUEST OPTIONS] --cmd 'WORKLOAD'\n"
            "\n"
            "Run the guest once in QEMU (TCG) with ffwd's BBV plugin and write, per vCPU,\n"
            "PREFIX.<vcpu>.bb.gz: one basic-block vector per N counted instructions in\n"
            "SimPoint 3.2's format (input of `ffwd cluster`), PREFIX.positions: the exact\n"
            "instruction count at the start of every interval, and PREFIX.run.json: the\n"
            "machine and workload, so `ffwd sample` reruns exactly the same thing (and\n"
            "PREFIX.console.log: the guest console).\n"
            "Use --deterministic (and a workload without disk I/O, e.g. --append\n"
            "ffwd.root=none) so that the rerun reaches the same instruction counts, or\n"
            "--record: the rerun is then a replay of the whole machine, disk included.\n"
            "\n"
            "  --out PREFIX         output prefix (its folder must exist)\n"
            "  --interval N         counted instructions per interval (default 100000000)\n"
            "  --user               count user-mode blocks only (lower, TTBR0 half)\n"
            "  --roi                count only between `ffwd-guest roi-begin` and `roi-end`\n"
            "  --range LO-HI        count only blocks starting at virtual addresses in [LO, HI)\n"
            "  --process roi|TTBR0  count only while this address space is installed: the one that\n"
            "                       executes roi-begin itself (guest/ffwd-roi.h), or a TTBR0 value\n"
            "  --model              also run the memory plugin's cache/TLB/instruction-class model\n"
            "                       on the same intervals: PREFIX.<vcpu>.model.csv (`ffwd estimate\n"
            "                       --events`)\n"
            "  --l1i ... --dtlb     the model's geometry, as `ffwd trace record` (see `ffwd trace\n"
            "                       --help`); gem5/ffwd_stdlib.py's caches are --l1i 32K:8:64\n"
            "                       --l1d 32K:8:64 --l2 1M:4:64\n"
            "  --record             record the run with QEMU's record/replay (PREFIX.rr and\n"
            "                       PREFIX.rr.json; one vCPU, every instruction counted: no --user,\n"
            "                       --roi, --range, --process, --deterministic): `ffwd sample` replays\n"
            "                       it -- the same instructions, interrupts and disk completions -- and\n"
            "                       stops at each point by QEMU's own instruction count, exactly\n"
            "                       (docs/record-replay.md)\n"
            "  --force              replace an earlier profile with this PREFIX (refused otherwise)\n"
            "  --json               the result as JSON on standard output (docs/json.md)\n"
            "\n" FFWD_BOOT_OPTS_HELP "\n" FFWD_PROFILE_OPTS_HELP);
}

static json_t *profile_json(const struct boot_args *b, uint64_t interval, const char *filters)
{
    const struct ffwd_vm_config *c = &b->cfg;
    json_t *g = json_object();
    /* absolute paths: a rerun from another folder finds the same files */
    const char *files[3] = {c->kernel, c->initrd, c->disk}, *keys[3] = {"kernel", "initrd", "disk"};
    for (int i = 0; i < 3; i++)
        if (files[i]) {
            char *abs = realpath(files[i], NULL);
            json_object_set_new(g, keys[i], json_string(abs ? abs : files[i]));
            free(abs);
        }
    char sum[65];
    if (c->disk && sha256_file(c->disk, sum) == 0) /* checked before every rerun */
        json_object_set_new(g, "disk_sha256", json_string(sum));
    if (c->append)
        json_object_set_new(g, "append", json_string(c->append));
    if (c->cmd)
        json_object_set_new(g, "cmd", json_string(c->cmd));
    /* can a rerun execute the same instructions? `ffwd sample` says so per point */
    const char *why = ffwd_vm_unreproducible(c);
    json_object_set_new(g, "reproducible", json_boolean(!why));
    if (why)
        json_object_set_new(g, "unreproducible_why", json_string(why));
    return json_pack("{s:s, s:i, s:I, s:s, s:{s:i, s:I, s:i, s:s, s:b, s:I}, s:o}", "format", "ffwd-profile",
                     "version", 1, "interval", (json_int_t)interval, "filters", filters, "machine", "smp",
                     (int)c->prof.smp, "mem_bytes", (json_int_t)c->prof.mem_bytes, "gic", c->prof.gic_version, "accel",
                     c->prof.accel, "deterministic", c->prof.icount, "rng_seed",
                     c->prof.rng_seed_bytes ? (json_int_t)c->prof.rng_seed : -1, "guest", g);
}

int cmd_profile(int argc, char **argv)
{
    enum { O_INTERVAL = 1000, O_USER, O_ROI, O_RANGE, O_PROCESS, O_MODEL, O_RECORD, O_CACHE };
    static const struct option lo[] = {BOOT_LONGOPTS,
                                       {"out", required_argument, 0, OPT_OUT},
                                       {"interval", required_argument, 0, O_INTERVAL},
                                       {"user", no_argument, 0, O_USER},
                                       {"roi", no_argument, 0, O_ROI},
                                       {"range", required_argument, 0, O_RANGE},
                                       {"process", required_argument, 0, O_PROCESS},
                                       {"model", no_argument, 0, O_MODEL},
                                       {"record", no_argument, 0, O_RECORD},
                                       {"json", no_argument, 0, OPT_JSON},
                                       CLI_CACHE_LONGOPTS(O_CACHE),
                                       {"force", no_argument, 0, OPT_FORCE},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static struct boot_args b;
    boot_args_init(&b);
    const char *out = NULL, *range = NULL, *process = NULL;
    uint64_t interval = 100000000ULL;
    bool user = false, roi = false, model = false, force = false, json = false, record = false;
    struct sbuf geom = {0}; /* the model's geometry options, as plugin arguments */
    int c, li = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, &li)) != -1) {
        int r = boot_args_opt(&b, c, optarg);
        if (r < 0)
            return cli_bad_value(profile_help);
        if (r > 0)
            continue;
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case O_INTERVAL:
            if (cli_uint("--interval", optarg, 1000, UINT64_MAX, &interval) < 0)
                return cli_bad_value(profile_help);
            break;
        case O_USER: user = true; break;
        case O_ROI: roi = true; break;
        case OPT_FORCE: force = true; break;
        case O_MODEL: model = true; break;
        case O_RECORD: record = true; break;
        case OPT_JSON: json = true; break;
        case O_CACHE:
            if (cli_cache_opt(lo[li].name, optarg, &geom) < 0) {
                sbuf_free(&geom);
                return cli_bad_value(profile_help);
            }
            break;
        case O_RANGE:
            if (strchr(optarg, ',') || !strchr(optarg, '-')) {
                ffwd_seterr("--range: expected LO-HI (got '%s')", optarg);
                return cli_bad_value(profile_help);
            }
            range = optarg;
            break;
        case O_PROCESS:
            if (strchr(optarg, ',')) {
                ffwd_seterr("--process: roi or a TTBR0 value (got '%s')", optarg);
                return cli_bad_value(profile_help);
            }
            process = optarg;
            break;
        case 'h': profile_help(stdout); return 0;
        default: return cli_bad_option(c, argv, profile_help);
        }
    }
    if (optind < argc || !out) {
        sbuf_free(&geom);
        if (!out)
            return cli_usage(profile_help, "--out PREFIX is required");
        return cli_usage(profile_help, "unexpected argument '%s'", argv[optind]);
    }
    if (strcmp(b.cfg.prof.accel, "tcg")) {
        ffwd_seterr("--accel %s: ffwd profile needs tcg (basic blocks are counted by a TCG plugin)",
                    b.cfg.prof.accel);
        sbuf_free(&geom);
        return cli_bad_value(profile_help);
    }
    if (geom.len && !model) {
        ffwd_seterr("--l1i/--l1d/--l2/--llc/--itlb/--dtlb are the geometry of --model: give --model too");
        sbuf_free(&geom);
        return cli_bad_value(profile_help);
    }
    if (model && (user || range || process)) {
        ffwd_seterr("--model counts every instruction of the window: it does not combine with --user, --range "
                    "or --process (the intervals would not line up)");
        sbuf_free(&geom);
        return cli_bad_value(profile_help);
    }
    if (record && (user || roi || range || process)) {
        ffwd_seterr("--record: a replay stops at QEMU's own instruction count, which counts every instruction; "
                    "--user, --roi, --range and --process count less (profile without them, or without --record)");
        sbuf_free(&geom);
        return cli_bad_value(profile_help);
    }
    char *rj = xasprintf("%s.run.json", out), *rp = xasprintf("%s.positions", out), *rb = xasprintf("%s.0.bb.gz", out);
    int taken = cli_refuse_overwrite(force, rj, rp, rb, NULL);
    free(rj), free(rp), free(rb);
    if (taken < 0) {
        sbuf_free(&geom);
        return cli_fail();
    }
    if (json)
        cli_json_start();
    char *so = ffwd_plugin_path("bbv");
    struct sbuf filters = {0}, plug = {0};
    sbuf_addf(&filters, "mode=%s", user ? "user" : "all");
    if (roi)
        sbuf_addf(&filters, ",roi=on");
    if (range)
        sbuf_addf(&filters, ",range=%s", range);
    if (process)
        sbuf_addf(&filters, ",process=%s", process);
    /* landmarks: where reruns stop so that every rerun stops at the same instruction */
    sbuf_addf(&plug, "%s,out=%s,interval=%" PRIu64 ",landmark=%llu,%s", so, out, interval,
              interval < FFWD_LANDMARK_STEP ? (unsigned long long)interval : FFWD_LANDMARK_STEP, filters.s);
    free(so);
    if (model) { /* the same intervals: both plugins close them on the same rule */
        char *mso = ffwd_plugin_path("mem");
        sbuf_addf(&plug, "\n%s,out=%s,trace=off,model=on,interval=%" PRIu64 "%s%s", mso, out, interval,
                  roi ? ",roi=on" : "", geom.s ? geom.s : "");
        free(mso);
    }
    sbuf_free(&geom);
    b.cfg.plugin = plug.s;
    char *rr_file = record ? xasprintf("%s.rr", out) : NULL;
    if (record)
        b.cfg.rr_mode = "record", b.cfg.rr_file = rr_file;
    int bad = boot_args_check(&b) < 0 || ffwd_vm_rr_prepare(&b.cfg) < 0;
    if (bad || boot_args_prepare(&b) < 0) {
        free(rr_file);
        sbuf_free(&filters);
        sbuf_free(&plug);
        boot_args_free(&b);
        return bad ? cli_bad_value(profile_help) : cli_fail();
    }
    if (b.cfg.prof.icount && ffwd_vm_unreproducible(&b.cfg))
        ffwd_warn("%s; the profile says so, and `ffwd sample` warns at every point (the landing check is then "
                  "the only proof)",
                  ffwd_vm_unreproducible(&b.cfg));
    int rc = -1;
    struct ffwd_run_result *res = xcalloc(1, sizeof *res);
    char *meta = xasprintf("%s.run.json", out);
    json_t *pj = profile_json(&b, interval, filters.s);
    char *console = xasprintf("%s.console.log", out);
    b.ro.console_copy = console;
    double t0 = now_sec();
    struct sample_positions_meter tick = {.positions = xasprintf("%s.positions", out)}; /* the run's progress */
    ffwd_meter_start(&tick.m, "profile", "instructions", 0); /* the total is what the profile finds out */
    b.ro.tick = sample_positions_tick, b.ro.tick_arg = &tick;
    int gr = ffwd_run_guest(&b.cfg, &b.ro, res);
    ffwd_meter_end(&tick.m);
    free(tick.positions);
    if (gr < 0)
        goto out;
    if (res->cmd_status > 0) {
        ffwd_seterr("the guest command exited with status %d (console: %s)", res->cmd_status, res->console_log);
        goto out;
    }
    struct sample_positions pos;
    char *pp = xasprintf("%s.positions", out);
    int pr = sample_positions_read(pp, &pos);
    free(pp);
    if (pr < 0)
        goto out;
    if (record) { /* complete: PREFIX.rr.json vouches for it, run.json points at it */
        if (ffwd_vm_rr_record_done(&b.cfg) < 0) {
            sample_positions_free(&pos);
            goto out;
        }
        char *abs = realpath(rr_file, NULL);
        json_object_set_new(pj, "record", json_string(abs ? abs : rr_file));
        free(abs);
    }
    if (pos.nvcpus > 1) { /* which vCPU ran what was counted: the one to cluster and sample */
        json_t *vc = json_array();
        uint64_t sum = 0, best = 0;
        unsigned busiest = 0;
        uint64_t k[64]; /* struct sample_positions holds at most 64 vCPUs */
        for (unsigned v = 0; v < pos.nvcpus; v++) {
            k[v] = pos.has_end[v] ? pos.end_counted[v] : pos.n[v] ? pos.counted[v][pos.n[v] - 1] : 0;
            sum += k[v];
            if (k[v] > best)
                best = k[v], busiest = v;
        }
        for (unsigned v = 0; v < pos.nvcpus; v++) {
            double share = sum ? (double)k[v] / (double)sum : 0;
            json_array_append_new(vc, json_pack("{s:i, s:I, s:f, s:I}", "vcpu", (int)v, "counted", (json_int_t)k[v],
                                                "share", share, "intervals", (json_int_t)pos.n[v]));
            ffwd_info("vCPU %u counted %" PRIu64 " instructions (%.1f %% of all vCPUs')", v, k[v], 100.0 * share);
        }
        json_object_set_new(pj, "vcpus", vc);
        json_object_set_new(pj, "busiest_vcpu", json_integer(busiest));
        ffwd_info("vCPU %u ran most of what was counted: cluster %s.%u.bb.gz; `ffwd sample` follows vCPU %u "
                  "unless told --vcpu",
                  busiest, out, busiest, busiest);
    }
    json_object_set_new(pj, "seconds", json_real(now_sec() - t0));
    json_object_set_new(pj, "console_log", json_string(res->console_log));
    char *text = json_dumps(pj, JSON_INDENT(2) | JSON_SORT_KEYS);
    rc = write_file_atomic(meta, text, strlen(text), 0644);
    free(text);
    if (rc == 0) {
        for (unsigned v = 0; v < pos.nvcpus; v++)
            ffwd_info("vCPU %u: %zu intervals of %" PRIu64 " instructions -> %s.%u.bb.gz", v, pos.n[v], interval,
                      out, v);
        ffwd_info("profiled in %.1f s (whole run, QEMU + BBV plugin); positions: %s.positions; run: %s",
                  now_sec() - t0, out, meta);
        if (pos.nvcpus == 0 || pos.n[0] == 0)
            ffwd_warn("no interval was counted: check the filters (%s)", filters.s);
        if (json) {
            json_t *vc = json_array();
            for (unsigned v = 0; v < pos.nvcpus; v++) {
                char *bb = xasprintf("%s.%u.bb.gz", out, v);
                json_array_append_new(vc, json_pack("{s:i, s:I, s:s}", "vcpu", (int)v, "intervals",
                                                    (json_int_t)pos.n[v], "bbv", bb));
                free(bb);
            }
            char *pp2 = xasprintf("%s.positions", out);
            rc = cli_json_emit("profile", json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:f}", "prefix", out,
                                                    "run_json", meta, "positions", pp2, "console_log",
                                                    res->console_log, "interval", (json_int_t)interval, "filters",
                                                    filters.s, "vcpus", vc, "seconds", now_sec() - t0));
            free(pp2);
        }
        /* a region that lived for a blink is not what anyone meant */
        for (unsigned v = 0; (roi || process) && v < pos.nvcpus; v++) {
            uint64_t cnt = pos.has_end[v] ? pos.end_counted[v] : 0, all = pos.has_end[v] ? pos.end_self[v] : 0;
            if (pos.n[v] && all && (cnt < interval || cnt * 100 < all))
                ffwd_warn("vCPU %u: the region counted only %" PRIu64 " of %" PRIu64 " instructions (%.3f %%, %zu "
                          "interval%s): `ffwd-guest roi-begin` marks its own short-lived process; mark the "
                          "program with `ffwd-guest roi -- CMD ARGS` (the program and its children) or "
                          "FFWD_ROI_BEGIN() inside it",
                          v, cnt, all, 100.0 * (double)cnt / (double)all, pos.n[v], pos.n[v] == 1 ? "" : "s");
        }
    }
    sample_positions_free(&pos);
out:
    json_decref(pj);
    free(console);
    free(meta);
    ffwd_run_result_free(res);
    free(res);
    sbuf_free(&filters);
    sbuf_free(&plug);
    free(rr_file);
    boot_args_free(&b);
    return rc < 0 ? cli_fail() : 0;
}

/* ---- ffwd sample -------------------------------------------------------------- */

static void sample_help(FILE *f)
{
    fprintf(f,
            "usage: ffwd sample --profile PREFIX --out DIR [--simpoints FILE --weights FILE]\n"
            "                   [--warmup N] [--vcpu K] [--keep-captures] [--no-landing-check]\n"
            "                   [--max-distance D] [--gem5-src DIR] [--template CPT] [--json]\n"
            "                   [--timeout SEC] [--run-dir DIR] [--keep-run-dir] [--console] [--qemu PATH]\n"
            "\n"
            "Rerun the profiled workload (machine and command from PREFIX.run.json) once and\n"
            "capture every simulation point on the way, each WARMUP counted instructions before\n"
            "its interval starts (clamped at the start of the region), then convert each\n"
            "capture into a gem5 checkpoint DIR/cpt.simpoint_II_inst_N_weight_W_interval_L_warmup_U\n"
            "(gem5's own naming, II in order; N, L and U in instructions of the clustered vCPU\n"
            "as gem5 counts them: every instruction, kernel included).\n"
            "\n"
            "The rerun counts what the profile counted (its --user/--roi/--range/--process\n"
            "filters), so it stops at the same instruction of the program even when the kernel\n"
            "runs differently. It also records its own BBV: each point's landing distance\n"
            "(SimPoint's Manhattan distance between the profiled interval and the rerun's, by\n"
            "code) must be at most D (default 0.1), or the point is not taken.\n"
            "DIR/simpoints.json lists each point: cluster, interval, weight, counts asked and\n"
            "reached, the window gem5 must run, the landing distance, the EL and PC it stopped at.\n"
            "\n"
            "What is taken is kept: when points fail, DIR keeps the others (without\n"
            "simpoints.json) and the same command again retakes only the missing ones.\n"
            "\n"
            "  --profile PREFIX     what `ffwd profile --out PREFIX` wrote\n"
            "  --simpoints FILE     default PREFIX.<vcpu>.simpoints (from `ffwd cluster`)\n"
            "  --weights FILE       default PREFIX.<vcpu>.weights\n"
            "  --warmup N           counted instructions before each interval (default 0)\n"
            "  --vcpu K             whose BBV was clustered (default: the vCPU that counted the most,\n"
            "                       as PREFIX.run.json says; 0 for one vCPU)\n"
            "  --keep-captures      keep the captures (DIR/captures) next to the checkpoints\n"
            "  --no-landing-check   no BBV in the rerun (faster; the points carry no proof)\n"
            "  --max-distance D     landing distance allowed, in (0, 2] (default 0.1)\n"
            "  --json               the result as JSON on standard output (docs/json.md)\n"
            "  --gem5-src, --template  as for `ffwd convert`\n"
            "  --timeout, --run-dir, --keep-run-dir, --console, --qemu\n"
            "                       as for `ffwd boot`\n");
}

int cmd_sample(int argc, char **argv)
{
    enum { O_PROFILE = 1000, O_SIMPOINTS, O_WEIGHTS, O_WARMUP, O_VCPU, O_KEEP_CAPS, O_NO_CHECK, O_MAX_DIST };
    static const struct option lo[] = {{"profile", required_argument, 0, O_PROFILE},
                                       {"simpoints", required_argument, 0, O_SIMPOINTS},
                                       {"weights", required_argument, 0, O_WEIGHTS},
                                       {"warmup", required_argument, 0, O_WARMUP},
                                       {"vcpu", required_argument, 0, O_VCPU},
                                       {"keep-captures", no_argument, 0, O_KEEP_CAPS},
                                       {"no-landing-check", no_argument, 0, O_NO_CHECK},
                                       {"max-distance", required_argument, 0, O_MAX_DIST},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"out", required_argument, 0, OPT_OUT},
                                       {"gem5-src", required_argument, 0, OPT_GEM5_SRC},
                                       {"template", required_argument, 0, OPT_TEMPLATE},
                                       {"timeout", required_argument, 0, OPT_TIMEOUT},
                                       {"run-dir", required_argument, 0, OPT_RUN_DIR},
                                       {"keep-run-dir", no_argument, 0, OPT_KEEP_RUN_DIR},
                                       {"console", no_argument, 0, OPT_CONSOLE},
                                       {"qemu", required_argument, 0, OPT_QEMU},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct sample_opts so = {0};
    bool json = false;
    static struct boot_args b;
    boot_args_init(&b);
    uint64_t v;
    int c;
    bool vcpu_given = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        int r = (c == OPT_TIMEOUT || c == OPT_RUN_DIR || c == OPT_KEEP_RUN_DIR || c == OPT_CONSOLE || c == OPT_QEMU)
                    ? boot_args_opt(&b, c, optarg)
                    : 0;
        if (r < 0)
            return cli_bad_value(sample_help);
        if (r > 0)
            continue;
        switch (c) {
        case O_PROFILE: so.profile = optarg; break;
        case O_SIMPOINTS: so.simpoints = optarg; break;
        case O_WEIGHTS: so.weights = optarg; break;
        case O_WARMUP:
            if (cli_uint("--warmup", optarg, 0, UINT64_MAX, &so.warmup) < 0)
                return cli_bad_value(sample_help);
            break;
        case O_VCPU:
            if (cli_uint("--vcpu", optarg, 0, 63, &v) < 0)
                return cli_bad_value(sample_help);
            so.vcpu = (unsigned)v;
            vcpu_given = true;
            break;
        case O_KEEP_CAPS: so.keep_captures = true; break;
        case O_NO_CHECK: so.no_landing_check = true; break;
        case OPT_JSON: json = true; break;
        case O_MAX_DIST: {
            char *end;
            so.max_distance = strtod(optarg, &end);
            if (*end || end == optarg || !(so.max_distance > 0 && so.max_distance <= 2)) {
                ffwd_seterr("--max-distance: a number in (0, 2] (got '%s')", optarg);
                return cli_bad_value(sample_help);
            }
            break;
        }
        case OPT_OUT: so.out = optarg; break;
        case OPT_GEM5_SRC: so.gem5_src = optarg; break;
        case OPT_TEMPLATE: so.template_cpt = optarg; break;
        case 'h': sample_help(stdout); return 0;
        default: return cli_bad_option(c, argv, sample_help);
        }
    }
    if (optind < argc)
        return cli_usage(sample_help, "unexpected argument '%s'", argv[optind]);
    if (!so.profile || !so.out)
        return cli_usage(sample_help, "--profile PREFIX and --out DIR are required");
    if (!vcpu_given && !so.simpoints && sample_busiest_vcpu(so.profile, &so.vcpu) == 1)
        ffwd_info("following vCPU %u, which ran most of what the profile counted (%s.run.json; --vcpu K for "
                  "another)",
                  so.vcpu, so.profile);
    if (json)
        cli_json_start();
    struct sample_result r;
    int rc = sample_run(&so, &b.cfg, &b.ro, &r);
    boot_args_free(&b);
    if (rc < 0)
        return cli_fail();
    if (json) {
        json_t *pts = json_array();
        for (size_t i = 0; i < r.n; i++) {
            const struct sample_point_result *p = &r.points[i];
            char *path = xasprintf("%s/%s", so.out, p->checkpoint);
            json_array_append_new(
                pts, json_pack("{s:i, s:i, s:I, s:f, s:s, s:s%, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:b}", "index",
                               (int)p->index, "cluster", (int)p->cluster, "interval", (json_int_t)p->interval,
                               "weight", p->weight, "checkpoint", p->checkpoint, "path", path, strlen(path),
                               "start", (json_int_t)p->start,
                               "target", (json_int_t)p->target, "reached", (json_int_t)p->reached, "warmup",
                               (json_int_t)p->warmup, "start_all", (json_int_t)p->start_all, "end_all",
                               (json_int_t)p->end_all, "landing_distance", p->distance, "resumed", p->resumed));
            free(path);
        }
        char *sj = xasprintf("%s/simpoints.json", so.out);
        int jr = cli_json_emit("sample", json_pack("{s:s, s:s, s:o, s:f, s:f}", "out", so.out, "simpoints_json", sj,
                                                   "points", pts, "run_seconds", r.run_seconds, "convert_seconds",
                                                   r.convert_seconds));
        free(sj);
        if (jr < 0) {
            sample_result_free(&r);
            return cli_fail();
        }
    }
    for (size_t i = 0; i < r.n; i++)
        printf("%s\n", r.points[i].checkpoint);
    ffwd_info("%zu simulation points captured in one run (%.1f s) and converted (%.1f s): %s", r.n, r.run_seconds,
              r.convert_seconds, so.out);
    sample_result_free(&r);
    return 0;
}

/* ---- ffwd sample-run -------------------------------------------------------------- */

static void sample_run_help(FILE *f)
{
    fprintf(f,
            "usage: ffwd sample-run DIR --gem5 PATH [--cpu o3|timing|atomic] [--jobs N]\n"
            "                       [--config USER.py [--layout L]] [--measure N | --until-region-end]\n"
            "                       [--timeout SEC] [--force] [--retry-failed] [--json]\n"
            "                       [--slurm [--partition P] [--account A] [--time T] [--mem M]\n"
            "                        [--sbatch-arg OPT]... [--path-map LOCAL=REMOTE] [--no-wait | --collect]]\n"
            "\n"
            "Run every simulation-point checkpoint of `ffwd sample` (DIR) in real gem5 as\n"
            "gem5's SimPoint flow does: restore, switch to the CPU model, run the point's\n"
            "warm-up, reset the statistics, run one interval, dump the statistics, exit.\n"
            "Prints each point's CPI and the weighted CPI/IPC (sum of weight x CPI);\n"
            "writes DIR/gem5-CPU/results.json (gem5's output per point next to it).\n"
            "\n"
            "  --gem5 PATH          gem5.opt or gem5.fast, ARM build of stock v24.0 (also $GEM5)\n"
            "  --cpu TYPE           CPU model (default o3, with L1/L2 caches)\n"
            "  --config USER.py     the gem5 configuration that restores (default\n"
            "                       gem5/ffwd_restore.py), e.g. gem5/ffwd_stdlib.py or a copy; it\n"
            "                       takes --checkpoint, --cpu, --warmup-insts and --measure-insts\n"
            "                       (gem5/ffwd_board.py: run_simpoint). Results go to\n"
            "                       DIR/gem5-NAME-CPU (NAME: the script's name)\n"
            "  --layout L           the section names USER.py needs: stdlib-switchable (default\n"
            "                       with --config), stdlib, legacy, or the config.ini of its\n"
            "                       zero-tick dry run; each point is relabelled for it (see\n"
            "                       ffwd convert --layout)\n"
            "  --jobs N             gem5 processes at once (default 1)\n"
            "  --measure N          instructions measured per point (default: the window `ffwd\n"
            "                       sample` measured for it in the rerun, else the interval).\n"
            "                       A window always ends where the region does (the m5 work-end\n"
            "                       of `ffwd-guest roi`): it never measures past the region\n"
            "  --until-region-end   measure each point up to the region's end, whatever its\n"
            "                       window (at most 4 windows + 10^8 instructions); a point that\n"
            "                       does not reach it fails. For a whole-region reference run\n"
            "                       (ffwd study --full)\n"
            "  --timeout SEC        per point (default 7200; with --slurm: 3x gem5's rate for the\n"
            "                       window (atomic 3 M, timing/minor 1 M, O3 300 k instructions/s)\n"
            "                       + 10 min)\n"
            "  --force              measure again over an earlier DIR/gem5-CPU/results.json\n"
            "  --retry-failed       run the points that failed (or timed out) once more\n"
            "  --json               the result as JSON on standard output (docs/json.md)\n"
            "\n"
            "On a Slurm cluster (sbatch/squeue in PATH; DIR, gem5 and the configuration on a\n"
            "file system the nodes share):\n"
            "  --slurm              one job array, one task per point, submitted with sbatch and\n"
            "                       waited for; the script stays in DIR/gem5-CPU/slurm/job.sh\n"
            "  --partition P        sbatch's partition\n"
            "  --account A          sbatch's account\n"
            "  --time T             per point, Slurm's format (default: from --timeout or the rate\n"
            "                       estimate)\n"
            "  --mem M              per point, Slurm's format (default: the guest's RAM + 2 GiB for\n"
            "                       gem5 itself)\n"
            "  --sbatch-arg OPT     any other sbatch option, as one word (e.g.\n"
            "                       --sbatch-arg=--qos=long)\n"
            "  --path-map LOCAL=REMOTE\n"
            "                       the nodes see LOCAL/... as REMOTE/... (another mount point)\n"
            "  --no-wait            submit and return; `ffwd sample-run DIR --slurm --collect`\n"
            "                       gathers\n"
            "  --collect            wait for the earlier submission and gather its results\n");
}

int cmd_sample_run(int argc, char **argv)
{
    enum { O_JOBS = 1000, O_MEASURE, O_CONFIG, O_LAYOUT, O_SLURM, O_PART, O_ACCOUNT, O_TIME, O_MEM, O_SBATCH,
           O_PATHMAP, O_NOWAIT, O_COLLECT, O_RETRY, O_UNTIL_END };
    static const struct option lo[] = {{"gem5", required_argument, 0, OPT_GEM5},
                                       {"cpu", required_argument, 0, OPT_CPU},
                                       {"jobs", required_argument, 0, O_JOBS},
                                       {"measure", required_argument, 0, O_MEASURE},
                                       {"until-region-end", no_argument, 0, O_UNTIL_END},
                                       {"timeout", required_argument, 0, OPT_TIMEOUT},
                                       {"force", no_argument, 0, OPT_FORCE},
                                       {"config", required_argument, 0, O_CONFIG},
                                       {"layout", required_argument, 0, O_LAYOUT},
                                       {"slurm", no_argument, 0, O_SLURM},
                                       {"partition", required_argument, 0, O_PART},
                                       {"account", required_argument, 0, O_ACCOUNT},
                                       {"time", required_argument, 0, O_TIME},
                                       {"mem", required_argument, 0, O_MEM},
                                       {"sbatch-arg", required_argument, 0, O_SBATCH},
                                       {"path-map", required_argument, 0, O_PATHMAP},
                                       {"no-wait", no_argument, 0, O_NOWAIT},
                                       {"collect", no_argument, 0, O_COLLECT},
                                       {"retry-failed", no_argument, 0, O_RETRY},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct gem5_simpoints_opts o = {.gem5 = getenv("GEM5"), .cpu = "o3", .jobs = 1};
    struct gem5_slurm_opts so = {0};
    bool force = false, slurm = false, slurm_only = false, json = false;
    static const char **sbatch; /* --sbatch-arg, as many as given (static: reachable until exit) */
    sbatch = NULL;
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_GEM5: o.gem5 = optarg; break;
        case OPT_CPU:
            if (cli_gem5_cpu(optarg, &o.cpu) < 0)
                return cli_bad_value(sample_run_help);
            break;
        case O_JOBS:
            if (cli_uint("--jobs", optarg, 1, 256, &v) < 0)
                return cli_bad_value(sample_run_help);
            o.jobs = (unsigned)v;
            break;
        case O_MEASURE:
            if (cli_uint("--measure", optarg, 1, UINT64_MAX, &o.measure) < 0)
                return cli_bad_value(sample_run_help);
            break;
        case OPT_TIMEOUT:
            if (cli_seconds("--timeout", optarg, &o.timeout) < 0)
                return cli_bad_value(sample_run_help);
            break;
        case OPT_FORCE: force = true; break;
        case O_CONFIG: o.config = optarg; break;
        case O_LAYOUT: o.layout = optarg; break;
        case O_SLURM: slurm = true; break;
        case O_PART: so.partition = optarg, slurm_only = true; break;
        case O_ACCOUNT: so.account = optarg, slurm_only = true; break;
        case O_TIME: so.time = optarg, slurm_only = true; break;
        case O_MEM: so.mem = optarg, slurm_only = true; break;
        case O_SBATCH:
            sbatch = xrealloc(sbatch, (so.nsbatch_args + 1) * sizeof *sbatch);
            sbatch[so.nsbatch_args++] = optarg, slurm_only = true;
            break;
        case O_PATHMAP:
            if (optarg[0] != '/' || !strchr(optarg, '=') || strchr(optarg, '=')[1] != '/') {
                ffwd_seterr("--path-map: '%s' is not LOCAL=REMOTE (two absolute paths)", optarg);
                return cli_bad_value(sample_run_help);
            }
            so.path_map = optarg, slurm_only = true;
            break;
        case O_NOWAIT: so.no_wait = slurm_only = true; break;
        case O_COLLECT: so.collect = slurm_only = true; break;
        case O_RETRY: o.retry_failed = true; break;
        case O_UNTIL_END: o.until_region_end = true; break;
        case OPT_JSON: json = true; break;
        case 'h': sample_run_help(stdout); return 0;
        default: return cli_bad_option(c, argv, sample_run_help);
        }
    }
    if (optind != argc - 1)
        return cli_usage(sample_run_help, "expects one DIR (what `ffwd sample` wrote)");
    if (slurm_only && !slurm) {
        ffwd_seterr("--partition, --account, --time, --mem, --sbatch-arg, --path-map, --no-wait and --collect "
                    "are for --slurm");
        return cli_bad_value(sample_run_help);
    }
    if (so.no_wait && so.collect) {
        ffwd_seterr("--no-wait submits, --collect gathers: give one");
        return cli_bad_value(sample_run_help);
    }
    if (o.measure && o.until_region_end) {
        ffwd_seterr("--measure N measures N instructions, --until-region-end up to the region's end: give one");
        return cli_bad_value(sample_run_help);
    }
    if (slurm) {
        so.sbatch_args = sbatch;
        o.slurm = &so;
    }
    if (cli_need_gem5(o.gem5) < 0)
        return cli_bad_value(sample_run_help);
    o.dir = argv[optind];
    char *tag = NULL;
    if (o.layout && !o.config) {
        ffwd_seterr("--layout names the sections of a --config: give the configuration too");
        return cli_bad_value(sample_run_help);
    }
    if (o.config) {
        if (!o.layout)
            o.layout = "stdlib-switchable";
        tag = gem5_results_tag(o.config, o.cpu);
        o.tag = tag;
    }
    char *res = xasprintf("%s/gem5-%s/results.json", o.dir, o.tag ? o.tag : o.cpu);
    /* gathering an earlier submission replaces nothing of its own */
    int taken = so.collect ? 0 : cli_refuse_overwrite(force, res, NULL);
    free(res);
    if (taken < 0)
        return cli_fail();
    if (json)
        cli_json_start();
    struct gem5_simpoints_result r;
    int sr = gem5_simpoints_run(&o, &r);
    if (sr < 0) {
        free(tag);
        gem5_simpoints_free(&r);
        return cli_fail();
    }
    if (json) {
        json_t *runs = json_array();
        for (size_t i = 0; i < r.n; i++) {
            const struct gem5_simpoint_run *p = &r.runs[i];
            json_array_append_new(runs, json_pack("{s:i, s:i, s:f, s:s, s:I, s:I, s:f, s:b, s:f, s:s?}", "index",
                                                  (int)p->index, "cluster", (int)p->cluster, "weight", p->weight,
                                                  "checkpoint", p->checkpoint, "cycles", (json_int_t)p->cycles,
                                                  "instructions", (json_int_t)p->insts, "cpi", p->cpi,
                                                  "region_end", p->region_end, "seconds", p->seconds, "error",
                                                  p->error[0] ? p->error : NULL));
        }
        char *rj = r.submitted ? NULL : xasprintf("%s/gem5-%s/results.json", o.dir, o.tag ? o.tag : o.cpu);
        int jr = cli_json_emit("sample-run",
                               json_pack("{s:s, s:s, s:s?, s:b, s:s?, s:o, s:f, s:f, s:f}", "dir", o.dir, "cpu", o.cpu,
                                         "config", o.config, "submitted", r.submitted, "results_json", rj, "points",
                                         runs, "weighted_cpi", r.weighted_cpi, "weighted_ipc", r.weighted_ipc,
                                         "seconds", r.seconds));
        free(rj);
        if (jr < 0) {
            free(tag);
            gem5_simpoints_free(&r);
            return cli_fail();
        }
    }
    free(tag); /* o.tag: the results' folder name, used above */
    if (r.submitted) {
        printf("submitted; gather the results with: ffwd sample-run %s --slurm --collect%s%s\n", o.dir,
               o.config ? " --config " : "", o.config ? o.config : "");
        gem5_simpoints_free(&r);
        return 0;
    }
    printf("%-6s %-8s %-9s %14s %14s %8s\n", "point", "cluster", "weight", "cycles", "instructions", "CPI");
    for (size_t i = 0; i < r.n; i++)
        printf("%-6u %-8u %-9.4f %14" PRIu64 " %14" PRIu64 " %8.4f\n", r.runs[i].index, r.runs[i].cluster,
               r.runs[i].weight, r.runs[i].cycles, r.runs[i].insts, r.runs[i].cpi);
    printf("weighted CPI %.4f, IPC %.4f (%s, %.0f s of gem5)\n", r.weighted_cpi, r.weighted_ipc, o.cpu, r.seconds);
    gem5_simpoints_free(&r);
    return 0;
}
