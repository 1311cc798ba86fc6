/* qmp.c -- QMP client (see qmp.h). */
#define _GNU_SOURCE
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/util.h"

#define QMP_MAX_LINE (64u << 20) /* no legitimate reply comes near this */

struct qmp {
    int fd;
    char *peer;
    struct sbuf in;     /* bytes received, not yet parsed */
    json_t *events;     /* queued events (array) */
    int vmaj, vmin, vmic;
    unsigned next_id;
    bool dead;
};

static int qmp_fail(struct qmp *q, const char *fmt, ...) FFWD_PRINTF(2, 3);
static int qmp_fail(struct qmp *q, const char *fmt, ...)
{
    q->dead = true;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ffwd_seterr("QMP %s: %s", q->peer, msg);
}

/* Read one complete JSON message (a line) within the deadline. */
static json_t *read_msg(struct qmp *q, double deadline)
{
    for (;;) {
        char *nl = q->in.s ? memchr(q->in.s, '\n', q->in.len) : NULL;
        if (nl) {
            size_t linelen = (size_t)(nl - q->in.s) + 1;
            json_error_t jerr;
            json_t *msg = json_loadb(q->in.s, linelen, 0, &jerr);
            char snippet[80];
            snprintf(snippet, sizeof snippet, "%.*s", (int)(linelen > 60 ? 60 : linelen - 1), q->in.s);
            memmove(q->in.s, q->in.s + linelen, q->in.len - linelen);
            q->in.len -= linelen;
            if (!msg || !json_is_object(msg)) {
                json_decref(msg);
                qmp_fail(q, "malformed message from QEMU: '%s'", snippet);
                return NULL;
            }
            return msg;
        }
        if (q->dead) {
            ffwd_seterr("QMP %s: connection is closed", q->peer);
            return NULL;
        }
        if (q->in.len > QMP_MAX_LINE) {
            qmp_fail(q, "message too long (%s)", "over 64 MiB without a newline");
            return NULL;
        }
        double left = deadline - now_sec();
        if (left <= 0) {
            ffwd_seterr("QMP %s: timed out waiting for QEMU", q->peer);
            return NULL;
        }
        struct pollfd pfd = {q->fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ffwd_seterr_errno("QMP %s: poll", q->peer);
            return NULL;
        }
        if (r == 0)
            continue;
        char buf[65536];
        ssize_t n = read(q->fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            q->dead = true;
            if (errno == ECONNRESET)
                qmp_fail(q, "QEMU exited (the connection was reset)");
            else
                ffwd_seterr_errno("QMP %s: read", q->peer);
            return NULL;
        }
        if (n == 0) {
            if (q->in.len)
                qmp_fail(q, "QEMU closed the connection in the middle of a message");
            else
                qmp_fail(q, "QEMU closed the connection");
            return NULL;
        }
        sbuf_add(&q->in, buf, (size_t)n);
    }
}

static int send_msg(struct qmp *q, json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    if (!s)
        return ffwd_seterr("QMP %s: cannot encode a command", q->peer);
    size_t n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n++] = '\n';
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(q->fd, s + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            q->dead = true;
            if (errno == EPIPE || errno == ECONNRESET) /* not "Broken pipe": say what happened */
                ffwd_seterr("QMP %s: QEMU exited (it closed its control connection)", q->peer);
            else
                ffwd_seterr_errno("QMP %s: send", q->peer);
            free(s);
            return -1;
        }
        off += (size_t)w;
    }
    free(s);
    return 0;
}

static int handshake(struct qmp *q, double timeout_s)
{
    /* QEMU may send an event before the greeting: a client that connects
     * while QEMU is still starting (server=on,wait=off) can read RESUME
     * first (seen with QEMU 10.0, -machine none). Events are queued. */
    double deadline = now_sec() + timeout_s;
    json_t *g;
    while ((g = read_msg(q, deadline)) && json_object_get(g, "event") && !json_object_get(g, "QMP"))
        json_array_append_new(q->events, g);
    if (!g)
        return ffwd_preerr("no QMP greeting");
    json_t *ver = json_object_get(json_object_get(g, "QMP"), "version");
    json_t *qv = json_object_get(ver, "qemu");
    if (!json_is_object(qv)) {
        char *txt = json_dumps(g, JSON_COMPACT);
        json_decref(g);
        int rc = qmp_fail(q, "the greeting is not a QMP greeting: %.200s", txt ? txt : "?");
        free(txt);
        return rc;
    }
    q->vmaj = (int)json_integer_value(json_object_get(qv, "major"));
    q->vmin = (int)json_integer_value(json_object_get(qv, "minor"));
    q->vmic = (int)json_integer_value(json_object_get(qv, "micro"));
    json_decref(g);
    return qmp_cmd(q, "qmp_capabilities", NULL, NULL, timeout_s);
}

struct qmp *qmp_from_fd(int fd, const char *peer_name, double timeout_s)
{
    struct qmp *q = xcalloc(1, sizeof *q);
    q->fd = fd;
    q->peer = xstrdup(peer_name);
    q->events = json_array();
    if (handshake(q, timeout_s) < 0) {
        qmp_close(q);
        return NULL;
    }
    return q;
}

struct qmp *qmp_connect(const char *path, double timeout_s)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        ffwd_seterr("QMP socket path too long (%zu bytes, max %zu): %s", strlen(path), sizeof sa.sun_path - 1,
                    path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    double deadline = now_sec() + timeout_s;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            ffwd_seterr_errno("socket");
            return NULL;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return qmp_from_fd(fd, path, deadline - now_sec() > 1 ? deadline - now_sec() : 1);
        int e = errno;
        close(fd);
        if (now_sec() > deadline) {
            errno = e;
            ffwd_seterr_errno("cannot connect to QMP socket %s", path);
            return NULL;
        }
        usleep(20000);
    }
}

void qmp_close(struct qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    sbuf_free(&q->in);
    json_decref(q->events);
    free(q->peer);
    free(q);
}

int qmp_send(struct qmp *q, const char *cmd, json_t *args, unsigned *idp)
{
    if (q->dead) {
        json_decref(args);
        return ffwd_seterr("QMP %s: connection is closed (command %s)", q->peer, cmd);
    }
    unsigned id = ++q->next_id;
    json_t *msg = json_pack("{s:s,s:I}", "execute", cmd, "id", (json_int_t)id);
    if (args)
        json_object_set_new(msg, "arguments", args);
    int r = send_msg(q, msg);
    json_decref(msg);
    *idp = id;
    return r;
}

int qmp_wait_reply(struct qmp *q, const char *cmd, unsigned id, json_t **ret, double timeout_s)
{
    if (ret)
        *ret = NULL;
    double deadline = now_sec() + timeout_s;
    for (;;) {
        json_t *m = read_msg(q, deadline);
        if (!m)
            return ffwd_preerr("command %s", cmd);
        if (json_object_get(m, "event")) {
            json_array_append_new(q->events, m);
            continue;
        }
        json_t *mid = json_object_get(m, "id");
        if (!json_is_integer(mid) || json_integer_value(mid) != (json_int_t)id) {
            json_decref(m); /* a reply to something we gave up waiting for */
            continue;
        }
        json_t *err = json_object_get(m, "error");
        if (err) {
            ffwd_seterr("QMP %s: %s", cmd, json_string_value(json_object_get(err, "desc")) ?: "error");
            json_decref(m);
            return -1;
        }
        json_t *rv = json_object_get(m, "return");
        if (!rv) {
            json_decref(m);
            return qmp_fail(q, "reply without 'return' or 'error' to %s", cmd);
        }
        if (ret)
            *ret = json_incref(rv);
        json_decref(m);
        return 0;
    }
}

int qmp_cmd(struct qmp *q, const char *cmd, json_t *args, json_t **ret, double timeout_s)
{
    unsigned id;
    if (ret)
        *ret = NULL;
    if (qmp_send(q, cmd, args, &id) < 0)
        return -1;
    return qmp_wait_reply(q, cmd, id, ret, timeout_s);
}

json_t *qmp_next_event(struct qmp *q, double timeout_s)
{
    if (json_array_size(q->events)) {
        json_t *e = json_incref(json_array_get(q->events, 0));
        json_array_remove(q->events, 0);
        return e;
    }
    double deadline = now_sec() + timeout_s;
    for (;;) {
        json_t *m = read_msg(q, deadline);
        if (!m)
            return NULL;
        if (json_object_get(m, "event"))
            return m;
        json_decref(m);
    }
}

json_t *qmp_wait_event(struct qmp *q, const char *name, double timeout_s)
{
    for (size_t i = 0; i < json_array_size(q->events); i++) {
        json_t *e = json_array_get(q->events, i);
        if (!strcmp(json_string_value(json_object_get(e, "event")) ?: "", name)) {
            json_incref(e);
            json_array_remove(q->events, i);
            return e;
        }
    }
    double deadline = now_sec() + timeout_s;
    for (;;) {
        json_t *m = read_msg(q, deadline);
        if (!m) {
            ffwd_preerr("waiting for QMP event %s", name);
            return NULL;
        }
        const char *ev = json_string_value(json_object_get(m, "event"));
        if (ev && !strcmp(ev, name))
            return m;
        if (ev)
            json_array_append_new(q->events, m);
        else
            json_decref(m);
    }
}

void qmp_version(const struct qmp *q, int *major, int *minor, int *micro)
{
    if (major)
        *major = q->vmaj;
    if (minor)
        *minor = q->vmin;
    if (micro)
        *micro = q->vmic;
}

int hmp_xp_parse(const char *text, unsigned n, uint32_t *out)
{
    char *t = xstrdup(text ? text : "");
    unsigned got = 0;
    for (char *sv = NULL, *l = strtok_r(t, "\r\n", &sv); l && got < n; l = strtok_r(NULL, "\r\n", &sv)) {
        char *e = strchr(l, ':');
        if (!e)
            break;
        for (e++; got < n;) { /* the words after "ADDR:" on this line only */
            char *e2;
            unsigned long v = strtoul(e, &e2, 16);
            if (e2 == e)
                break;
            out[got++] = (uint32_t)v;
            e = e2;
        }
    }
    free(t);
    return got == n ? 0 : -1;
}
