/* fuzz_qmp.c -- what a QMP peer sends (one JSON per line: greeting, replies,
 * events), read by the QMP client and the capture's virtio state query. */
#include "fuzz.h"
#include "capture/capture.h"
#include <jansson.h>
#include <stdlib.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n > 60000) /* stays within the socket buffer: no writer thread needed */
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    int sz = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    if (fd_write_all(sv[1], data, n) < 0)
        abort();
    shutdown(sv[1], SHUT_WR);
    struct qmp *q = qmp_from_fd(sv[0], "fuzz", 1);
    if (q) {
        static uint8_t ram[1 << 16];
        bool busy;
        json_t *st = NULL;
        qmp_cmd(q, "query-status", NULL, &st, 1);
        json_decref(st);
        json_decref(ffwd_capture_virtio_state(q, ram, sizeof ram, &busy));
        qmp_close(q);
    } else
        close(sv[0]);
    close(sv[1]);
    return 0;
}
