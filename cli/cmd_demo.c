/* cmd_demo.c -- `ffwd demo`: the README's main command. */
#include <getopt.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../gem5/verify.h"
#include "../gem5/writer.h"
#include "../image/guest_image.h"
#include "../qemu/run.h"
#include "cli.h"
#include "opts.h"

static void help(FILE *f)
{
    fprintf(f, "usage: ffwd demo [--out DIR] [--workload NAME] [--size N] [--console] [--timeout SEC] [--json]\n"
               "                 [PROFILE OPTIONS]\n"
               "\n"
               "The end-to-end demo: build the demo guest if needed (Debian arm64 kernel,\n"
               "busybox, ffwd's workloads, Debian's xz), boot it in QEMU under ffwd's\n"
               "gem5-compatible profile, capture the machine right before the workload\n"
               "(`ffwd-guest checkpoint`, into DIR/captures), run the workload between two\n"
               "markers, power off and print a summary (timings, markers, checksum, capture).\n"
               "\n"
               "  --out DIR          where the run directory and summary.json go (default ./ffwd-demo)\n"
               "  --workload NAME    ptrchase, sort, matmul (default) or xz\n"
               "  --size N           workload size (default: ptrchase 1048576, sort 262144, matmul 256)\n"
               "  --console          show the guest console\n"
               "  --timeout SEC      give up after SEC seconds (default 600)\n"
               "  --json             the summary as JSON on standard output (docs/json.md; also\n"
               "                     written to DIR/summary.json)\n"
               "\n" FFWD_PROFILE_OPTS_HELP);
}

static const struct {
    const char *name, *bin;
    uint64_t def;
} workloads[] = {
    {"ptrchase", "ffwd-ptrchase", 1ull << 20},
    {"sort", "ffwd-sort", 1ull << 18},
    {"matmul", "ffwd-matmul", 256},
    {"xz", NULL, 0},
};

/* The last line of the console log that contains `needle` (malloc'ed). */
static char *find_line(const char *log, const char *needle)
{
    size_t len;
    char *s = read_file(log, &len);
    if (!s)
        return NULL;
    char *found = NULL;
    for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strstr(l, needle)) {
            free(found);
            l[strcspn(l, "\r")] = 0;
            found = xstrdup(l);
        }
    free(s);
    return found;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option lo[] = {PROFILE_LONGOPTS,
                                       {"out", required_argument, 0, OPT_OUT},
                                       {"workload", required_argument, 0, OPT_WORKLOAD},
                                       {"size", required_argument, 0, OPT_SIZE},
                                       {"console", no_argument, 0, OPT_CONSOLE},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"timeout", required_argument, 0, OPT_TIMEOUT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct ffwd_vm_config cfg = {0};
    ffwd_profile_default(&cfg.prof);
    const char *out = "ffwd-demo", *wl = "matmul";
    uint64_t size = 0;
    double timeout = 600;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        int r = cli_profile_opt(&cfg.prof, c, optarg);
        if (r < 0)
            return cli_bad_value(help);
        if (r > 0)
            continue;
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case OPT_WORKLOAD: wl = optarg; break;
        case OPT_CONSOLE: cfg.echo_console = true; break;
        case OPT_JSON: json = true; break;
        case OPT_SIZE:
            if (cli_uint("--size", optarg, 1, UINT64_MAX, &size) < 0)
                return cli_bad_value(help);
            break;
        case OPT_TIMEOUT:
            if (cli_seconds("--timeout", optarg, &timeout) < 0)
                return cli_bad_value(help);
            break;
        case 'h': help(stdout); return 0;
        default: return cli_bad_option(c, argv, help);
        }
    }
    if (optind < argc)
        return cli_usage(help, "unexpected argument '%s'", argv[optind]);
    if (json)
        cli_json_start();
    int w = -1;
    for (int i = 0; i < (int)(sizeof workloads / sizeof *workloads); i++)
        if (!strcmp(workloads[i].name, wl))
            w = i;
    if (w < 0) {
        ffwd_seterr("--workload: unknown workload '%s' (ptrchase, sort, matmul, xz)", wl);
        return cli_bad_value(help);
    }
    if (!size)
        size = workloads[w].def;
    if (ffwd_profile_check(&cfg.prof) < 0)
        return cli_fail();

    if (mkdir_p(out, 0755) < 0)
        return cli_fail();
    struct guest_image gi;
    if (guest_image_get(&(struct guest_image_opts){0}, &gi) < 0)
        return cli_fail();
    cfg.kernel = gi.kernel;
    cfg.initrd = gi.initrd;
    cfg.disk = gi.demo_disk;
    char *run_dir = xasprintf("%s/run", out);
    cfg.run_dir = run_dir;
    char *cmd;
    if (workloads[w].bin)
        cmd = xasprintf("ffwd-guest checkpoint before-%s && ffwd-guest marker workload-start && %s %" PRIu64 "; st=$?; "
                        "ffwd-guest marker workload-done; ffwd-guest exit $st",
                        wl, workloads[w].bin, size);
    else
        cmd = xstrdup("ffwd-guest checkpoint before-xz && ffwd-guest marker workload-start && "
                      "/usr/bin/xz -6 -T1 -c /data/input.txt > /tmp/out.xz; st=$?; "
                      "ffwd-guest marker workload-done; echo \"xz: $(md5sum < /tmp/out.xz)\"; ffwd-guest exit $st");
    cfg.cmd = cmd;
    char *caps = xasprintf("%s/captures", out);
    struct ffwd_run_opts ro = {
        .timeout_s = timeout, .progress = true, .expect_marker = "workload-done", .capture_dir = caps};
    struct ffwd_run_result res;
    int r = ffwd_run_guest(&cfg, &ro, &res);
    free(cmd);
    guest_image_free(&gi);
    if (r < 0) {
        ffwd_run_result_free(&res);
        free(run_dir);
        free(caps);
        return cli_fail();
    }
    /* the capture becomes a gem5 checkpoint; with GEM5 set it is run and compared */
    char *ckpt = xasprintf("%s/gem5-checkpoint", out);
    bool converted = false, verified = false;
    const char *gem5 = getenv("GEM5");
    if (res.ncaptures) {
        rm_rf(ckpt);
        ffwd_progress("converting the capture into a gem5 checkpoint");
        struct gem5_convert_opts co = {.capture = res.captures[0], .out = ckpt};
        struct gem5_convert_result cr;
        converted = gem5_convert(&co, &cr) == 0;
        if (!converted)
            ffwd_warn("%s", ffwd_errmsg());
        if (converted && gem5 && *gem5) {
            ffwd_progress("restoring it in gem5 (%s) and comparing the guest output with QEMU's", gem5);
            struct gem5_verify_opts vo = {.checkpoint = ckpt, .gem5 = gem5, .cpu = "atomic", .max_seconds = 30};
            struct gem5_verify_result vr;
            verified = gem5_verify(&vo, &vr) == 0;
            if (!verified)
                ffwd_warn("%s", ffwd_errmsg());
        }
    }
    char *sumline = find_line(res.console_log, workloads[w].bin ? "checksum" : "xz: ");
    double t_start = -1, t_done = -1;
    for (unsigned i = 0; i < res.nmarkers; i++) {
        if (!strcmp(res.markers[i], "workload-start"))
            t_start = res.marker_t[i];
        if (!strcmp(res.markers[i], "workload-done"))
            t_done = res.marker_t[i];
    }
    printf("\nffwd demo summary\n"
           "  guest            Debian arm64 kernel + busybox, %s, %u vCPU, %llu MiB, GICv%d, %s\n"
           "  workload         %s (size %" PRIu64 ")\n"
           "  result           %s\n"
           "  command status   %d\n"
           "  kernel up        %.2f s\n"
           "  first marker     %.2f s\n"
           "  workload time    %.2f s (between the markers)\n"
           "  power-off        %.2f s\n"
           "  capture          %s (ffwd inspect shows it)\n"
           "  gem5 checkpoint  %s\n"
           "  gem5 restore     %s\n"
           "  console log      %s\n",
           cfg.prof.cpu, cfg.prof.smp, (unsigned long long)(cfg.prof.mem_bytes >> 20), cfg.prof.gic_version,
           cfg.prof.accel, wl, workloads[w].bin ? size : 0, sumline ? sumline : "(no result line)", res.cmd_status,
           res.t_kernel, res.nmarkers ? res.marker_t[0] : -1.0, t_done - t_start, res.t_exit,
           res.ncaptures ? res.captures[0] : "(none)", converted ? ckpt : "(not written)",
           !(gem5 && *gem5) ? "not run (set GEM5=/path/to/gem5.opt to restore it and compare outputs)"
           : verified       ? "output after the checkpoint matches QEMU's"
                            : "FAILED (see the warning above)",
           res.console_log);
    json_t *j = json_pack("{s:s,s:I,s:s?,s:i,s:f,s:f,s:f,s:f,s:s,s:s?}", "workload", wl, "size", (json_int_t)size,
                          "result", sumline, "command_status", res.cmd_status, "t_kernel", res.t_kernel,
                          "t_first_marker", res.nmarkers ? res.marker_t[0] : -1.0, "t_workload", t_done - t_start,
                          "t_poweroff", res.t_exit, "console_log", res.console_log, "capture",
                          res.ncaptures ? res.captures[0] : NULL);
    json_object_set_new(j, "gem5_checkpoint", converted ? json_string(ckpt) : json_null());
    json_object_set_new(j, "gem5_verified", gem5 && *gem5 ? json_boolean(verified) : json_null());
    if (json && cli_json_emit("demo", json_deep_copy(j)) < 0)
        ffwd_warn("%s", ffwd_errmsg());
    char *js = json_dumps(j, JSON_INDENT(2));
    char *sp = xasprintf("%s/summary.json", out);
    int wr = write_file_atomic(sp, js, strlen(js), 0644);
    free(sp);
    free(js);
    json_decref(j);
    free(sumline);
    free(run_dir);
    free(caps);
    free(ckpt);
    ffwd_run_result_free(&res);
    if (wr < 0)
        return cli_fail();
    if (res.cmd_status != 0) {
        ffwd_error("the workload exited with status %d", res.cmd_status);
        return 1;
    }
    if (gem5 && *gem5 && !verified)
        return 1;
    return 0;
}
