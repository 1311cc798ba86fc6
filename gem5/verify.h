/*
 * verify.h -- run an ffwd checkpoint in real gem5 and compare what the
 * guest prints after the checkpoint with what it printed under QEMU from
 * the same point (the capture records where QEMU's console stood).
 */
#ifndef FFWD_GEM5_VERIFY_H
#define FFWD_GEM5_VERIFY_H

#include <sys/types.h>

struct gem5_verify_opts {
    const char *checkpoint;
    const char *gem5;          /* gem5.opt / gem5.fast binary (ARM build) */
    const char *config;        /* NULL: gem5/ffwd_restore.py of this ffwd */
    const char *cpu;           /* atomic (default), timing, o3 */
    long long switch_after;    /* instructions before switching CPUs */
    double max_seconds;        /* simulated-time limit (0: 5 s) */
    double timeout;            /* wall-clock limit for gem5 (0: 3600 s) */
    const char *workdir;       /* where m5out goes (NULL: a temporary directory, removed) */
};

struct gem5_verify_result {
    int matched;               /* 1: same output */
    unsigned lines_compared;
    char first_diff[1024];
    char gem5_exit[512];       /* gem5's last "ffwd_restore: exit ..." line */
    double seconds;
};

/* 0 when gem5 ran and the outputs match; -1 with an error otherwise
 * (mismatch, gem5 failure, timeout). */
int gem5_verify(const struct gem5_verify_opts *o, struct gem5_verify_result *r);

/* The comparable lines of a console text (exposed for tests): program output
 * and markers; kernel log lines and ffwd's bookkeeping lines are dropped;
 * QEMU's run is cut at the guest's exit/power-off. */
char *gem5_verify_filter(const char *text, int cut_at_exit);

/* gem5/ffwd_restore.py of this ffwd ($FFWD_DATA_DIR or the source tree). */
char *gem5_config_path(void);
/* Start gem5 (argv[0] = binary) with stdout+stderr to `log`; returns its pid
 * or -1. The caller waits (and kills it on a timeout). */
pid_t gem5_spawn(char *const argv[], const char *log);

#endif
