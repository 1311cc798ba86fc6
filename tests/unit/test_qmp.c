/* Unit tests: qemu/qmp.c against recorded QEMU 10 bytes over a socketpair,
 * and against the real QEMU (no guest: -machine none). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "qemu/qmp.h"
#include "qemu/vm.h"
#include "tests/test.h"

#define GREETING                                                                                                   \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian "       \
    "1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"capabilities\": [\"oob\"]}}\r\n"

struct peer {
    int fd;
    const char *script; /* bytes to send after reading each request, separated by '|' */
    int close_early;
};

/* A fake QEMU: sends the greeting, then for each request line it reads, the
 * next scripted reply (ids are taken from the request). */
static void *peer_main(void *arg)
{
    struct peer *p = arg;
    if (write(p->fd, GREETING, strlen(GREETING)) < 0)
        return NULL;
    char *script = xstrdup(p->script);
    char *save = NULL;
    for (char *r = strtok_r(script, "|", &save); r; r = strtok_r(NULL, "|", &save)) {
        char buf[4096];
        ssize_t n = read(p->fd, buf, sizeof buf - 1);
        if (n <= 0)
            break;
        buf[n] = 0;
        char *id = strstr(buf, "\"id\":");
        int idv = id ? atoi(id + 5) : 0;
        char *reply = xstrdup(r);
        char *at = strstr(reply, "ID");
        char out[4096];
        if (at) {
            *at = 0;
            snprintf(out, sizeof out, "%s%d%s", reply, idv, at + 2);
        } else
            snprintf(out, sizeof out, "%s", reply);
        free(reply);
        if (write(p->fd, out, strlen(out)) < 0)
            break;
    }
    free(script);
    if (p->close_early)
        shutdown(p->fd, SHUT_RDWR);
    return NULL;
}

static struct qmp *start(struct peer *p, pthread_t *th, int *fds)
{
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    p->fd = fds[1];
    pthread_create(th, NULL, peer_main, p);
    return qmp_from_fd(fds[0], "test", 2);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* 0. HMP xp replies: each line's words after its address, never the
     * next line's address (it parses as a number too) */
    {
        uint32_t w[6] = {0};
        CHECK(hmp_xp_parse("000000000a003e00: 0x74726976 0x00000001 0x00000002 0x554d4551\r\n"
                           "000000000a003e10: 0x00000000 0x00000007\r\n",
                           6, w) == 0);
        CHECK(w[0] == 0x74726976 && w[3] == 0x554d4551 && w[4] == 0 && w[5] == 7);
        CHECK(hmp_xp_parse("000000000a003e00: 0x1 0x2\r\n", 3, w) < 0); /* too few */
        CHECK(hmp_xp_parse("Cannot access memory\r\n", 1, w) < 0);
        CHECK(hmp_xp_parse(NULL, 1, w) < 0);
    }
    /* 1. normal command, with an event arriving before the reply */
    {
        struct peer p = {.script = "{\"return\": {}, \"id\": ID}\r\n|"
                                   "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n"
                                   "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": ID}\r\n"};
        pthread_t th;
        int fds[2];
        struct qmp *q = start(&p, &th, fds);
        CHECK(q != NULL);
        int maj = 0, min = -1, mic = 0;
        qmp_version(q, &maj, &min, &mic);
        CHECK(maj == 10 && min == 0 && mic == 2);
        json_t *r = NULL;
        CHECK(qmp_cmd(q, "query-status", NULL, &r, 2) == 0);
        CHECK(r && !strcmp(json_string_value(json_object_get(r, "status")), "paused"));
        json_decref(r);
        json_t *ev = qmp_wait_event(q, "STOP", 1);
        CHECK(ev != NULL);
        json_decref(ev);
        qmp_close(q);
        pthread_join(th, NULL);
        close(fds[1]);
    }
    /* 2. error reply becomes a clear message */
    {
        struct peer p = {.script = "{\"return\": {}, \"id\": ID}\r\n|{\"id\": ID, \"error\": {\"class\": "
                                   "\"GenericError\", \"desc\": \"Invalid virtqueue number 1\"}}\r\n"};
        pthread_t th;
        int fds[2];
        struct qmp *q = start(&p, &th, fds);
        CHECK(qmp_cmd(q, "x-query-virtio-queue-status", NULL, NULL, 2) < 0);
        CHECK_STR_HAS(ffwd_errmsg(), "Invalid virtqueue number 1");
        CHECK_STR_HAS(ffwd_errmsg(), "x-query-virtio-queue-status");
        qmp_close(q);
        pthread_join(th, NULL);
        close(fds[1]);
    }
    /* 3. malformed JSON */
    {
        struct peer p = {.script = "{\"return\": {}, \"id\": ID}\r\n|{\"return\": {broken\r\n"};
        pthread_t th;
        int fds[2];
        struct qmp *q = start(&p, &th, fds);
        CHECK(qmp_cmd(q, "query-status", NULL, NULL, 2) < 0);
        CHECK_STR_HAS(ffwd_errmsg(), "malformed");
        CHECK(qmp_cmd(q, "query-status", NULL, NULL, 1) < 0); /* the client is dead now */
        CHECK_STR_HAS(ffwd_errmsg(), "closed");
        qmp_close(q);
        pthread_join(th, NULL);
        close(fds[1]);
    }
    /* 4. disconnect in the middle of a message */
    {
        struct peer p = {.script = "{\"return\": {}, \"id\": ID}\r\n|{\"return\": {\"sta", .close_early = 1};
        pthread_t th;
        int fds[2];
        struct qmp *q = start(&p, &th, fds);
        CHECK(qmp_cmd(q, "query-status", NULL, NULL, 2) < 0);
        CHECK_STR_HAS(ffwd_errmsg(), "closed the connection");
        qmp_close(q);
        pthread_join(th, NULL);
        close(fds[1]);
    }
    /* 5. silence: timeout */
    {
        struct peer p = {.script = "{\"return\": {}, \"id\": ID}\r\n|"};
        pthread_t th;
        int fds[2];
        struct qmp *q = start(&p, &th, fds);
        double t0 = now_sec();
        CHECK(qmp_cmd(q, "query-status", NULL, NULL, 0.3) < 0);
        CHECK(now_sec() - t0 < 2);
        CHECK_STR_HAS(ffwd_errmsg(), "timed out");
        qmp_close(q);
        pthread_join(th, NULL);
        close(fds[1]);
    }
    /* 5b. an event before the greeting (QEMU 10 sends RESUME first when a
     * client connects while it starts): queued, not taken for the greeting */
    {
        int fds[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
        const char *ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n";
        CHECK(write(fds[1], ev, strlen(ev)) == (ssize_t)strlen(ev));
        CHECK(write(fds[1], GREETING, strlen(GREETING)) == (ssize_t)strlen(GREETING));
        const char *cap = "{\"return\": {}, \"id\": 1}\r\n"; /* qmp_capabilities' reply: the first id */
        CHECK(write(fds[1], cap, strlen(cap)) == (ssize_t)strlen(cap));
        struct qmp *q = qmp_from_fd(fds[0], "test", 2);
        CHECK_MSG(q != NULL, "%s", ffwd_errmsg());
        json_t *e = q ? qmp_next_event(q, 0.1) : NULL;
        CHECK(e && !strcmp(json_string_value(json_object_get(e, "event")) ? json_string_value(json_object_get(e, "event")) : "", "RESUME"));
        json_decref(e);
        qmp_close(q);
        close(fds[1]);
    }
    /* 6. not QMP at all */
    {
        int fds[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
        CHECK(write(fds[1], "SSH-2.0-OpenSSH\r\n", 17) == 17);
        CHECK(qmp_from_fd(fds[0], "test", 1) == NULL);
        CHECK_STR_HAS(ffwd_errmsg(), "QMP");
        close(fds[1]);
    }
    /* 7. the real QEMU */
    {
        char *dir = make_temp_dir("/tmp", "ffwd-test-qmp-");
        char *sock = xasprintf("%s/q.sock", dir), *chr = xasprintf("socket,id=m,path=%s,server=on,wait=off", sock);
        pid_t pid = fork();
        if (pid == 0) {
            execlp(ffwd_qemu_binary(NULL), ffwd_qemu_binary(NULL), "-machine", "none", "-nodefaults", "-display",
                   "none", "-chardev", chr, "-mon", "chardev=m,mode=control", (char *)NULL);
            _exit(127);
        }
        struct qmp *q = qmp_connect(sock, 20);
        CHECK_MSG(q != NULL, "%s", ffwd_errmsg());
        if (!q)
            kill(pid, SIGTERM); /* nobody will tell it to quit */
        if (q) {
            int maj = 0;
            qmp_version(q, &maj, NULL, NULL);
            CHECK(maj >= 10);
            json_t *r = NULL;
            CHECK(qmp_cmd(q, "query-status", NULL, &r, 5) == 0);
            CHECK(r && json_is_string(json_object_get(r, "status")));
            json_decref(r);
            CHECK(qmp_cmd(q, "no-such-command", NULL, NULL, 5) < 0);
            CHECK_STR_HAS(ffwd_errmsg(), "no-such-command");
            CHECK(qmp_cmd(q, "quit", NULL, NULL, 5) == 0);
            qmp_close(q);
        }
        int st;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        rm_rf(dir);
        free(sock);
        free(chr);
        free(dir);
    }
    return test_done();
}
