/*
 * runner.h -- ONE way to run a batch of independent commands, on this
 * machine or as a Slurm job array: the gem5 simulation points of
 * `ffwd sample-run` (and whatever else runs many long commands).
 *
 * A task is a command with its own folder: it runs there, its output goes
 * to a log in that folder, and its result is what it leaves there (the
 * caller reads it afterwards). The runner only starts tasks, bounds their
 * time, and says how each ended.
 *
 * Local: `jobs` tasks at once (fork/exec), a task past its time limit is
 * killed.
 *
 * Slurm: one job array, one array task per task, submitted with sbatch.
 * The script is plain shell kept in the batch folder (RUN/job.sh; a user can
 * read it and resubmit it by hand with `sbatch --array=...`); each array
 * task runs its command in its folder and writes its exit status to
 * TASKDIR/.ffwd-exit when it ends (a task killed by Slurm leaves none: its
 * reason is in RUN/slurm-JOB_TASK.out). The submission is recorded in
 * RUN/job.json, so that a later `collect` (after --no-wait) finds it.
 *
 * Paths: the cluster must see the task folders, the programs and their
 * inputs. By default at the same absolute paths (a file system mounted at
 * the same place on every node); with path_map "LOCAL=REMOTE" every path in
 * the script that starts with LOCAL starts with REMOTE instead (the same
 * files mounted elsewhere on the nodes) -- ffwd itself reads the results
 * through LOCAL.
 */
#ifndef FFWD_RUNNER_H
#define FFWD_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct runner_task {
    /* in */
    char **argv;          /* argv[0]: absolute path of the program; NULL-terminated */
    char *dir;            /* the task's folder: it runs there */
    const char *log;      /* name of its stdout+stderr file in dir */
    const char *label;    /* for messages, e.g. "simulation point 3" */
    uint64_t mem_bytes;   /* memory it needs (Slurm; 0: the cluster's default) */
    double seconds;       /* time limit (0: none locally, the cluster's default on Slurm) */
    bool skip;            /* not run now (done earlier) */
    /* out */
    bool ended;           /* it ran to its end (exit status below) */
    int exit_status;      /* its exit status, or 128 + signal */
    bool timed_out;
    double elapsed;       /* seconds, where known */
    char error[512];      /* why it did not end (could not start, killed, Slurm's reason) */
};

enum runner_kind { RUNNER_LOCAL, RUNNER_SLURM };

struct runner_opts {
    enum runner_kind kind;
    unsigned jobs;             /* local: tasks at once (default 1) */
    /* Slurm */
    const char *run_dir;       /* the batch's folder: job.sh, job.json, Slurm's output */
    const char *job_name;
    const char *partition, *account;
    const char *time;          /* --time for every task (Slurm's format); NULL: from the tasks' seconds */
    const char *mem;           /* --mem for every task (e.g. 4G); NULL: from the tasks' mem_bytes */
    const char *const *sbatch_args; /* more sbatch options, as given */
    size_t nsbatch_args;
    const char *path_map;      /* "LOCAL=REMOTE" or NULL */
    bool no_wait;              /* submit and return: collect later */
    double poll_seconds;       /* how often the queue is asked (default 2) */
    /* called as each task ends (both runners), e.g. for progress */
    void (*on_end)(const struct runner_task *t, size_t done, size_t total, void *ctx);
    void *ctx;
};

/* Run the tasks that are not skipped. Returns 0 when every task was run (or
 * submitted, with no_wait) -- each task's own outcome is in the task --, -1
 * when the batch could not be run at all (message set). */
int runner_run(const struct runner_opts *o, struct runner_task *t, size_t n);

/* Slurm: wait for the job recorded in o->run_dir/job.json (if still queued
 * or running) and fill in how each task ended. */
int runner_collect(const struct runner_opts *o, struct runner_task *t, size_t n);

/* Is there a submission recorded in run_dir (job.json)? Its job id in *job. */
bool runner_submitted(const char *run_dir, char *job, size_t n);

/* Local runner alone (runner_run with RUNNER_LOCAL). */
int runner_local(const struct runner_opts *o, struct runner_task *t, size_t n);
/* Slurm runner alone (runner_run with RUNNER_SLURM). */
int runner_slurm(const struct runner_opts *o, struct runner_task *t, size_t n);

#endif
