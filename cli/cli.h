/* cli.h -- the subcommands of the ffwd command line (thin: parse, call, report). */
#ifndef FFWD_CLI_H
#define FFWD_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"

int cmd_boot(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_gem5_table(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_landing(int argc, char **argv);
int cmd_sample_run(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_flow(int argc, char **argv);
int cmd_suite(int argc, char **argv);
int cmd_study(int argc, char **argv);

/*
 * The one exit-code rule: 0 success, 1 an error while working (cli_fail),
 * 2 bad usage -- unknown options, missing arguments, bad option values and
 * option combinations that cannot work (cli_usage, cli_bad_value,
 * cli_bad_option). Every message is "ffwd: error: ..." (log.h); a usage
 * error then prints the command's usage lines only (its help's first
 * paragraph) and where the long form is.
 */
#include <stdio.h>
typedef void (*cli_help_fn)(FILE *);
/* Print "ffwd: error: <current error message>" and return 1. */
int cli_fail(void);
/* Print "ffwd: error: <current error message>", the usage lines of `help`, return 2. */
int cli_bad_value(cli_help_fn help);
/* Print "ffwd: error: <fmt...>", the usage lines of `help`, return 2. */
int cli_usage(cli_help_fn help, const char *fmt, ...) FFWD_PRINTF(2, 3);
/* The getopt_long result c was '?' or ':' (optstrings start with ':'): name
 * the option that is unknown or lacks its value; return 2. */
int cli_bad_option(int c, char **argv, cli_help_fn help);
/*
 * --json: standard output carries one JSON document and nothing else
 * (docs/json.md: {"command": NAME, "schema": 1, ...} per command). From
 * cli_json_start() on, what the command prints for people goes nowhere;
 * messages stay on standard error.
 */
struct json_t;
void cli_json_start(void);
/* Add "command" and "schema", print o (consumed) as the result; 0, or -1 (error set). */
int cli_json_emit(const char *command, struct json_t *o);

/* Parse a positive number of seconds given to option `opt`; error names both. */
int cli_seconds(const char *opt, const char *arg, double *out);
/* Parse a whole number lo..hi given to option `opt`; error names both. */
int cli_uint(const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out);
/* Error (naming the file) if one of the paths exists, unless force. */
int cli_refuse_overwrite(bool force, const char *first, ...);
/* The memory plugin's cache/TLB geometry options (--l1i/--l1d/--l2/--llc
 * SIZE:ASSOC:LINE, --itlb/--dtlb ENTRIES:ASSOC[:PAGE]) of `trace record` and
 * `profile --model`, one getopt code for all six. */
#define CLI_CACHE_LONGOPTS(code)                                                                                  \
    {"l1i", required_argument, 0, code}, {"l1d", required_argument, 0, code}, {"l2", required_argument, 0, code}, \
        {"llc", required_argument, 0, code}, {"itlb", required_argument, 0, code},                                \
        {"dtlb", required_argument, 0, code}
/* Check one of them (the plugin's own complaint would end in QEMU's log) and
 * append ",NAME=SPEC" to the plugin's arguments. */
struct sbuf;
int cli_cache_opt(const char *name, const char *spec, struct sbuf *plugin_args);
/* --cpu atomic|timing|o3 of the gem5 commands. */
int cli_gem5_cpu(const char *arg, const char **out);
/* Error unless a gem5 binary was given (--gem5 or $GEM5). */
int cli_need_gem5(const char *gem5);
/* Common: shared option parsing of the machine profile. Returns 1 if the
 * option was consumed, 0 if not a profile option, -1 on a bad value. */
struct ffwd_profile;
int cli_profile_opt(struct ffwd_profile *p, int opt, const char *arg);

#define FFWD_PROFILE_OPTS_HELP                                                                                     \
    "Machine profile (see `ffwd boot --print-profile`):\n"                                                        \
    "  --smp N              number of vCPUs (default 1; max 16 with GICv3, 8 with GICv2: gem5's\n"  \
    "                       CPU affinities)\n"                          \
    "  --mem SIZE           guest RAM, e.g. 512M, 2G (default 512M)\n"                                             \
    "  --gic 2|3            interrupt controller version (default 3, no ITS)\n"                                    \
    "  --accel tcg|kvm      accelerator (default tcg; kvm needs an arm64 host)\n"                                  \
    "  --deterministic      run with -icount (tcg only): the same instructions every run while\n"                     \
    "                       no disk is in use (--append ffwd.root=none); with a disk the clock\n"                    \
    "                       follows the host while it waits, and the run is not reproducible\n"                     \
    "                       (docs/record-replay.md)\n"                                                               \
    "  --rng-seed N         seed of the device tree's rng-seed: the guest's random-number\n"                          \
    "                       generator is ready at boot, the same way every run (default 0;\n"                       \
    "                       off: no seed, the generator waits for host timing)\n"

#endif
