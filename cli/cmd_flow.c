/*
 * cmd_flow.c -- `ffwd flow record|report`: control-flow profiles (system
 * calls, function calls, loops per process) with ffwd's flow plugin.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/paths.h"
#include "../common/util.h"
#include "../flow/flow.h"
#include "boot_args.h"
#include "cli.h"

static void flow_help(FILE *f)
{
    fprintf(f, "usage: ffwd flow record --out PREFIX [OPTIONS] [GUEST OPTIONS] --cmd 'WORKLOAD'\n"
               "       ffwd flow report PREFIX [--disk IMAGE] [--symbols DIR]... [--top N] [--json]\n"
               "\n"
               "Control-flow profiles: per guest process, its system calls, function calls and\n"
               "loops, counted exactly in instructions (ffwd's flow plugin). `ffwd flow record|report\n"
               "--help` describes each; docs/flow.md the method and the files.\n");
}

static void record_help(FILE *f)
{
    fprintf(f,
            "usage: ffwd flow record --out PREFIX [--no-loops] [--roi] [--process roi|TTBR0]\n"
            "                        [--symbols DIR]... [--top N] [--json] [GUEST OPTIONS] --cmd 'WORKLOAD'\n"
            "\n"
            "Run the guest once in QEMU (TCG) with ffwd's flow plugin and write:\n"
            "  PREFIX.flow.raw      what the plugin counted (addresses; `ffwd flow report` names them)\n"
            "  PREFIX.flow.json     per process: system calls (count, kernel instructions, histogram),\n"
            "                       functions (calls, inclusive and exclusive instructions), caller ->\n"
            "                       callee calls, loops (executions, iterations, trip-count histogram)\n"
            "  PREFIX.folded        folded stacks (\"proc;main;f;g INSTRUCTIONS\"), for flame-graph tools\n"
            "  PREFIX.svg           a flame graph of each process (self-contained SVG)\n"
            "and print the top system calls, functions and loops of each process.\n"
            "\n"
            "  --out PREFIX         output prefix (its folder must exist)\n"
            "  --no-loops           calls and system calls only (cheaper)\n"
            "  --roi                only between `ffwd-guest roi-begin` and `roi-end`\n"
            "  --process roi|TTBR0  only the region's tasks (`ffwd-guest roi -- CMD`), or one address space\n"
            "  --symbols DIR        look for the guest's ELF files here first (DIR/usr/bin/xz, DIR/xz);\n"
            "                       as many as wanted. Then ffwd's own guest programs, then the disk\n"
            "  --top N              rows per table in the printed report (default 10)\n"
            "  --json               the profile (PREFIX.flow.json) on standard output instead\n"
            "\n" FFWD_BOOT_OPTS_HELP "\n" FFWD_PROFILE_OPTS_HELP);
}

static void report_help(FILE *f)
{
    fprintf(f, "usage: ffwd flow report PREFIX [--disk IMAGE] [--symbols DIR]... [--top N] [--json]\n"
               "\n"
               "Name and print a flow profile (PREFIX.flow.raw of `ffwd flow record`) again, e.g. with\n"
               "other symbol files: the top system calls, functions and loops of each process.\n"
               "\n"
               "  --disk IMAGE         the guest's root disk, raw ext4 (default: the demo guest's)\n"
               "  --symbols DIR        look for the guest's ELF files here first; as many as wanted\n"
               "  --top N              rows per table (default 10)\n"
               "  --json               the profile as JSON on standard output\n");
}

enum { O_NOLOOPS = 1000, O_ROI, O_PROCESS, O_SYMBOLS, O_TOP, O_JSON };

/* What both commands print and where they look for symbols. */
struct view {
    const char **dirs;
    size_t ndirs;
    uint64_t top;
    bool json;
};

/* 1: option taken, 0: not a view option, -1: bad value (error set). */
static int view_opt(struct view *v, int c, const char *arg)
{
    switch (c) {
    case O_SYMBOLS:
        v->dirs = xrealloc(v->dirs, (v->ndirs + 1) * sizeof *v->dirs);
        v->dirs[v->ndirs++] = arg;
        return 1;
    case O_TOP: return cli_uint("--top", arg, 1, 100000, &v->top) < 0 ? -1 : 1;
    case O_JSON: v->json = true; return 1;
    default: return 0;
    }
}

/* Name PREFIX.flow.raw and write (or print) what the user asked for. */
static int analyze(const char *prefix, const char *disk, const struct view *v, bool write_files)
{
    char *gd = ffwd_guest_bin_dir();
    char *unstripped = gd ? xasprintf("%s/unstripped", gd) : NULL;
    free(gd);
    struct elf_files files = {.disk = disk, .dirs = v->dirs, .ndirs = v->ndirs, .guest_unstripped = unstripped};
    struct flow_profile fp;
    char *raw = xasprintf("%s.flow.raw", prefix);
    int rc = flow_load(raw, &files, &fp);
    free(raw);
    elf_files_free(&files);
    free(unstripped);
    if (rc < 0)
        return -1;
    json_t *j = flow_json(&fp);
    if (write_files) {
        char *jp = xasprintf("%s.flow.json", prefix), *fo = xasprintf("%s.folded", prefix),
             *sv = xasprintf("%s.svg", prefix);
        char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        rc = write_file_atomic(jp, text, strlen(text), 0644);
        free(text);
        if (rc == 0)
            rc = flow_write_folded(&fp, fo);
        if (rc == 0)
            rc = flow_write_svg(&fp, sv);
        if (rc == 0)
            ffwd_info("flow profile: %s, %s, %s", jp, fo, sv);
        free(jp), free(fo), free(sv);
    }
    if (rc == 0 && v->json)
        rc = cli_json_emit("flow", json_incref(j));
    else if (rc == 0)
        flow_report(&fp, stdout, (unsigned)v->top);
    json_decref(j);
    flow_free(&fp);
    return rc;
}

static int flow_record(int argc, char **argv)
{
    static const struct option lo[] = {BOOT_LONGOPTS,
                                       {"out", required_argument, 0, OPT_OUT},
                                       {"no-loops", no_argument, 0, O_NOLOOPS},
                                       {"roi", no_argument, 0, O_ROI},
                                       {"process", required_argument, 0, O_PROCESS},
                                       {"symbols", required_argument, 0, O_SYMBOLS},
                                       {"top", required_argument, 0, O_TOP},
                                       {"json", no_argument, 0, O_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static struct boot_args b;
    boot_args_init(&b);
    const char *out = NULL, *process = NULL;
    static struct view v;
    v = (struct view){.top = 10};
    bool loops = true, roi = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        int r = boot_args_opt(&b, c, optarg);
        if (!r)
            r = view_opt(&v, c, optarg);
        if (r < 0)
            return cli_bad_value(record_help);
        if (r > 0)
            continue;
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case O_NOLOOPS: loops = false; break;
        case O_ROI: roi = true; break;
        case O_PROCESS:
            if (strchr(optarg, ',')) {
                ffwd_seterr("--process: roi or a TTBR0 value (got '%s')", optarg);
                return cli_bad_value(record_help);
            }
            process = optarg;
            break;
        case 'h': record_help(stdout); return 0;
        default: return cli_bad_option(c, argv, record_help);
        }
    }
    if (optind < argc)
        return cli_usage(record_help, "unexpected argument '%s'", argv[optind]);
    if (!out)
        return cli_usage(record_help, "--out PREFIX is required");
    if (strcmp(b.cfg.prof.accel, "tcg")) {
        ffwd_seterr("--accel %s: ffwd flow needs tcg (its plugin is a TCG plugin)", b.cfg.prof.accel);
        return cli_bad_value(record_help);
    }
    if (v.json)
        cli_json_start();
    char *so = ffwd_plugin_path("flow");
    struct sbuf plug = {0};
    sbuf_addf(&plug, "%s,out=%s.flow.raw,loops=%s%s%s%s", so, out, loops ? "on" : "off", roi ? ",roi=on" : "",
              process ? ",process=" : "", process ? process : "");
    free(so);
    b.cfg.plugin = plug.s;
    int bad = boot_args_check(&b) < 0;
    if (bad || boot_args_prepare(&b) < 0) {
        sbuf_free(&plug);
        boot_args_free(&b);
        return bad ? cli_bad_value(record_help) : cli_fail();
    }
    char *console = xasprintf("%s.console.log", out);
    b.ro.console_copy = console;
    struct ffwd_run_result *res = xcalloc(1, sizeof *res);
    double t0 = now_sec();
    int rc = ffwd_run_guest(&b.cfg, &b.ro, res);
    if (rc == 0 && res->cmd_status > 0)
        rc = ffwd_seterr("the guest command exited with status %d (console: %s)", res->cmd_status, res->console_log);
    if (rc == 0) {
        ffwd_info("recorded in %.1f s", now_sec() - t0);
        rc = analyze(out, b.cfg.disk, &v, true);
    }
    ffwd_run_result_free(res);
    free(res);
    free(console);
    sbuf_free(&plug);
    boot_args_free(&b);
    free(v.dirs);
    return rc < 0 ? cli_fail() : 0;
}

static int flow_report_cmd(int argc, char **argv)
{
    static const struct option lo[] = {{"disk", required_argument, 0, 'd'}, {"symbols", required_argument, 0, O_SYMBOLS},
                                       {"top", required_argument, 0, O_TOP}, {"json", no_argument, 0, O_JSON},
                                       {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *disk = NULL;
    static struct view v;
    v = (struct view){.top = 10};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        int r = view_opt(&v, c, optarg);
        if (r < 0)
            return cli_bad_value(report_help);
        if (r > 0)
            continue;
        switch (c) {
        case 'd': disk = optarg; break;
        case 'h': report_help(stdout); return 0;
        default: return cli_bad_option(c, argv, report_help);
        }
    }
    if (optind != argc - 1) {
        free(v.dirs);
        return optind < argc ? cli_usage(report_help, "unexpected argument '%s'", argv[optind + 1])
                             : cli_usage(report_help, "PREFIX is required (of PREFIX.flow.raw)");
    }
    const char *prefix = argv[optind];
    struct guest_image gi = {0};
    struct guest_image_opts go = {.quiet = true};
    if (!disk && guest_image_get(&go, &gi) == 0) /* the demo guest's disk (built if needed) */
        disk = gi.demo_disk;
    if (v.json)
        cli_json_start();
    int rc = analyze(prefix, disk, &v, false);
    guest_image_free(&gi);
    free(v.dirs);
    return rc < 0 ? cli_fail() : 0;
}

int cmd_flow(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(flow_help, "record or report?");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        flow_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "record"))
        return flow_record(argc - 1, argv + 1);
    if (!strcmp(argv[1], "report"))
        return flow_report_cmd(argc - 1, argv + 1);
    return cli_usage(flow_help, "flow: '%s' is not record or report", argv[1]);
}
