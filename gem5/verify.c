/* verify.c -- see verify.h. */
#define _GNU_SOURCE
#include "../common/paths.h"
#include "verify.h"

#include <ctype.h>
#include <jansson.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../guest/protocol.h"

static bool kernel_line(const char *l)
{
    /* "[   12.345678] ..." */
    if (*l != '[')
        return false;
    l++;
    while (*l == ' ')
        l++;
    if (!isdigit((unsigned char)*l))
        return false;
    while (isdigit((unsigned char)*l))
        l++;
    return *l == '.';
}

char *gem5_verify_filter(const char *text, int cut_at_exit)
{
    struct sbuf out = {0};
    char *copy = xstrdup(text);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(l);
        while (n && (l[n - 1] == '\r' || l[n - 1] == ' '))
            l[--n] = 0;
        while (*l == '\r')
            l++;
        if (!*l || kernel_line(l))
            continue;
        if (str_starts(l, FFWD_PROTO_PREFIX)) {
            const char *ev = l + strlen(FFWD_PROTO_PREFIX);
            if (cut_at_exit && (str_starts(ev, FFWD_PROTO_EXIT) || str_starts(ev, FFWD_PROTO_CMD_EXIT) ||
                                str_starts(ev, FFWD_PROTO_POWEROFF)))
                break;
            if (!str_starts(ev, FFWD_PROTO_MARKER))
                continue; /* bookkeeping only QEMU's side prints */
        }
        sbuf_addf(&out, "%s\n", l);
    }
    free(copy);
    if (!out.s)
        sbuf_add(&out, "", 0);
    return out.s;
}

char *gem5_config_path(void)
{
    char *d = ffwd_data_dir();
    char *p = xasprintf("%s/gem5/ffwd_restore.py", d);
    free(d);
    return p;
}

pid_t gem5_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int gem5_verify(const struct gem5_verify_opts *o, struct gem5_verify_result *r)
{
    memset(r, 0, sizeof *r);
    double t0 = now_sec();
    char *ip = xasprintf("%s/ffwd-checkpoint.json", o->checkpoint);
    json_t *info = json_load_file(ip, 0, NULL);
    free(ip);
    if (!info)
        return ffwd_seterr("%s is not an ffwd gem5 checkpoint (no readable ffwd-checkpoint.json)", o->checkpoint);
    const char *cap = json_string_value(json_object_get(info, "source_capture"));
    char *mp = cap ? xasprintf("%s/manifest.json", cap) : NULL;
    json_t *man = mp ? json_load_file(mp, 0, NULL) : NULL;
    free(mp);
    json_t *con = json_object_get(man, "console");
    const char *log = json_string_value(json_object_get(con, "log"));
    long long off = json_integer_value(json_object_get(con, "offset"));
    size_t loglen = 0;
    char *qlog = log ? read_file(log, &loglen) : NULL;
    int rc = -1;
    char *work = NULL, *expect = NULL, *got = NULL, *glog = NULL, *cfg = NULL;
    if (!qlog) {
        ffwd_seterr("the QEMU console log of capture %s is not readable (field console.log of its manifest)",
                    cap ? cap : "?");
        goto out;
    }
    if (off < 0 || (size_t)off > loglen) {
        ffwd_seterr("capture %s: console offset %lld is beyond its log (%zu bytes)", cap, off, loglen);
        goto out;
    }
    expect = gem5_verify_filter(qlog + off, 1);
    if (!o->gem5 || access(o->gem5, X_OK) < 0) {
        ffwd_seterr("gem5 binary '%s' is not an executable file", o->gem5 ? o->gem5 : "(none)");
        goto out;
    }
    cfg = o->config ? xstrdup(o->config) : gem5_config_path();
    work = o->workdir ? xstrdup(o->workdir) : make_temp_dir("/tmp", "ffwd-verify-");
    if (!work || mkdir_p(work, 0755) < 0)
        goto out;
    char *outdir = xasprintf("%s/m5out", work), *od = xasprintf("--outdir=%s", outdir);
    char *ms = xasprintf("%g", o->max_seconds > 0 ? o->max_seconds : 5.0), *sw = xasprintf("%lld", o->switch_after);
    char *argv[] = {(char *)o->gem5, od, "--listener-mode=off", cfg, "--checkpoint", (char *)o->checkpoint,
                    "--cpu", (char *)(o->cpu ? o->cpu : "atomic"), "--switch-after", sw, "--max-seconds", ms, NULL};
    char *gout = xasprintf("%s/gem5.log", work);
    pid_t pid = gem5_spawn(argv, gout);
    double limit = o->timeout > 0 ? o->timeout : 3600;
    int st = 0;
    bool done = false;
    while (now_sec() - t0 < limit) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            done = true;
            break;
        }
        usleep(100000);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    glog = read_file(gout, NULL);
    if (glog) {
        char *ex = NULL;
        for (char *p = glog; (p = strstr(p, "ffwd_restore: exit")); p++)
            ex = p;
        if (ex)
            snprintf(r->gem5_exit, sizeof r->gem5_exit, "%.*s", (int)strcspn(ex, "\n"), ex);
    }
    /* the console file is named after the platform's path in the layout the checkpoint was written for */
    const char *plat = json_string_value(json_object_get(json_object_get(info, "layout"), "platform"));
    char *tp = xasprintf("%s/%s.terminal", outdir, plat ? plat : "system.realview");
    char *term = read_file(tp, NULL);
    free(tp);
    free(outdir);
    free(od);
    free(ms);
    free(sw);
    free(gout);
    if (!done) {
        ffwd_seterr("gem5 did not finish within %.0f s (see %s/gem5.log)", limit, work);
        free(term);
        goto out;
    }
    if (!term) {
        char *tail = glog ? glog + (strlen(glog) > 600 ? strlen(glog) - 600 : 0) : (char *)"";
        ffwd_seterr("gem5 produced no terminal output (exit status %d): ...%s", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                    tail);
        goto out;
    }
    got = gem5_verify_filter(term, 0);
    free(term);
    /* compare line by line */
    char *e = expect, *g = got;
    for (;;) {
        char *en = strchr(e, '\n'), *gn = strchr(g, '\n');
        if (!en && !gn)
            break;
        if (!en || !gn || (en - e) != (gn - g) || memcmp(e, g, (size_t)(en - e))) {
            snprintf(r->first_diff, sizeof r->first_diff, "line %u: QEMU '%.*s' vs gem5 '%.*s'",
                     r->lines_compared + 1, en ? (int)(en - e) : 5, en ? e : "(end)", gn ? (int)(gn - g) : 5,
                     gn ? g : "(end)");
            break;
        }
        r->lines_compared++;
        e = en + 1;
        g = gn + 1;
    }
    r->matched = r->first_diff[0] == 0;
    r->seconds = now_sec() - t0;
    if (!r->matched)
        ffwd_seterr("the guest's output in gem5 differs from QEMU's after the checkpoint: %s (%s)", r->first_diff,
                    r->gem5_exit[0] ? r->gem5_exit : "gem5 printed no exit line");
    else if (r->lines_compared == 0)
        ffwd_seterr("nothing to compare: the guest printed nothing after the checkpoint");
    else
        rc = 0;
out:
    if (work && !o->workdir && rc == 0)
        rm_rf(work);
    free(work);
    free(cfg);
    free(expect);
    free(got);
    free(glog);
    free(qlog);
    json_decref(man);
    json_decref(info);
    return rc;
}
