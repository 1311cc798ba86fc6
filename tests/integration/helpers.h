/*
 * helpers.h -- shared helpers of the integration tests (header-only; each
 * integration test is one program).
 */
#ifndef FFWD_IT_HELPERS_H
#define FFWD_IT_HELPERS_H

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/test.h"

/* Run ffwd with the given arguments; stdout+stderr in *out; returns the exit status. */
static inline int ffwd(struct sbuf *out, const char *const *args)
{
    char *argv[64] = {FFWD_BIN};
    int n = 1;
    for (; args[n - 1] && n < 63; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    out->len = 0;
    int st = run_cmd(argv, &(struct run_opts){.out = out, .merge_stderr = true});
    if (!out->s)
        sbuf_add(out, "", 0);
    return st;
}

/* Run ffwd --json ...: its standard output parsed (NULL, with the reason on
 * stderr, unless it is one JSON object); *rc gets the exit status. */
static inline json_t *ffwd_json(const char *const *args, int *rc)
{
    char *argv[64] = {FFWD_BIN};
    int n = 1;
    for (; args[n - 1] && n < 63; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    struct sbuf out = {0};
    *rc = run_cmd(argv, &(struct run_opts){.out = &out});
    json_error_t je;
    json_t *j = json_loadb(out.s ? out.s : "", out.len, 0, &je);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "ffwd %s ... --json: standard output is not one JSON object (%s at line %d): %s\n", args[0],
                je.text, je.line, out.s ? out.s : "");
        json_decref(j);
        j = NULL;
    }
    sbuf_free(&out);
    return j;
}

static inline char *guest_path(const char *what)
{
    struct sbuf o = {0};
    const char *a[] = {"guest", "path", what, NULL};
    if (ffwd(&o, a) != 0) {
        fprintf(stderr, "ffwd guest path %s failed: %s\n", what, o.s);
        exit(1);
    }
    char *nl = strrchr(o.s, '\n');
    if (nl)
        *nl = 0;
    char *last = strrchr(o.s, '\n');
    char *r = xstrdup(last ? last + 1 : o.s);
    sbuf_free(&o);
    return r;
}

/* Reference: run the host build of a workload, return its checksum line. */
static inline char *host_checksum(const char *wl, const char *size)
{
    char *bin = xasprintf("%s/host_%s", HOST_BIN_DIR, wl);
    char *argv[] = {bin, (char *)size, NULL};
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o});
    free(bin);
    CHECK(st == 0);
    char *c = o.s ? strstr(o.s, "checksum") : NULL;
    char *r = c ? xasprintf("%.*s", (int)strcspn(c, "\n"), c) : xstrdup("(none)");
    sbuf_free(&o);
    return r;
}

/* Do two files hold the same bytes (both readable)? */
static inline bool files_equal(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = read_file(a, &la), *y = read_file(b, &lb);
    bool eq = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return eq;
}

static inline char *file_text(const char *p)
{
    char *s = read_file(p, NULL);
    return s ? s : xstrdup("");
}

static inline bool pid_alive_in(const char *run_dir)
{
    char *pp = xasprintf("%s/qemu.pid", run_dir);
    char *s = read_file(pp, NULL);
    free(pp);
    if (!s)
        return false;
    pid_t pid = (pid_t)atol(s);
    free(s);
    return pid > 0 && kill(pid, 0) == 0;
}


/* Start ffwd with argv (argv[0] = FFWD_BIN) in the background, output discarded. */
static inline pid_t ffwd_bg(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(nul, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Wait until RUN/console.log contains needle (up to timeout_s). */
static inline bool wait_console(const char *run, const char *needle, double timeout_s)
{
    char *lp = xasprintf("%s/console.log", run);
    bool found = false;
    for (double t0 = now_sec(); !found && now_sec() - t0 < timeout_s;) {
        char *log = read_file(lp, NULL);
        found = log && strstr(log, needle);
        free(log);
        if (!found)
            usleep(100000);
    }
    free(lp);
    return found;
}

#endif
