/* opts.h -- long-option codes shared by the subcommands. */
#ifndef FFWD_OPTS_H
#define FFWD_OPTS_H

enum {
    OPT_SMP = 256,
    OPT_MEM,
    OPT_GIC,
    OPT_ACCEL,
    OPT_DETERMINISTIC,
    OPT_KERNEL,
    OPT_DISK,
    OPT_INITRD,
    OPT_APPEND,
    OPT_CMD,
    OPT_RUN_DIR,
    OPT_CONSOLE,
    OPT_TIMEOUT,
    OPT_EXPECT,
    OPT_PRINT_PROFILE,
    OPT_JSON,
    OPT_QEMU,
    OPT_OUT,
    OPT_WORKLOAD,
    OPT_SIZE,
    OPT_FORCE,
    OPT_CACHE,
    OPT_HELP,
    OPT_PLUGIN,
    OPT_NAME,
    OPT_STAY,
    OPT_CAPTURE_MARKER,
    OPT_CAPTURE_DIR,
    OPT_CAPTURE_INSN,
    OPT_INSN_SCOPE,
    OPT_RECORD,
    OPT_REPLAY,
    OPT_GEM5_SRC,
    OPT_TEMPLATE,
    OPT_THREADS,
    OPT_LEVEL,
    OPT_GEM5,
    OPT_CPU,
    OPT_SWITCH,
    OPT_MAXSEC,
    OPT_KEEP,
    OPT_RNG_SEED,
    OPT_LAYOUT,
    OPT_CONFIG,
    OPT_KEEP_RUN_DIR,
};

#define PROFILE_LONGOPTS                                                                                           \
    {"smp", required_argument, 0, OPT_SMP}, {"mem", required_argument, 0, OPT_MEM},                                \
        {"gic", required_argument, 0, OPT_GIC}, {"accel", required_argument, 0, OPT_ACCEL},                        \
        {"deterministic", no_argument, 0, OPT_DETERMINISTIC}, {"rng-seed", required_argument, 0, OPT_RNG_SEED}

#endif
