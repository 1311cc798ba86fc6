/* cmd_boot.c -- `ffwd boot`: boot a guest under the gem5-compatible profile. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "boot_args.h"
#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ffwd boot [OPTIONS]\n"
            "\n"
            "Boot an arm64 Linux guest in QEMU with ffwd's machine profile (QEMU virt,\n"
            "GICv3 without ITS, cortex-a57 without PMU, direct kernel boot, legacy\n"
            "virtio-mmio disk on a qcow2 overlay, trimmed device tree), supervise it\n"
            "until it powers off, and report its progress. Without --kernel the\n"
            "built-in demo guest is used (built on first use).\n"
            "\n"
            FFWD_BOOT_OPTS_HELP "\n"
            "Captures (docs/capture-format.md):\n"
            "  --capture-dir DIR    capture the machine whenever the guest runs `ffwd-guest checkpoint NAME`\n"
            "                       (the guest waits while it is captured, then continues)\n"
            "  --capture-at-marker TEXT  also capture (shortly after) `ffwd-guest marker TEXT`\n"
            "  --capture-at-insn N[,N...]  stop (and capture, with --capture-dir) when N instructions have\n"
            "                       retired, counted exactly by ffwd's TCG plugin; the stop lands at\n"
            "                       most one translation block past N and the exact count is reported\n"
            "  --insn-scope all|vcpuK  count all vCPUs together (default) or one vCPU\n"
            "  While the guest runs, `ffwd capture RUN_DIR` captures it on demand.\n"
            "\n"
            "Record/replay (QEMU's; one vCPU; docs/record-replay.md):\n"
            "  --record FILE        record the run: every outside event (disk completions, clock\n"
            "                       reads, console input) goes to FILE, the machine to FILE.json\n"
            "  --replay FILE        run it again from FILE: the same instructions, disk completions\n"
            "                       and clock; the machine, guest files and command must be the\n"
            "                       record's (checked). `ffwd capture` of such a run takes the\n"
            "                       device state by savevm (a migration aborts QEMU under replay);\n"
            "                       --capture-at-insn stops at QEMU's own replay breakpoint there:\n"
            "                       exactly N, every instruction counted\n"
            "\n"
            "Other:\n"
            "  --plugin SO[,ARGS]   load a TCG plugin (e.g. build/plugins/libffwd-icount.so,out=FILE)\n"
            "  --print-profile      print the machine profile and QEMU command line, then exit\n"
            "  --json               with --print-profile: as JSON\n"
            "\n" FFWD_PROFILE_OPTS_HELP "\n"
            "The guest's command output is in RUN_DIR/console.log. Exit status: 0 when the guest\n"
            "ran to power-off and its command (if any) exited 0; 1 otherwise.\n");
}

int cmd_boot(int argc, char **argv)
{
    static const struct option lo[] = {BOOT_LONGOPTS,
                                       {"plugin", required_argument, 0, OPT_PLUGIN},
                                       {"capture-dir", required_argument, 0, OPT_CAPTURE_DIR},
                                       {"capture-at-marker", required_argument, 0, OPT_CAPTURE_MARKER},
                                       {"capture-at-insn", required_argument, 0, OPT_CAPTURE_INSN},
                                       {"insn-scope", required_argument, 0, OPT_INSN_SCOPE},
                                       {"record", required_argument, 0, OPT_RECORD},
                                       {"replay", required_argument, 0, OPT_REPLAY},
                                       {"print-profile", no_argument, 0, OPT_PRINT_PROFILE},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static struct boot_args b;
    boot_args_init(&b);
    struct ffwd_vm_config *cfg = &b.cfg;
    bool print_profile = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        int r = boot_args_opt(&b, c, optarg);
        if (r < 0)
            return cli_bad_value(help);
        if (r > 0)
            continue;
        switch (c) {
        case OPT_PLUGIN: cfg->plugin = optarg; break;
        case OPT_CAPTURE_DIR: b.ro.capture_dir = optarg; break;
        case OPT_CAPTURE_MARKER: b.ro.capture_marker = optarg; break;
        case OPT_CAPTURE_INSN: {
            char *copy = xstrdup(optarg);
            for (char *save = NULL, *t = strtok_r(copy, ",:", &save); t; t = strtok_r(NULL, ",:", &save)) {
                uint64_t v;
                if (parse_u64(t, &v) < 0 || v == 0) {
                    ffwd_seterr("--capture-at-insn: '%s' is not a positive instruction count", t);
                    free(copy);
                    boot_args_free(&b);
                    return cli_bad_value(help);
                }
                if (b.ninsn == b.cap_insn) {
                    b.cap_insn = b.cap_insn ? 2 * b.cap_insn : 16;
                    b.insn = xrealloc(b.insn, b.cap_insn * sizeof *b.insn);
                }
                b.insn[b.ninsn++] = v;
            }
            free(copy);
            break;
        }
        case OPT_INSN_SCOPE:
            if (!strcmp(optarg, "all"))
                cfg->insn_scope = -1;
            else if (!strncmp(optarg, "vcpu", 4) && optarg[4] >= '0' && optarg[4] <= '9') {
                uint64_t v;
                if (cli_uint("--insn-scope vcpuK", optarg + 4, 0, 63, &v) < 0)
                    return cli_bad_value(help);
                cfg->insn_scope = (int)v;
            } else {
                ffwd_seterr("--insn-scope: must be all or vcpuK (got '%s')", optarg);
                return cli_bad_value(help);
            }
            break;
        case OPT_RECORD:
        case OPT_REPLAY:
            if (cfg->rr_mode) {
                ffwd_seterr("give one of --record and --replay, once");
                return cli_bad_value(help);
            }
            cfg->rr_mode = c == OPT_RECORD ? "record" : "replay";
            cfg->rr_file = optarg;
            break;
        case OPT_PRINT_PROFILE: print_profile = true; break;
        case OPT_JSON: json = true; break;
        case 'h': help(stdout); return 0;
        default: return cli_bad_option(c, argv, help);
        }
    }
    if (optind < argc)
        return cli_usage(help, "unexpected argument '%s'", argv[optind]);
    if (print_profile) {
        if (ffwd_profile_check(&cfg->prof) < 0)
            return cli_bad_value(help);
        struct sbuf out = {0};
        ffwd_profile_print(&cfg->prof, &out, json);
        if (!json) {
            struct ffwd_vm_config shown = *cfg;
            if (!shown.kernel)
                shown.kernel = "DEMO_GUEST/Image", shown.initrd = "DEMO_GUEST/initramfs.cpio.gz";
            char **av = ffwd_qemu_argv(&shown, "RUN_DIR", cfg->disk || !cfg->kernel ? "RUN_DIR/disk0.qcow2" : NULL,
                                       "RUN_DIR/virt.dtb", "/dev/shm/ffwd-PID-RUN.ram");
            sbuf_addf(&out, "\nqemu command line:\n ");
            for (char **p = av; *p; p++)
                sbuf_addf(&out, " %s", *p);
            sbuf_addc(&out, '\n');
            ffwd_argv_free(av);
        }
        fputs(out.s, stdout);
        sbuf_free(&out);
        return 0;
    }
    if (boot_args_check(&b) < 0) {
        boot_args_free(&b);
        return cli_bad_value(help);
    }
    if (boot_args_prepare(&b) < 0) {
        boot_args_free(&b);
        return cli_fail();
    }
    if (ffwd_vm_rr_prepare(cfg) < 0) {
        boot_args_free(&b);
        return cli_bad_value(help);
    }
    struct ffwd_run_result res;
    int r = ffwd_run_guest(cfg, &b.ro, &res);
    if (r == 0 && res.qemu_status == 0 && ffwd_vm_rr_record_done(cfg) < 0)
        r = -1;
    boot_args_free(&b);
    if (r < 0) {
        ffwd_run_result_free(&res);
        return cli_fail();
    }
    if (res.cmd_status > 0) {
        ffwd_error("the guest command exited with status %d (console: %s)", res.cmd_status, res.console_log);
        ffwd_run_result_free(&res);
        return 1;
    }
    for (unsigned i = 0; i < res.nstops; i++)
        ffwd_info("instruction count %llu: stopped at %llu (overshoot %lld instructions)",
                  (unsigned long long)res.stops[i].target, (unsigned long long)res.stops[i].reached,
                  (long long)res.stops[i].overshoot);
    for (unsigned i = 0; i < res.ncaptures; i++)
        printf("%s\n", res.captures[i]);
    if (res.run_dir_removed)
        ffwd_info("guest finished in %.1f s (its run directory is removed: --keep-run-dir or --run-dir DIR keeps "
                  "it, with the console log)",
                  res.t_exit);
    else
        ffwd_info("guest finished in %.1f s; console log: %s", res.t_exit, res.console_log);
    ffwd_run_result_free(&res);
    return 0;
}
