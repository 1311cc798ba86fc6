/* cmd_boot.c -- `ffwd boot`: boot a guest under the gem5-compatible profile. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../image/guest_image.h"
#include "../qemu/run.h"
#include "cli.h"
#include "opts.h"

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
            "Guest:\n"
            "  --kernel IMAGE       arm64 Linux Image (default: the demo guest's)\n"
            "  --disk BASE          base disk image, raw or qcow2; never written (runs on an overlay)\n"
            "  --initrd FILE        initramfs (default with the demo kernel: ffwd's init hook)\n"
            "  --append ARGS        extra kernel command line\n"
            "  --cmd 'COMMAND'      run COMMAND with the root disk's /bin/sh once the guest is up, then\n"
            "                       power off; needs ffwd's initramfs (ffwd guest path initrd)\n"
            "  --expect-marker TEXT fail unless the guest runs `ffwd-guest marker TEXT`\n"
            "\n"
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
            "Run:\n"
            "  --run-dir DIR        run directory (sockets, console.log, disk overlay); default: new\n"
            "                       folder under $TMPDIR/ffwd-UID\n"
            "  --console            copy the guest console to standard output\n"
            "  --timeout SEC        give up (and stop QEMU) after SEC seconds (default 600)\n"
            "  --qemu PATH          qemu-system-aarch64 to use (default: $FFWD_QEMU or PATH)\n"
            "  --plugin SO[,ARGS]   load a TCG plugin (e.g. build/plugins/libffwd-icount.so,out=FILE)\n"
            "  --print-profile      print the machine profile and QEMU command line, then exit\n"
            "  --json               with --print-profile: as JSON\n"
            "\n" FFWD_PROFILE_OPTS_HELP "\n"
            "The guest's command output is in RUN_DIR/console.log. Exit status: 0 when the guest\n"
            "ran to power-off and its command (if any) exited 0; 1 otherwise.\n");
}

int cmd_boot(int argc, char **argv)
{
    static const struct option lo[] = {PROFILE_LONGOPTS,
                                       {"kernel", required_argument, 0, OPT_KERNEL},
                                       {"disk", required_argument, 0, OPT_DISK},
                                       {"initrd", required_argument, 0, OPT_INITRD},
                                       {"append", required_argument, 0, OPT_APPEND},
                                       {"cmd", required_argument, 0, OPT_CMD},
                                       {"expect-marker", required_argument, 0, OPT_EXPECT},
                                       {"run-dir", required_argument, 0, OPT_RUN_DIR},
                                       {"console", no_argument, 0, OPT_CONSOLE},
                                       {"timeout", required_argument, 0, OPT_TIMEOUT},
                                       {"qemu", required_argument, 0, OPT_QEMU},
                                       {"plugin", required_argument, 0, OPT_PLUGIN},
                                       {"capture-dir", required_argument, 0, OPT_CAPTURE_DIR},
                                       {"capture-at-marker", required_argument, 0, OPT_CAPTURE_MARKER},
                                       {"capture-at-insn", required_argument, 0, OPT_CAPTURE_INSN},
                                       {"insn-scope", required_argument, 0, OPT_INSN_SCOPE},
                                       {"print-profile", no_argument, 0, OPT_PRINT_PROFILE},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct ffwd_vm_config cfg = {0};
    ffwd_profile_default(&cfg.prof);
    struct ffwd_run_opts ro = {.timeout_s = 600, .progress = true};
    bool print_profile = false, json = false;
    static uint64_t insn[4096];
    unsigned ninsn = 0;
    cfg.insn_scope = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int r = cli_profile_opt(&cfg.prof, c, optarg);
        if (r < 0)
            return cli_fail();
        if (r > 0)
            continue;
        switch (c) {
        case OPT_KERNEL: cfg.kernel = optarg; break;
        case OPT_DISK: cfg.disk = optarg; break;
        case OPT_INITRD: cfg.initrd = optarg; break;
        case OPT_APPEND: cfg.append = optarg; break;
        case OPT_CMD: cfg.cmd = optarg; break;
        case OPT_EXPECT: ro.expect_marker = optarg; break;
        case OPT_RUN_DIR: cfg.run_dir = optarg; break;
        case OPT_CONSOLE: cfg.echo_console = true; break;
        case OPT_QEMU: cfg.qemu = optarg; break;
        case OPT_PLUGIN: cfg.plugin = optarg; break;
        case OPT_CAPTURE_DIR: ro.capture_dir = optarg; break;
        case OPT_CAPTURE_MARKER: ro.capture_marker = optarg; break;
        case OPT_CAPTURE_INSN: {
            char *copy = xstrdup(optarg);
            for (char *save = NULL, *t = strtok_r(copy, ",:", &save); t; t = strtok_r(NULL, ",:", &save)) {
                uint64_t v;
                if (parse_u64(t, &v) < 0 || v == 0 || ninsn >= 4096) {
                    ffwd_seterr("--capture-at-insn: '%s' is not a positive instruction count", t);
                    free(copy);
                    return cli_fail();
                }
                insn[ninsn++] = v;
            }
            free(copy);
            break;
        }
        case OPT_INSN_SCOPE:
            if (!strcmp(optarg, "all"))
                cfg.insn_scope = -1;
            else if (!strncmp(optarg, "vcpu", 4) && optarg[4] >= '0' && optarg[4] <= '9')
                cfg.insn_scope = atoi(optarg + 4);
            else {
                ffwd_seterr("--insn-scope: must be all or vcpuK (got '%s')", optarg);
                return cli_fail();
            }
            break;
        case OPT_PRINT_PROFILE: print_profile = true; break;
        case OPT_JSON: json = true; break;
        case OPT_TIMEOUT:
            if (cli_seconds("--timeout", optarg, &ro.timeout_s) < 0)
                return cli_fail();
            break;
        case 'h': help(stdout); return 0;
        default: help(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ffwd boot: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (ffwd_profile_check(&cfg.prof) < 0)
        return cli_fail();
    if (print_profile) {
        struct sbuf out = {0};
        ffwd_profile_print(&cfg.prof, &out, json);
        if (!json) {
            struct ffwd_vm_config shown = cfg;
            if (!shown.kernel)
                shown.kernel = "DEMO_GUEST/Image", shown.initrd = "DEMO_GUEST/initramfs.cpio.gz";
            char **av = ffwd_qemu_argv(&shown, "RUN_DIR", cfg.disk || !cfg.kernel ? "RUN_DIR/disk0.qcow2" : NULL,
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
    struct guest_image gi = {0};
    if (!cfg.kernel) {
        if (guest_image_get(&(struct guest_image_opts){0}, &gi) < 0)
            return cli_fail();
        cfg.kernel = gi.kernel;
        if (!cfg.initrd)
            cfg.initrd = gi.initrd;
        if (!cfg.disk)
            cfg.disk = gi.demo_disk;
    }
    cfg.insn_targets = insn;
    cfg.ninsn_targets = ninsn;
    ro.insn_scope = cfg.insn_scope;
    if (cfg.insn_scope >= (int)cfg.prof.smp) {
        ffwd_seterr("--insn-scope: vcpu%d does not exist with --smp %u", cfg.insn_scope, cfg.prof.smp);
        guest_image_free(&gi);
        return cli_fail();
    }
    if (ninsn && strcmp(cfg.prof.accel, "tcg")) {
        ffwd_seterr("--capture-at-insn needs --accel tcg (instructions are counted by a TCG plugin)");
        guest_image_free(&gi);
        return cli_fail();
    }
    if (ro.capture_marker && !ro.capture_dir) {
        ffwd_seterr("--capture-at-marker needs --capture-dir DIR");
        guest_image_free(&gi);
        return cli_fail();
    }
    if (cfg.cmd && !cfg.initrd) {
        ffwd_seterr("--cmd needs ffwd's init hook: pass --initrd \"$(ffwd guest path initrd)\" (it carries the "
                    "modules of the Debian arm64 kernel), or run the command from your own init");
        guest_image_free(&gi);
        return cli_fail();
    }
    struct ffwd_run_result res;
    int r = ffwd_run_guest(&cfg, &ro, &res);
    guest_image_free(&gi);
    if (r < 0)
        return cli_fail();
    if (res.cmd_status > 0) {
        ffwd_error("the guest command exited with status %d (console: %s)", res.cmd_status, res.console_log);
        return 1;
    }
    for (unsigned i = 0; i < res.nstops; i++)
        ffwd_info("instruction count %llu: stopped at %llu (overshoot %lld instructions)",
                  (unsigned long long)res.stops[i].target, (unsigned long long)res.stops[i].reached,
                  (long long)res.stops[i].overshoot);
    for (unsigned i = 0; i < res.ncaptures; i++)
        printf("%s\n", res.captures[i]);
    ffwd_info("guest finished in %.1f s; console log: %s", res.t_exit, res.console_log);
    return 0;
}
