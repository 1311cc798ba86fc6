/*
 * sample.h -- take every simulation point of a profiled run in ONE rerun
 * (instruction-count triggers at each interval start minus the warm-up) and
 * turn each capture into a gem5 checkpoint named as gem5's configs expect.
 */
#ifndef FFWD_SAMPLE_H
#define FFWD_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/log.h"
#include "../qemu/run.h"

/* PREFIX.positions of the BBV plugin: per vCPU, per interval, the exact
 * instruction counts at its start -- every instruction of all vCPUs, of this
 * vCPU, and what the profile counts on this vCPU (its filters) -- and at the
 * end of the last interval. Files of an older ffwd (version 1) have no
 * counted column: counted = self there (they were right only unfiltered). */
struct sample_positions {
    uint64_t interval;   /* from the header; 0 if absent */
    int version;         /* 1 or 2 */
    unsigned nvcpus;
    size_t n[64];
    uint64_t *all[64], *self[64], *counted[64];
    bool has_end[64];
    uint64_t end_all[64], end_self[64], end_counted[64];
};
int sample_positions_read(const char *path, struct sample_positions *p);
void sample_positions_free(struct sample_positions *p);
/* While the BBV plugin writes PATH: the instructions of every vCPU at the
 * latest interval start it wrote (for a progress meter); 0 if none yet. */
uint64_t sample_positions_progress(const char *path);
/* A progress meter on a growing positions file: ffwd_run_opts.tick with this as its argument. */
struct sample_positions_meter {
    struct ffwd_meter m;
    char *positions;
};
void sample_positions_tick(void *arg);
/* This vCPU's own instruction count (every instruction) at the end of
 * interval i, or 0 if the file does not say. */
uint64_t sample_positions_self_end(const struct sample_positions *p, unsigned v, size_t i);

struct sample_opts {
    const char *profile;       /* PREFIX given to `ffwd profile` */
    const char *simpoints, *weights; /* NULL: PREFIX.<vcpu>.simpoints / .weights */
    const char *out;           /* directory to create */
    uint64_t warmup;
    unsigned vcpu;
    bool keep_captures;
    bool no_landing_check;     /* skip the rerun's BBV and the check (faster, no proof) */
    double max_distance;       /* landing check threshold; 0: LANDING_MAX_DISTANCE */
    const char *gem5_src, *template_cpt; /* for the conversion */
};

struct sample_point_result {
    unsigned index, cluster;
    size_t interval;
    double weight;
    /* in what the profile counts (its filters) on the clustered vCPU */
    uint64_t start, target, reached, warmup;
    /* every instruction of that vCPU, in the rerun: where it stopped, and the
     * profiled interval -- the window gem5 must run (it counts them all) */
    uint64_t reached_all, start_all, end_all;
    /* the profile's landmark the stop was found by (0: none): the block the
     * trigger holds, the count after which it looks for it, the PC the
     * point starts at; how the stop was found (ffwd_stop.landmark) */
    uint64_t lm_block, lm_lo, lm_hi, lm_next;
    int landmark;
    double distance;           /* landing distance, -1: not checked */
    bool resumed;              /* taken by an earlier, interrupted `ffwd sample` */
    char checkpoint[4096];
};

struct sample_result {
    size_t n;
    struct sample_point_result *points;
    double run_seconds, convert_seconds;
};

/* cfg/ro carry the run options (timeout, run dir, console, qemu); the
 * machine and the workload come from PREFIX.run.json. */
int sample_run(const struct sample_opts *o, struct ffwd_vm_config *cfg, struct ffwd_run_opts *ro,
               struct sample_result *r);
void sample_result_free(struct sample_result *r);
/* The vCPU that counted the most in the profile PREFIX (its run.json, several
 * vCPUs): 1 and *v set, 0 when it does not say (one vCPU, an older profile). */
int sample_busiest_vcpu(const char *profile, unsigned *v);

/* gem5's name of a simulation-point checkpoint directory. */
/* Where to stop for an interval starting at instruction `start` with a
 * warm-up of `warmup` (as gem5: without room for all of it, from the
 * beginning; the trigger needs a count >= 1): *target, and the warm-up it
 * really gets, never start - target wrapped around. */
void sample_warmup(uint64_t start, uint64_t warmup, uint64_t *target, uint64_t *got);
char *sample_checkpoint_name(unsigned index, uint64_t inst, double weight, uint64_t interval, uint64_t warmup);

#endif
