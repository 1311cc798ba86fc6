/*
 * qmp.h -- QEMU Machine Protocol client (JSON over a unix socket).
 *
 * The one place ffwd speaks QMP. Messages are JSON objects, one per line
 * (QEMU ends them with "\r\n"). After connecting, the greeting is read and
 * qmp_capabilities negotiated. Asynchronous events arriving while a
 * command waits for its reply are queued and can be taken with
 * qmp_next_event(). Every wait has a timeout; a peer that closes, sends
 * malformed JSON or goes silent gives a clear error and a dead client.
 */
#ifndef FFWD_QMP_H
#define FFWD_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct qmp;

/* Connect to the socket at path and negotiate capabilities. */
struct qmp *qmp_connect(const char *path, double timeout_s);
/* Use an already connected fd (tests feed recorded bytes this way). */
struct qmp *qmp_from_fd(int fd, const char *peer_name, double timeout_s);
void qmp_close(struct qmp *q);

/* Run a command. args may be NULL (a reference is stolen otherwise).
 * On success *ret gets the "return" value (new reference; may be NULL if ret is NULL).
 * A QMP error reply becomes an ffwd error "QMP <cmd>: <class>: <desc>". */
int qmp_cmd(struct qmp *q, const char *cmd, json_t *args, json_t **ret, double timeout_s);
/* The two halves of qmp_cmd, for a command whose reply may only come after
 * something else happened (e.g. `stop` while a vCPU is held by a plugin). */
int qmp_send(struct qmp *q, const char *cmd, json_t *args, unsigned *id);
int qmp_wait_reply(struct qmp *q, const char *cmd, unsigned id, json_t **ret, double timeout_s);
/* Next queued or arriving event (new reference), waiting up to timeout_s;
 * returns NULL with an error on timeout / disconnect. */
json_t *qmp_next_event(struct qmp *q, double timeout_s);
/* Wait for an event with this name (others are kept queued). */
json_t *qmp_wait_event(struct qmp *q, const char *name, double timeout_s);
/* QEMU version from the greeting, e.g. 10, 0, 2. */
void qmp_version(const struct qmp *q, int *major, int *minor, int *micro);

/* The words of an HMP `xp /Nwx ADDR` reply (through human-monitor-command):
 * lines "ADDR: 0xW 0xW 0xW 0xW". 0 when exactly n words were read into out. */
int hmp_xp_parse(const char *text, unsigned n, uint32_t *out);

#endif
