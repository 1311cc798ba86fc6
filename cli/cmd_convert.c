/* cmd_convert.c -- `ffwd convert` (capture -> gem5 checkpoint) and `ffwd gem5-table`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../gem5/gem5src.h"
#include "../gem5/verify.h"
#include "../gem5/writer.h"
#include "cli.h"
#include "opts.h"

static void help(FILE *f)
{
    fprintf(f, "usage: ffwd convert CAPTURE --out CKPT [--layout L] [--gem5-src DIR] [--template CPT]\n"
               "                    [--threads N] [--level L] [--json]\n"
               "\n"
               "Write a checkpoint directory that stock gem5 v24.0 restores with the config\n"
               "script gem5/ffwd_restore.py or a gem5 standard-library configuration with\n"
               "gem5/ffwd_board.py (--layout): m5.cpt (every section and key gem5 reads for the\n"
               "ffwd platform), the RAM as gzip members (compressed in parallel, zero chunks\n"
               "free), the disk delta as a gem5 COW file over the untouched base image, and\n"
               "ffwd-checkpoint.json (source, platform, register mapping report, how to run).\n"
               "\n"
               "  --out CKPT        the checkpoint directory (must not exist; no '%%' in the path)\n"
               "  --layout L        the object paths of the configuration that restores it:\n"
               "                    legacy (gem5/ffwd_restore.py; default), stdlib (ffwd_board.py with\n"
               "                    a SimpleProcessor), stdlib-switchable (with a\n"
               "                    SimpleSwitchableProcessor), or the config.ini of a zero-tick dry\n"
               "                    run of your own configuration (every section is checked against it)\n"
               "  --gem5-src DIR    take gem5's misc-register numbering from this gem5 tree\n"
               "                    (src/arch/arm/regs/misc.hh, misc.cc); default: built-in v24.0 table\n"
               "  --template CPT    a checkpoint your gem5 wrote of the same platform (directory or\n"
               "                    m5.cpt): every key ffwd does not set keeps its value; default:\n"
               "                    built-in gem5 v24.0 templates\n"
               "  --threads N       compression threads (default: all CPUs)\n"
               "  --level L         compression level 1..12 (default 6)\n"
               "  --json            the result as JSON on standard output (docs/json.md)\n"
               "\n"
               "Run it: gem5.opt gem5/ffwd_restore.py --checkpoint CKPT (see docs/gem5-mapping.md).\n");
}

int cmd_convert(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, 0, OPT_OUT},
                                       {"gem5-src", required_argument, 0, OPT_GEM5_SRC},
                                       {"layout", required_argument, 0, OPT_LAYOUT},
                                       {"template", required_argument, 0, OPT_TEMPLATE},
                                       {"threads", required_argument, 0, OPT_THREADS},
                                       {"level", required_argument, 0, OPT_LEVEL},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct gem5_convert_opts o = {0};
    bool json = false;
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: o.out = optarg; break;
        case OPT_GEM5_SRC: o.gem5_src = optarg; break;
        case OPT_LAYOUT: o.layout = optarg; break;
        case OPT_TEMPLATE: o.template_cpt = optarg; break;
        case OPT_JSON: json = true; break;
        case OPT_THREADS:
            if (cli_uint("--threads", optarg, 1, 64, &v) < 0)
                return cli_bad_value(help);
            o.threads = (int)v;
            break;
        case OPT_LEVEL:
            if (cli_uint("--level", optarg, 1, 12, &v) < 0)
                return cli_bad_value(help);
            o.level = (int)v;
            break;
        case 'h': help(stdout); return 0;
        default: return cli_bad_option(c, argv, help);
        }
    }
    if (optind != argc - 1 || !o.out)
        return cli_usage(help, optind != argc - 1 ? "expects one CAPTURE" : "--out CKPT is required");
    o.capture = argv[optind];
    if (json)
        cli_json_start();
    struct gem5_convert_result r;
    if (gem5_convert(&o, &r) < 0)
        return cli_fail();
    if (json && cli_json_emit("convert", json_pack("{s:s, s:s, s:f, s:I, s:I, s:I, s:i, s:i, s:i}", "capture",
                                                   o.capture, "checkpoint", r.path, "seconds", r.seconds, "ram_bytes",
                                                   (json_int_t)r.ram_bytes, "pmem_bytes", (json_int_t)r.pmem_bytes,
                                                   "cow_sectors", (json_int_t)r.cow_sectors, "regs_written",
                                                   (int)r.regs_written, "regs_kept_gem5", (int)r.regs_kept_gem5,
                                                   "regs_unmapped", (int)r.regs_unmapped)) < 0)
        return cli_fail();
    printf("%s\n", r.path);
    ffwd_info("converted in %.2f s: %llu MiB RAM -> %.1f MiB pmem, %llu COW sectors; %u registers written, %u kept "
              "at gem5's values, %u without a gem5 slot",
              r.seconds, (unsigned long long)(r.ram_bytes >> 20), (double)r.pmem_bytes / 1048576.0,
              (unsigned long long)r.cow_sectors, r.regs_written, r.regs_kept_gem5, r.regs_unmapped);
    return 0;
}

static void gem5_table_help(FILE *f)
{
    fprintf(f, "usage: ffwd gem5-table --gem5-src DIR\n"
               "\n"
               "Derive gem5's misc-register table (the order of miscRegs in a checkpoint) from a gem5\n"
               "source tree (src/arch/arm/regs/misc.hh and misc.cc) and print it as the C source of\n"
               "ffwd's built-in table (gem5/miscregs_v24.c). `ffwd convert --gem5-src DIR` reads the\n"
               "same tree directly; this command is for updating the built-in table.\n");
}

int cmd_gem5_table(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        gem5_table_help(stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "--gem5-src"))
        return cli_usage(gem5_table_help, "needs --gem5-src DIR");
    struct gem5_miscregs m;
    if (gem5_miscregs_parse(argv[2], &m) < 0)
        return cli_fail();
    gem5_miscregs_emit_c(&m, stdout);
    gem5_miscregs_free(&m);
    return 0;
}

static void verify_help(FILE *f)
{
    fprintf(f, "usage: ffwd verify CKPT --gem5 PATH [--cpu atomic|timing|o3] [--switch-after N]\n"
               "                   [--max-seconds S] [--timeout S] [--keep DIR] [--config SCRIPT] [--json]\n"
               "\n"
               "Run the checkpoint in real gem5 (an ARM build of stock v24.0) with\n"
               "gem5/ffwd_restore.py and compare the guest's console output after the\n"
               "checkpoint with what the same guest printed under QEMU from the same point.\n"
               "Exit status 0 when they match; 1 with the first difference otherwise.\n"
               "\n"
               "  --gem5 PATH       gem5.opt or gem5.fast (also $GEM5)\n"
               "  --cpu TYPE        continue on this CPU model (default atomic)\n"
               "  --switch-after N  instructions on AtomicSimpleCPU before switching (default 0)\n"
               "  --max-seconds S   simulated-time limit (default 5)\n"
               "  --timeout S       wall-clock limit for gem5 (default 3600)\n"
               "  --keep DIR        keep gem5's output (m5out, gem5.log) in DIR\n"
               "  --config SCRIPT   the gem5 configuration (default gem5/ffwd_restore.py; a\n"
               "                    standard-library one: gem5/ffwd_stdlib.py, with a checkpoint\n"
               "                    converted --layout stdlib-switchable)\n"
               "  --json            the result as JSON on standard output (docs/json.md)\n");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option lo[] = {{"gem5", required_argument, 0, OPT_GEM5},
                                       {"cpu", required_argument, 0, OPT_CPU},
                                       {"switch-after", required_argument, 0, OPT_SWITCH},
                                       {"max-seconds", required_argument, 0, OPT_MAXSEC},
                                       {"timeout", required_argument, 0, OPT_TIMEOUT},
                                       {"keep", required_argument, 0, OPT_KEEP},
                                       {"config", required_argument, 0, OPT_CONFIG},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct gem5_verify_opts o = {.gem5 = getenv("GEM5"), .cpu = "atomic"};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_GEM5: o.gem5 = optarg; break;
        case OPT_CPU:
            if (cli_gem5_cpu(optarg, &o.cpu) < 0)
                return cli_bad_value(verify_help);
            break;
        case OPT_SWITCH: {
            uint64_t v;
            if (cli_uint("--switch-after", optarg, 0, INT64_MAX, &v) < 0)
                return cli_bad_value(verify_help);
            o.switch_after = (long long)v;
            break;
        }
        case OPT_MAXSEC:
            if (cli_seconds("--max-seconds", optarg, &o.max_seconds) < 0)
                return cli_bad_value(verify_help);
            break;
        case OPT_TIMEOUT:
            if (cli_seconds("--timeout", optarg, &o.timeout) < 0)
                return cli_bad_value(verify_help);
            break;
        case OPT_KEEP: o.workdir = optarg; break;
        case OPT_CONFIG: o.config = optarg; break;
        case OPT_JSON: json = true; break;
        case 'h': verify_help(stdout); return 0;
        default: return cli_bad_option(c, argv, verify_help);
        }
    }
    if (optind != argc - 1)
        return cli_usage(verify_help, "expects one CKPT");
    if (cli_need_gem5(o.gem5) < 0)
        return cli_bad_value(verify_help);
    o.checkpoint = argv[optind];
    if (json)
        cli_json_start();
    struct gem5_verify_result r;
    int rc = gem5_verify(&o, &r);
    if (rc < 0)
        return cli_fail();
    if (json && cli_json_emit("verify", json_pack("{s:s, s:s, s:s?, s:b, s:i, s:f, s:s}", "checkpoint", o.checkpoint,
                                                  "cpu", o.cpu, "config", o.config, "verified", 1, "lines_compared",
                                                  (int)r.lines_compared, "seconds", r.seconds, "gem5_exit",
                                                  r.gem5_exit)) < 0)
        return cli_fail();
    printf("verified: %u lines of guest output after the checkpoint match between QEMU and gem5 (%s, %.0f s)\n",
           r.lines_compared, o.cpu, r.seconds);
    if (r.gem5_exit[0])
        printf("%s\n", r.gem5_exit);
    return 0;
}
