/* local.c -- the runner on this machine: `jobs` tasks at once. See runner.h. */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/util.h"

struct slot {
    pid_t pid;
    double t0;
    size_t i;
};

/* Start task t: in its folder, output to its log, its own process group (a
 * late task is killed with everything it started). */
static pid_t start(const struct runner_task *t)
{
    char *log = xasprintf("%s/%s", t->dir, t->log);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || chdir(t->dir) < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(t->argv[0], t->argv);
        _exit(127);
    }
    free(log);
    return pid;
}

int runner_local(const struct runner_opts *o, struct runner_task *t, size_t n)
{
    unsigned jobs = o->jobs ? o->jobs : 1;
    struct slot *s = xcalloc(jobs, sizeof *s);
    size_t next = 0, done = 0, todo = 0;
    unsigned running = 0;
    for (size_t i = 0; i < n; i++)
        todo += !t[i].skip;
    while (next < n || running) {
        while (running < jobs && next < n) {
            struct runner_task *k = &t[next++];
            if (k->skip)
                continue;
            k->ended = k->timed_out = false;
            k->error[0] = 0;
            pid_t pid = start(k);
            if (pid < 0) {
                snprintf(k->error, sizeof k->error, "cannot start %s: %s", k->argv[0], strerror(errno));
                if (o->on_end)
                    o->on_end(k, ++done, todo, o->ctx);
                continue;
            }
            for (unsigned j = 0; j < jobs; j++)
                if (!s[j].pid) {
                    s[j] = (struct slot){pid, now_sec(), (size_t)(k - t)};
                    break;
                }
            running++;
        }
        if (!running)
            break;
        /* short tasks must not wait for a long poll: look again soon while
         * nothing ends, less often as the batch runs longer */
        bool any = false;
        for (unsigned j = 0; j < jobs; j++) {
            if (!s[j].pid)
                continue;
            struct runner_task *k = &t[s[j].i];
            bool late = k->seconds > 0 && now_sec() - s[j].t0 > k->seconds;
            if (late)
                kill(-s[j].pid, SIGKILL);
            int st = 0;
            if (waitpid(s[j].pid, &st, late ? 0 : WNOHANG) != s[j].pid)
                continue;
            any = true;
            k->elapsed = now_sec() - s[j].t0;
            if (late) {
                k->timed_out = true;
                snprintf(k->error, sizeof k->error, "timed out after %.0f s", k->seconds);
            } else if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && k->elapsed < 1) {
                snprintf(k->error, sizeof k->error, "cannot run %s in %s", k->argv[0], k->dir);
            } else {
                k->ended = true;
                k->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            s[j].pid = 0;
            running--;
            if (o->on_end)
                o->on_end(k, ++done, todo, o->ctx);
        }
        if (!any)
            usleep(running ? 5000 : 0);
    }
    free(s);
    return 0;
}

int runner_run(const struct runner_opts *o, struct runner_task *t, size_t n)
{
    return o->kind == RUNNER_SLURM ? runner_slurm(o, t, n) : runner_local(o, t, n);
}
