/* cmd_capture.c -- `ffwd capture` and `ffwd inspect`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/capture.h"
#include "../capture/inspect.h"
#include "../common/log.h"
#include "cli.h"
#include "opts.h"

static void capture_help(FILE *f)
{
    fprintf(f, "usage: ffwd capture RUN_DIR [--out DIR] [--name NAME] [--stay-stopped | --background]\n"
               "                    [--via-savevm] [--timeout SEC] [--json]\n"
               "\n"
               "Freeze the running QEMU of RUN_DIR (started by `ffwd boot`), save its complete\n"
               "machine state -- vCPUs, GIC, timer, UART, RTC, virtio-mmio disk transport, RAM\n"
               "(zero pages as holes) and the disk sectors written since boot -- as a capture\n"
               "directory (docs/capture-format.md), then let the guest continue.\n"
               "\n"

               "  --out DIR        where the capture goes (default RUN_DIR/captures)\n"
               "  --name NAME      capture directory name (default capture-<UTC time>-<n>);\n"
               "                   an existing capture is never overwritten\n"
               "  --stay-stopped   leave the guest paused afterwards (RAM is copied while it is)\n"
               "  --background     stop the guest only for its device state, the disk delta and\n"
               "                   QEMU's arming of a write protection of RAM (~0.2 s per GiB);\n"
               "                   RAM is saved by QEMU's background snapshot while the guest runs\n"
               "                   on (a page is saved before the guest changes it: RAM as at the\n"
               "                   stop). The whole guest RAM becomes resident on the host\n"
               "  --via-savevm     take the device state with QEMU's savevm into the disk overlay\n"
               "                   (read back from that snapshot, which is then deleted) instead\n"
               "                   of a migration: what QEMU allows under record/replay, where a\n"
               "                   migration aborts it (docs/record-replay.md); needs a disk\n"
               "  --timeout SEC    limit for each step talking to QEMU (default 60)\n"
               "  --json           the result as JSON on standard output (docs/json.md)\n");
}

int cmd_capture(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, 0, OPT_OUT},
                                       {"name", required_argument, 0, OPT_NAME},
                                       {"stay-stopped", no_argument, 0, OPT_STAY},
                                       {"background", no_argument, 0, 1000},
                                       {"via-savevm", no_argument, 0, 1001},
                                       {"timeout", required_argument, 0, OPT_TIMEOUT},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *out = NULL, *name = NULL;
    bool resume = true, json = false, background = false, savevm = false;
    double timeout = 60;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case OPT_NAME: name = optarg; break;
        case OPT_STAY: resume = false; break;
        case 1000: background = true; break;
        case 1001: savevm = true; break;
        case OPT_JSON: json = true; break;
        case OPT_TIMEOUT:
            if (cli_seconds("--timeout", optarg, &timeout) < 0)
                return cli_bad_value(capture_help);
            break;
        case 'h': capture_help(stdout); return 0;
        default: return cli_bad_option(c, argv, capture_help);
        }
    }
    if (optind != argc - 1)
        return cli_usage(capture_help, optind < argc ? "expects one RUN_DIR" : "RUN_DIR is required");
    const char *run = argv[optind];
    if (json)
        cli_json_start();
    if (background && savevm) {
        ffwd_seterr("--background saves RAM by a migration, --via-savevm avoids migrations: give one");
        return cli_bad_value(capture_help);
    }
    if (background && !resume) {
        ffwd_seterr("--background lets the guest run while RAM is saved, --stay-stopped keeps it stopped: give one");
        return cli_bad_value(capture_help);
    }
    char *def = out ? NULL : xasprintf("%s/captures", run); /* after the refusals: nothing to free there */
    struct ffwd_capture_opts o = {.run_dir = run, .out_dir = out ? out : def, .name = name, .resume = resume,
                                  .background = background, .via_savevm = savevm, .trigger = "on-demand",
                                  .icount_total = -1,
                                  .timeout_s = timeout};
    struct ffwd_capture_result r;
    int rc = ffwd_capture(&o, &r);
    free(def);
    if (rc < 0)
        return cli_fail();
    if (json &&
        cli_json_emit("capture", json_pack("{s:s, s:f, s:f, s:I, s:I, s:I, s:b, s:s}", "capture", r.path,
                                           "seconds_stopped", r.seconds, "seconds", r.total_seconds, "ram_bytes",
                                           (json_int_t)r.ram_bytes, "ram_nonzero_pages",
                                           (json_int_t)r.ram_nonzero_pages, "disk_sectors", (json_int_t)r.disk_sectors,
                                           "resumed", resume, "ram_saved",
                                           r.background ? "background-snapshot" : "while-stopped")) < 0)
        return cli_fail();
    printf("%s\n", r.path);
    ffwd_info("captured in %.2f s (guest stopped %.2f s): %llu MiB RAM (%llu non-zero pages), %llu disk sectors "
              "changed",
              r.total_seconds, r.seconds,
              (unsigned long long)(r.ram_bytes >> 20), (unsigned long long)r.ram_nonzero_pages,
              (unsigned long long)r.disk_sectors);
    return 0;
}

static void inspect_help(FILE *f)
{
    fprintf(f, "usage: ffwd inspect CAPTURE [--json]\n"
               "\n"
               "Verify a capture (manifest version, every file's size and CRC-32) and print a\n"
               "summary: per vCPU the exception level, PC, SP and whether the MMU is on; RAM\n"
               "size and non-zero pages; disk delta; GIC, timer, UART, RTC and virtio state.\n");
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option lo[] = {{"json", no_argument, 0, OPT_JSON}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == OPT_JSON)
            json = true;
        else if (c == 'h') {
            inspect_help(stdout);
            return 0;
        } else
            return cli_bad_option(c, argv, inspect_help);
    }
    if (optind != argc - 1)
        return cli_usage(inspect_help, "expects one CAPTURE");
    struct sbuf out = {0};
    if (ffwd_inspect(argv[optind], json, &out) < 0) {
        sbuf_free(&out);
        return cli_fail();
    }
    fputs(out.s, stdout);
    sbuf_free(&out);
    return 0;
}
