/*
 * ffwd.c -- entry point of the `ffwd` command: git-style subcommands.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "cli.h"

#ifndef FFWD_VERSION
#define FFWD_VERSION "0.0.0"
#endif

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"demo", cmd_demo, "build the demo guest if needed, boot it, run a workload, summarise"},
    {"boot", cmd_boot, "boot a guest (the demo guest or your own) under the gem5-compatible profile"},
    {"capture", cmd_capture, "freeze a running guest and save its machine state (a capture)"},
    {"inspect", cmd_inspect, "verify a capture and summarise it"},
    {"convert", cmd_convert, "turn a capture into a checkpoint that stock gem5 v24.0 restores"},
    {"profile", cmd_profile, "run a workload with the BBV plugin: basic-block vectors for SimPoint"},
    {"cluster", cmd_cluster, "choose simulation points from BBVs (SimPoint 3.2's method, in C)"},
    {"sample", cmd_sample, "capture every simulation point in one rerun, as gem5 checkpoints"},
    {"landing", cmd_landing, "how well a rerun lands on a profile, interval by interval"},
    {"sample-run", cmd_sample_run, "run every simulation-point checkpoint in gem5; weighted CPI/IPC"},
    {"trace", cmd_trace, "memory-access traces (record, stats, dump) and the online cache/TLB model"},
    {"flow", cmd_flow, "control-flow profiles: system calls, function calls and loops per process"},
    {"estimate", cmd_estimate, "fit a CPI model on gem5-measured intervals, estimate a whole run's cycles"},
    {"verify", cmd_verify, "run a checkpoint in real gem5 and compare the guest output with QEMU's"},
    {"gem5-table", cmd_gem5_table, "print gem5's misc-register table derived from a gem5 source tree"},
    {"suite", cmd_suite, "benchmark suites of real arm64 programs: list, build their disk, run and check them"},
    {"study", cmd_study, "the whole SimPoint study of a suite: profile, cluster, sample, gem5, report"},
    {"guest", cmd_guest, "build the demo guest, or print where its files are"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ffwd [--version] [--help] [-v|-q] COMMAND [ARGS]\n"
               "\n"
               "ffwd runs a workload in QEMU, finds its region of interest and turns the\n"
               "machine state into checkpoints that stock gem5 restores.\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "Options:\n"
               "  -v, --verbose   more detail (debug messages)\n"
               "  -q, --quiet     only errors\n"
               "\n"
               "`ffwd COMMAND --help` describes each command. Exit status: 0 on success,\n"
               "1 on an error (one line \"ffwd: error: ...\" says what), 2 on bad usage.\n");
}

int main(int argc, char **argv)
{
    ffwd_log_init(FFWD_LOG_INFO);
    opterr = 0; /* getopt's own messages lack the "ffwd: error:" prefix: cli_bad_option says it */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
            printf("ffwd %s\n", FFWD_VERSION);
            return 0;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            ffwd_log_set_level(FFWD_LOG_DEBUG);
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            ffwd_log_set_level(FFWD_LOG_ERROR);
        else {
            ffwd_error("unknown option '%s'", a);
            fprintf(stderr, "usage: ffwd [--version] [--help] [-v|-q] COMMAND [ARGS]\nSee 'ffwd --help'.\n");
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[i], "help")) {
        if (i + 1 < argc) {
            char *sub[] = {argv[i + 1], "--help", NULL};
            for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
                if (!strcmp(commands[k].name, argv[i + 1]))
                    return commands[k].fn(2, sub);
        }
        usage(stdout);
        return 0;
    }
    for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
        if (!strcmp(commands[k].name, argv[i]))
            return commands[k].fn(argc - i, argv + i);
    ffwd_error("'%s' is not an ffwd command", argv[i]);
    fprintf(stderr, "See 'ffwd --help'.\n");
    return 2;
}
