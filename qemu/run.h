/*
 * run.h -- run a guest from start to power-off with progress reporting:
 * the common core of `ffwd boot` and `ffwd demo`.
 */
#ifndef FFWD_RUN_H
#define FFWD_RUN_H

#include "vm.h"

#define FFWD_MAX_MARKERS 64

struct ffwd_run_opts {
    double timeout_s;           /* whole run; 0: 600 */
    const char *expect_marker;  /* error unless "@ffwd: marker <this>" is seen */
    bool progress;              /* print progress lines to stderr */
    const char *capture_dir;    /* capture at `ffwd-guest checkpoint` (and capture_marker) into this folder */
    const char *capture_marker; /* also capture when the guest prints this marker */
    int insn_scope;             /* as ffwd_vm_config.insn_scope (for reporting) */
    bool insn_filter_user;      /* the targets count user-mode instructions only (mode=user) */
    /* The run directory ffwd made itself (no cfg.run_dir) is removed after a
     * run that succeeded, unless keep_run_dir or it holds captures; after a
     * failure it is kept for inspection and its path printed. */
    bool keep_run_dir;
    const char *console_copy;   /* copy the console log here first (and report this path) */
    void (*tick)(void *arg);    /* called about once a second while the guest runs (progress) */
    void *tick_arg;
};

/* One instruction-count stop (retries of the same target update it). */
struct ffwd_stop {
    uint64_t target, reached, tb_len; /* in what the trigger counts (cfg.insn_filter) */
    uint64_t held;                    /* counted when the trigger held the vCPU (the block then ran) */
    uint64_t all;                     /* every retired instruction then (the scope's vCPU, or all vCPUs) */
    int64_t overshoot;
    unsigned retries;                 /* stops that fell short (a block cut by an exception) */
    unsigned kernel_retries;          /* stops that fell in the kernel while counting user mode only
                                         (an interrupt, a system call): the next counted block is
                                         stopped at instead */
    bool kernel_retries_added;        /* this stop fell in the kernel (else it was short, or final) */
    int landmark;                     /* 0: by count; 1: at the profile's landmark block; 2: the
                                         landmark did not come by, stopped by count */
    bool final;                       /* the stop that was taken (not one retried after) */
};

struct ffwd_run_result {
    double t_kernel, t_init, t_root, t_cmd_start, t_cmd_exit, t_exit; /* seconds since start, <0: not seen */
    int cmd_status;             /* -1: no cmd-exit seen */
    int qemu_status;
    unsigned nmarkers;
    char markers[FFWD_MAX_MARKERS][128];
    double marker_t[FFWD_MAX_MARKERS];
    unsigned nstops, cap_stops;  /* instruction-count stops */
    struct ffwd_stop *stops;
    unsigned ncaptures, cap_captures;
    char **captures;             /* paths, in the order taken */
    uint64_t *capture_target;    /* instruction-count target of each (0: other trigger) */
    char run_dir[1024];
    char console_log[1100];
    bool run_dir_removed;       /* the run directory is gone (see keep_run_dir) */
};

/* Start, supervise and finish one guest run. Returns 0 when the guest ran to
 * power-off (and the expected marker, if any, was seen); the command's own
 * exit status is in res->cmd_status. QEMU is never left running. */
int ffwd_run_guest(const struct ffwd_vm_config *cfg, const struct ffwd_run_opts *o, struct ffwd_run_result *res);

/* Free what a run result holds (its stops and captures). */
void ffwd_run_result_free(struct ffwd_run_result *res);

#endif
