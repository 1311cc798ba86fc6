/*
 * slurm.c -- the runner on a Slurm cluster: one job array (see runner.h).
 *
 * Written by hand, not with a library: Slurm's own C API (libslurm) changes
 * with every release and must match the cluster's version exactly, while
 * sbatch and squeue are the stable interface every site has, and a job
 * script a user can read and resubmit is part of what is asked.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"

#define EXIT_FILE ".ffwd-exit"

/* Single-quoted for sh. */
static void sh_quote(struct sbuf *b, const char *s)
{
    sbuf_addc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            sbuf_addf(b, "'\\''");
        else
            sbuf_addc(b, *s);
    }
    sbuf_addc(b, '\'');
}

/* A path as the nodes see it: LOCAL... -> REMOTE... (also after a '=', as
 * in --outdir=PATH). New string. */
static char *remote(const char *map, const char *s)
{
    const char *eq = map ? strchr(map, '=') : NULL;
    if (!eq)
        return xstrdup(s);
    size_t ll = (size_t)(eq - map);
    const char *at = !strncmp(s, map, ll) ? s : NULL;
    if (!at) {
        const char *e = strchr(s, '=');
        if (e && !strncmp(e + 1, map, ll))
            at = e + 1;
    }
    if (!at || (at[ll] && at[ll] != '/'))
        return xstrdup(s);
    return xasprintf("%.*s%s%s", (int)(at - s), s, eq + 1, at + ll);
}

/* The array indices of the tasks to run, as Slurm writes them: 0-3,7,9-10. */
static char *array_spec(const struct runner_task *t, size_t n)
{
    struct sbuf b = {0};
    for (size_t i = 0; i < n;) {
        if (t[i].skip) {
            i++;
            continue;
        }
        size_t j = i;
        while (j + 1 < n && !t[j + 1].skip)
            j++;
        sbuf_addf(&b, "%s%zu", b.len ? "," : "", i);
        if (j > i)
            sbuf_addf(&b, "-%zu", j);
        i = j + 1;
    }
    return b.s;
}

/* Slurm's --time from seconds: minutes, rounded up. */
static char *slurm_minutes(double s)
{
    unsigned long m = (unsigned long)((s + 59) / 60);
    return xasprintf("%lu", m ? m : 1);
}

static int write_script(const struct runner_opts *o, const struct runner_task *t, size_t n, char **path_out)
{
    double secs = 0;
    uint64_t mem = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].seconds > secs)
            secs = t[i].seconds;
        if (t[i].mem_bytes > mem)
            mem = t[i].mem_bytes;
    }
    char *rdir = remote(o->path_map, o->run_dir);
    struct sbuf b = {0};
    sbuf_addf(&b, "#!/bin/sh\n"
                  "# Written by ffwd: %zu tasks, one per array index; each runs its command in its\n"
                  "# folder and writes its exit status to FOLDER/" EXIT_FILE ". To run some again by hand:\n"
                  "#   sbatch --array=INDICES %s/job.sh\n",
              n, rdir);
    sbuf_addf(&b, "#SBATCH --job-name=%s\n", o->job_name ? o->job_name : "ffwd");
    sbuf_addf(&b, "#SBATCH --output=%s/slurm-%%A_%%a.out\n", rdir);
    sbuf_addf(&b, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
    if (o->time)
        sbuf_addf(&b, "#SBATCH --time=%s\n", o->time);
    else if (secs > 0) {
        char *m = slurm_minutes(secs);
        sbuf_addf(&b, "#SBATCH --time=%s\n", m);
        free(m);
    }
    if (o->mem)
        sbuf_addf(&b, "#SBATCH --mem=%s\n", o->mem);
    else if (mem)
        sbuf_addf(&b, "#SBATCH --mem=%" PRIu64 "M\n", (mem + (1 << 20) - 1) >> 20);
    if (o->partition)
        sbuf_addf(&b, "#SBATCH --partition=%s\n", o->partition);
    if (o->account)
        sbuf_addf(&b, "#SBATCH --account=%s\n", o->account);
    for (size_t i = 0; i < o->nsbatch_args; i++)
        sbuf_addf(&b, "#SBATCH %s\n", o->sbatch_args[i]);
    sbuf_addf(&b, "\ncase \"$SLURM_ARRAY_TASK_ID\" in\n");
    for (size_t i = 0; i < n; i++) {
        sbuf_addf(&b, "%zu) # %s\n    dir=", i, t[i].label ? t[i].label : "");
        char *d = remote(o->path_map, t[i].dir);
        sh_quote(&b, d);
        free(d);
        sbuf_addf(&b, "; log=");
        sh_quote(&b, t[i].log);
        sbuf_addf(&b, "\n    set --");
        for (char **a = t[i].argv; *a; a++) {
            char *r = remote(o->path_map, *a);
            sbuf_addc(&b, ' ');
            sh_quote(&b, r);
            free(r);
        }
        sbuf_addf(&b, " ;;\n");
    }
    sbuf_addf(&b, "*) echo \"ffwd: no task $SLURM_ARRAY_TASK_ID in this job\" >&2; exit 2 ;;\n"
                  "esac\n"
                  "cd \"$dir\" || exit 1\n"
                  "rm -f " EXIT_FILE "\n"
                  "start=$(date +%%s)\n"
                  "\"$@\" > \"$log\" 2>&1\n"
                  "status=$?\n"
                  "echo \"$status $start $(date +%%s)\" > " EXIT_FILE ".tmp && mv " EXIT_FILE ".tmp " EXIT_FILE "\n"
                  "exit $status\n");
    free(rdir);
    char *p = xasprintf("%s/job.sh", o->run_dir);
    int rc = write_file_atomic(p, b.s, b.len, 0755);
    sbuf_free(&b);
    if (rc < 0) {
        free(p);
        return -1;
    }
    *path_out = p;
    return 0;
}

bool runner_submitted(const char *run_dir, char *job, size_t n)
{
    char *p = xasprintf("%s/job.json", run_dir);
    json_t *j = path_exists(p) ? json_load_file(p, 0, NULL) : NULL;
    free(p);
    const char *id = json_string_value(json_object_get(j, "job"));
    bool ok = id && *id;
    if (ok && job)
        snprintf(job, n, "%s", id);
    json_decref(j);
    return ok;
}

/* How task i (array index i) ended: its exit file, else Slurm's output for
 * the reason. */
static void read_end(const struct runner_opts *o, const char *job, struct runner_task *k, size_t i)
{
    k->ended = k->timed_out = false;
    k->error[0] = 0;
    char *ef = xasprintf("%s/" EXIT_FILE, k->dir);
    char *txt = path_exists(ef) ? read_file(ef, NULL) : NULL;
    long long st, t0, t1;
    if (txt && sscanf(txt, "%lld %lld %lld", &st, &t0, &t1) == 3) {
        k->ended = true;
        k->exit_status = (int)st;
        k->elapsed = (double)(t1 - t0);
    } else {
        char *so = xasprintf("%s/slurm-%s_%zu.out", o->run_dir, job, i);
        char *out = path_exists(so) ? read_file(so, NULL) : NULL;
        const char *e = out ? strstr(out, "error:") : NULL;
        if (out && strstr(out, "DUE TO TIME LIMIT")) {
            k->timed_out = true;
            snprintf(k->error, sizeof k->error, "timed out (Slurm's time limit; %s)", so);
        } else
            snprintf(k->error, sizeof k->error, "Slurm task %s_%zu ended without an exit status (%.*s%s%s)", job, i,
                     e ? (int)strcspn(e, "\n") : 0, e ? e : "", e ? "; " : "", so);
        free(out);
        free(so);
    }
    free(txt);
    free(ef);
}

static void read_ends(const struct runner_opts *o, const char *job, struct runner_task *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!t[i].skip)
            read_end(o, job, &t[i], i);
}

/* Wait until job's tasks have left the queue; report ends as they come. */
static int wait_job(const struct runner_opts *o, const char *job, struct runner_task *t, size_t n)
{
    size_t todo = 0, reported = 0;
    for (size_t i = 0; i < n; i++)
        todo += !t[i].skip;
    bool *seen = xcalloc(n ? n : 1, sizeof *seen);
    double poll = o->poll_seconds > 0 ? o->poll_seconds : 2;
    int rc = 0, fails = 0;
    for (;;) {
        struct sbuf out = {0};
        char *argv[] = {"squeue", "-h", "-j", (char *)job, "-o", "%i %T", NULL};
        int st = run_cmd(argv, &(struct run_opts){.out = &out, .merge_stderr = true});
        /* a job the controller has forgotten (done long ago) is not queued either */
        bool gone = st == 0 ? !out.len : (out.s && strstr(out.s, "Invalid job id"));
        if (st != 0 && !gone && ++fails >= 30) {
            rc = ffwd_seterr("squeue -j %s failed 30 times: %s", job, out.s ? out.s : "");
            sbuf_free(&out);
            break;
        }
        sbuf_free(&out);
        for (size_t i = 0; i < n && o->on_end; i++) {
            if (t[i].skip || seen[i])
                continue;
            char *ef = xasprintf("%s/" EXIT_FILE, t[i].dir);
            if (path_exists(ef) || gone) {
                seen[i] = true;
                read_end(o, job, &t[i], i);
                o->on_end(&t[i], ++reported, todo, o->ctx);
            }
            free(ef);
        }
        if (gone)
            break;
        usleep((useconds_t)(poll * 1e6));
    }
    free(seen);
    return rc;
}

int runner_collect(const struct runner_opts *o, struct runner_task *t, size_t n)
{
    char job[64];
    if (!runner_submitted(o->run_dir, job, sizeof job))
        return ffwd_seterr("%s/job.json: no Slurm job was submitted from here", o->run_dir);
    if (wait_job(o, job, t, n) < 0)
        return -1;
    read_ends(o, job, t, n);
    return 0;
}

int runner_slurm(const struct runner_opts *o, struct runner_task *t, size_t n)
{
    if (!have_program("sbatch") || !have_program("squeue"))
        return ffwd_seterr("sbatch and squeue are not in PATH (Slurm's client commands, Debian package slurm-client)");
    if (mkdir_p(o->run_dir, 0755) < 0)
        return -1;
    char *script = NULL;
    if (write_script(o, t, n, &script) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!t[i].skip) {
            char *ef = xasprintf("%s/" EXIT_FILE, t[i].dir);
            unlink(ef);
            free(ef);
        }
    char *arr = array_spec(t, n);
    if (!arr) {
        free(script);
        return 0; /* nothing to run */
    }
    char *aa = xasprintf("--array=%s", arr);
    char *argv[] = {"sbatch", "--parsable", aa, script, NULL};
    struct sbuf out = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &out, .cwd = o->run_dir});
    char job[64] = "";
    if (st == 0 && out.s)
        sscanf(out.s, "%63[0-9]", job);
    if (st != 0 || !job[0]) {
        ffwd_seterr("sbatch %s %s failed (exit %d): %s", aa, script, st, out.s ? out.s : "");
        sbuf_free(&out);
        free(aa), free(arr), free(script);
        return -1;
    }
    sbuf_free(&out);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:i, s:s?}", "format", "ffwd-slurm-job", "job", job, "array", arr,
                            "tasks", (int)n, "path_map", o->path_map);
    char *jt = json_dumps(rec, JSON_INDENT(2));
    char *jp = xasprintf("%s/job.json", o->run_dir);
    int wr = write_file_atomic(jp, jt, strlen(jt), 0644);
    free(jp), free(jt);
    json_decref(rec);
    ffwd_info("submitted Slurm job %s (array %s, %s)", job, arr, script);
    free(aa), free(arr), free(script);
    if (wr < 0)
        return -1;
    if (o->no_wait)
        return 0;
    if (wait_job(o, job, t, n) < 0)
        return -1;
    read_ends(o, job, t, n);
    return 0;
}
