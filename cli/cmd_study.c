/* cmd_study.c -- `ffwd study`: the whole SimPoint study of a suite's benchmarks (study/study.h). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "../study/study.h"
#include "cli.h"
#include "opts.h"

static void study_help(FILE *f)
{
    fprintf(f, "usage: ffwd study SUITE --out DIR [--size test|ref] [--bench NAME[,NAME...]]\n"
               "                  [--interval N] [--maxk K] [--warmup N]\n"
               "                  [--gem5 PATH [--config USER.py] [--cpu atomic|timing|o3] [--jobs N] [--full]]\n"
               "                  [--gem5-mips-atomic R] [--gem5-kips-detailed R]\n"
               "                  [--parallel N | --slurm [--partition P] [--account A] [--time T]\n"
               "                   [--slurm-mem M] [--sbatch-arg OPT]... [--path-map LOCAL=REMOTE]\n"
               "                   [--no-wait | --collect]] [--no-report]\n"
               "                  [--timeout SEC] [--qemu PATH] [--smp N] [--mem SIZE]\n"
               "\n"
               "The whole SimPoint study of every benchmark of SUITE (a built-in suite's name\n"
               "or a suite file: `ffwd suite`), in DIR/NAME: profile (BBVs of the program's own\n"
               "user-mode instructions; its output's checksum checked) -> cluster -> sample\n"
               "(every point captured in one rerun, each with its landing check) -> with\n"
               "--gem5, each simulation point in gem5 -> with --full, the whole region in gem5\n"
               "from one checkpoint at its start, for the CPI error of the sampled estimate.\n"
               "Each stage's result is kept (DIR/NAME/STAGE.json, its messages in STAGE.log): the\n"
               "same command again resumes after an interruption, skipping what is done. At the\n"
               "end DIR/report.json and DIR/report.html (one self-contained page: phase plots,\n"
               "points, CPI per point, weighted CPI/IPC, error, each stage's time next to\n"
               "gem5's). docs/study.md.\n"
               "\n"
               "  --out DIR            the study's folder (resumed when it holds an earlier study)\n"
               "  --size test|ref      the suite's size (default test)\n"
               "  --bench LIST         only these benchmarks\n"
               "  --interval N         instructions per interval (default 10000000 test, 100000000 ref)\n"
               "  --maxk K             at most K clusters (default 30)\n"
               "  --warmup N           instructions of warm-up before each point (default 0)\n"
               "  --gem5 PATH          run the simulation points in this gem5 (only when given: $GEM5\n"
               "                       is not enough, the gem5 stages are the long ones)\n"
               "  --config USER.py     your gem5 configuration (as `ffwd sample-run --config`)\n"
               "  --cpu CPU            gem5 CPU of the points (default o3)\n"
               "  --jobs N             gem5 runs at once (default 1)\n"
               "  --full               also the whole region in gem5 (needs --gem5; slow: a detailed\n"
               "                       CPU runs every instruction of the region)\n"
               "  --gem5-mips-atomic R, --gem5-kips-detailed R\n"
               "                       the gem5 rates the report compares with (default 3 MIPS, 300 KIPS)\n"
               "  --timeout, --qemu, --smp, --mem  for every guest run (as `ffwd boot`)\n"
               "\n"
               "Several benchmarks at once: each benchmark's stages become one task, `ffwd study\n"
               "SUITE --bench NAME --no-report ...` in DIR/NAME (its messages in DIR/NAME/study.log),\n"
               "run by the same runner as `ffwd sample-run` (docs/study.md):\n"
               "  --parallel N         N benchmarks at once on this machine\n"
               "  --slurm              all of them as one Slurm job array (the script stays in\n"
               "                       DIR/slurm/job.sh); the study waits for it, then reports\n"
               "  --partition, --account, --time, --sbatch-arg, --path-map  as for sample-run\n"
               "  --slurm-mem M        per task (default 1G, 3G with --gem5)\n"
               "  --no-wait            submit and return; the same command with --collect instead\n"
               "                       waits for the job and writes the report\n"
               "  --collect            wait for the earlier submission (DIR/slurm/job.json), report\n"
               "  --no-report          a task's own run: only DIR/NAME, no report\n"
               "\n"
               "Exit status: 0 when every benchmark went through every stage; 1 when some did\n"
               "not (each is named; the others are finished and reported).\n");
}

enum {
    O_SIZE = 1000, O_BENCH, O_INTERVAL, O_MAXK, O_WARMUP, O_FULL, O_JOBS, O_CONFIG, O_RATE_A, O_RATE_D, O_PARALLEL,
    O_SLURM, O_PARTITION, O_ACCOUNT, O_TIME, O_SLURM_MEM, O_SBATCH, O_PATH_MAP, O_NO_REPORT, O_NO_WAIT, O_COLLECT
};

int cmd_study(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, 0, OPT_OUT},
                                       {"size", required_argument, 0, O_SIZE},
                                       {"bench", required_argument, 0, O_BENCH},
                                       {"interval", required_argument, 0, O_INTERVAL},
                                       {"maxk", required_argument, 0, O_MAXK},
                                       {"warmup", required_argument, 0, O_WARMUP},
                                       {"gem5", required_argument, 0, OPT_GEM5},
                                       {"config", required_argument, 0, O_CONFIG},
                                       {"cpu", required_argument, 0, OPT_CPU},
                                       {"jobs", required_argument, 0, O_JOBS},
                                       {"full", no_argument, 0, O_FULL},
                                       {"gem5-mips-atomic", required_argument, 0, O_RATE_A},
                                       {"gem5-kips-detailed", required_argument, 0, O_RATE_D},
                                       {"timeout", required_argument, 0, OPT_TIMEOUT},
                                       {"qemu", required_argument, 0, OPT_QEMU},
                                       {"smp", required_argument, 0, OPT_SMP},
                                       {"mem", required_argument, 0, OPT_MEM},
                                       {"parallel", required_argument, 0, O_PARALLEL},
                                       {"slurm", no_argument, 0, O_SLURM},
                                       {"partition", required_argument, 0, O_PARTITION},
                                       {"account", required_argument, 0, O_ACCOUNT},
                                       {"time", required_argument, 0, O_TIME},
                                       {"slurm-mem", required_argument, 0, O_SLURM_MEM},
                                       {"sbatch-arg", required_argument, 0, O_SBATCH},
                                       {"path-map", required_argument, 0, O_PATH_MAP},
                                       {"no-report", no_argument, 0, O_NO_REPORT},
                                       {"no-wait", no_argument, 0, O_NO_WAIT},
                                       {"collect", no_argument, 0, O_COLLECT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    /* gem5 only when asked for with --gem5 ($GEM5 is not enough): its stages take hours */
    struct study_opts o = {.size = SUITE_TEST};
    static const char *extra[16], *sbatch[32];
    static struct gem5_slurm_opts so;
    bool slurm = false, slurm_opt = false;
    uint64_t v;
    double secs;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: o.out = optarg; break;
        case O_SIZE:
            if (suite_size_parse(optarg, &o.size) < 0) {
                ffwd_preerr("--size");
                return cli_bad_value(study_help);
            }
            break;
        case O_BENCH: o.only = optarg; break;
        case O_INTERVAL:
            if (cli_uint("--interval", optarg, 1000, UINT64_MAX / 4, &o.interval) < 0)
                return cli_bad_value(study_help);
            break;
        case O_MAXK:
            if (cli_uint("--maxk", optarg, 1, 1000, &v) < 0)
                return cli_bad_value(study_help);
            o.maxk = (unsigned)v;
            break;
        case O_WARMUP:
            if (cli_uint("--warmup", optarg, 0, UINT64_MAX / 4, &o.warmup) < 0)
                return cli_bad_value(study_help);
            break;
        case OPT_GEM5: o.gem5 = optarg; break;
        case O_CONFIG: o.config = optarg; break;
        case OPT_CPU:
            if (cli_gem5_cpu(optarg, &o.cpu) < 0)
                return cli_bad_value(study_help);
            break;
        case O_JOBS:
            if (cli_uint("--jobs", optarg, 1, 1024, &v) < 0)
                return cli_bad_value(study_help);
            o.jobs = (unsigned)v;
            break;
        case O_FULL: o.full = true; break;
        case O_RATE_A:
        case O_RATE_D:
            if (cli_seconds(c == O_RATE_A ? "--gem5-mips-atomic" : "--gem5-kips-detailed", optarg, &secs) < 0)
                return cli_bad_value(study_help);
            if (c == O_RATE_A)
                o.gem5_ips_atomic = secs * 1e6;
            else
                o.gem5_ips_detailed = secs * 1e3;
            break;
        case OPT_TIMEOUT:
        case OPT_QEMU:
        case OPT_SMP:
        case OPT_MEM:
            if (o.nextra + 2 > sizeof extra / sizeof *extra)
                return cli_usage(study_help, "too many guest options");
            extra[o.nextra++] = c == OPT_TIMEOUT ? "--timeout" : c == OPT_QEMU ? "--qemu" : c == OPT_SMP ? "--smp" : "--mem";
            extra[o.nextra++] = optarg;
            break;
        case O_PARALLEL:
            if (cli_uint("--parallel", optarg, 1, 256, &v) < 0)
                return cli_bad_value(study_help);
            o.parallel = (unsigned)v;
            break;
        case O_SLURM: slurm = true; break;
        case O_PARTITION: so.partition = optarg, slurm_opt = true; break;
        case O_ACCOUNT: so.account = optarg, slurm_opt = true; break;
        case O_TIME: so.time = optarg, slurm_opt = true; break;
        case O_SLURM_MEM: so.mem = optarg, slurm_opt = true; break;
        case O_PATH_MAP:
            if (!strchr(optarg, '=') || optarg[0] != '/') {
                ffwd_seterr("--path-map: LOCAL=REMOTE, both absolute (got '%s')", optarg);
                return cli_bad_value(study_help);
            }
            so.path_map = optarg, slurm_opt = true;
            break;
        case O_SBATCH:
            if (so.nsbatch_args == sizeof sbatch / sizeof *sbatch)
                return cli_usage(study_help, "too many --sbatch-arg");
            sbatch[so.nsbatch_args++] = optarg, slurm_opt = true;
            break;
        case O_NO_REPORT: o.no_report = true; break;
        case O_NO_WAIT: so.no_wait = true, slurm_opt = true; break;
        case O_COLLECT: so.collect = true, slurm_opt = true; break;
        case 'h': study_help(stdout); return 0;
        default: return cli_bad_option(c, argv, study_help);
        }
    }
    if (optind != argc - 1)
        return optind < argc ? cli_usage(study_help, "unexpected argument '%s'", argv[optind + 1])
                             : cli_usage(study_help, "SUITE is required (a built-in suite's name or a suite file)");
    if (!o.out)
        return cli_usage(study_help, "--out DIR is required");
    if ((o.config || o.full || o.jobs) && !o.gem5)
        return cli_usage(study_help, "--config, --full and --jobs need --gem5 PATH");
    if (o.gem5 && access(o.gem5, X_OK) != 0) {
        ffwd_seterr("--gem5 %s: not an executable file", o.gem5);
        return cli_bad_value(study_help);
    }
    if (slurm_opt && !slurm)
        return cli_usage(study_help, "--partition, --account, --time, --slurm-mem, --sbatch-arg, --path-map, "
                                     "--no-wait and --collect belong to --slurm");
    if (so.no_wait && so.collect)
        return cli_usage(study_help, "--no-wait and --collect: one or the other");
    if (slurm && o.parallel)
        return cli_usage(study_help, "--parallel and --slurm: one or the other");
    so.sbatch_args = sbatch;
    if (slurm)
        o.slurm = &so;
    o.suite = argv[optind];
    o.extra = extra;
    static char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        ffwd_seterr_errno("cannot find the ffwd binary (/proc/self/exe)");
        return cli_fail();
    }
    self[n] = 0;
    o.ffwd = self;
    int r = study_run(&o);
    return r < 0 ? cli_fail() : r;
}
