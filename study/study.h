/*
 * study.h -- `ffwd study`: the whole SimPoint study of each benchmark of a
 * suite in one command (docs/study.md).
 *
 * Per benchmark, in OUT/NAME/, each stage one ffwd command whose --json
 * result is kept as STAGE.json (its messages in STAGE.log):
 *   profile     ffwd profile --user --process roi: BBVs of the program's own
 *               user-mode instructions; the output's checksum is checked
 *   cluster     ffwd cluster: simulation points and weights
 *   sample      ffwd sample: every point captured in one rerun, each with
 *               its landing check, converted to gem5 checkpoints
 *   sample-run  (with gem5) ffwd sample-run: each point on the chosen CPU
 *   full-*      (with gem5 and --full) the whole region in gem5 from one
 *               checkpoint at its start: a profile with one interval as
 *               long as the region, its one point sampled and run
 * A stage whose STAGE.json exists is done: the same command again resumes
 * where an interruption left it. At the end OUT/report.json and
 * OUT/report.html (self-contained: inline SVG, no network).
 */
#ifndef FFWD_STUDY_H
#define FFWD_STUDY_H

#include <stdbool.h>
#include <stdint.h>

#include "../gem5/simpoints.h"
#include "suite.h"

struct study_opts {
    const char *suite;      /* a suite's name or file */
    const char *only;       /* comma-separated benchmarks, or NULL: all */
    enum suite_size size;
    const char *out;
    const char *ffwd;       /* the ffwd binary the stages run (this one) */
    uint64_t interval;      /* profile interval (0: by size: 10 M test, 100 M ref) */
    unsigned maxk;          /* cluster --maxk (0: 30) */
    uint64_t warmup;        /* sample --warmup */
    const char *gem5;       /* NULL: no gem5 stages */
    const char *config;     /* sample-run --config (the user's gem5 script), or NULL */
    const char *cpu;        /* sample-run --cpu (default o3) */
    unsigned jobs;          /* sample-run --jobs */
    bool full;              /* the whole region in gem5 too (for the error) */
    double gem5_ips_atomic; /* stated gem5 rates for the comparison (instructions/s) */
    double gem5_ips_detailed;
    const char *const *extra; /* more options for every guest run (--smp, --timeout, --qemu ...) */
    unsigned nextra;
    /* Several benchmarks at once: each one's stages as a task of the runner
     * (runner/runner.h) -- `ffwd study SUITE --bench NAME --no-report` in
     * OUT/NAME, its messages in OUT/NAME/study.log --, PARALLEL of them on
     * this machine or all of them as one Slurm job array; the report is
     * written when they have ended. */
    unsigned parallel;
    const struct gem5_slurm_opts *slurm; /* NULL: on this machine */
    bool no_report;          /* a task's own run: OUT/NAME only, no report */
};

/* Run the study. 0 when every benchmark went through every stage it was
 * asked for; 1 when some failed (each reported, the others finished);
 * -1 when the study could not run at all (message set). */
int study_run(const struct study_opts *o);

/* The end of a profile's region in what it counted (the "end" line of
 * PREFIX.positions for vCPU 0); 0 when there is none. */
uint64_t study_region_count(const char *prefix);
/* The gem5 rate (instructions/s) the study states for a CPU kind: the
 * user's --gem5-mips-atomic / --gem5-kips-detailed, else 3 MIPS / 300 KIPS. */
double study_gem5_ips(const struct study_opts *o, bool atomic);

/* Write OUT/report.json and OUT/report.html from the stage results in OUT. */
int study_report(const char *out, const struct suite *s, const bool *sel, enum suite_size size,
                 const struct study_opts *o);

#endif
