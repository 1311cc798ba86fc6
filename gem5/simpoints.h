/*
 * simpoints.h -- run every simulation-point checkpoint of `ffwd sample` in
 * real gem5 (warm-up, stats reset, one interval, stats dump, exit) and
 * combine the measurements with the SimPoint weights.
 */
#ifndef FFWD_GEM5_SIMPOINTS_H
#define FFWD_GEM5_SIMPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The points as a Slurm job array (runner/runner.h). */
struct gem5_slurm_opts {
    const char *partition, *account;
    const char *time, *mem;          /* per point, Slurm's format; NULL: from the point */
    const char *const *sbatch_args;  /* more sbatch options */
    size_t nsbatch_args;
    const char *path_map;            /* "LOCAL=REMOTE": where the nodes see these files */
    bool no_wait;                    /* submit and return */
    bool collect;                    /* gather an earlier submission (waits while it runs) */
};

struct gem5_simpoints_opts {
    const char *dir;     /* output of `ffwd sample` (simpoints.json) */
    const char *gem5;    /* gem5.opt / gem5.fast, ARM build of stock v24.0 */
    const char *cpu;     /* atomic, timing, o3 (default o3) */
    unsigned jobs;       /* gem5 processes at once (default 1) */
    double timeout;      /* per checkpoint, wall clock (default 7200 s) */
    uint64_t measure;    /* instructions measured (default: the interval) */
    const char *config;  /* the restoring gem5 configuration (default gem5/ffwd_restore.py); it takes
                          * --checkpoint, --cpu, --warmup-insts, --measure-insts */
    const char *layout;  /* the section names it needs (layout.h); NULL or "legacy": as written.
                          * Points are relabelled per run, into DIR/gem5-TAG/POINT/ckpt */
    const char *tag;     /* results in DIR/gem5-TAG (default: the CPU model) */
    const struct gem5_slurm_opts *slurm; /* NULL: on this machine */
    bool retry_failed;   /* run the points that failed once more (after a collect too) */
    bool until_region_end; /* measure up to the region's end (`ffwd-guest roi`'s m5 work-end), at most
                            * 4 windows + 10^8 instructions; a point that does not reach it fails */
};

struct gem5_simpoint_run {
    unsigned index, cluster;
    double weight;
    uint64_t cycles, insts;
    uint64_t warmup_insts, measure_insts; /* the window asked of gem5 */
    double cpi, seconds;
    bool region_end;     /* the window ended at the region's end (m5 work-end), not at its count */
    char checkpoint[512];
    char error[512];     /* empty when measured */
};

struct gem5_simpoints_result {
    size_t n;
    struct gem5_simpoint_run *runs;
    double weighted_cpi;  /* sum of weight * CPI */
    double weighted_ipc;  /* 1 / weighted_cpi */
    double seconds;
    bool submitted;       /* submitted with no_wait: nothing measured yet */
};

int gem5_simpoints_run(const struct gem5_simpoints_opts *o, struct gem5_simpoints_result *r);
/* The name of a sample-run's results under DIR (DIR/gem5-<tag>): the CPU
 * model for the legacy script (config NULL), else "<script name>-<cpu>". */
char *gem5_results_tag(const char *config, const char *cpu);
void gem5_simpoints_free(struct gem5_simpoints_result *r);

/* From the first statistics block of a gem5 stats.txt: the cycles and the
 * committed instructions of CPU `cpu` (e.g. "system.switch_cpus"). */
int gem5_stats_cpu(const char *stats_txt, const char *cpu, uint64_t *cycles, uint64_t *insts);

#endif
