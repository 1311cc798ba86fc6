/* run.c -- see run.h. */
#include "run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../guest/protocol.h"

static void prog(const struct ffwd_run_opts *o, const char *fmt, ...) FFWD_PRINTF(2, 3);
static void prog(const struct ffwd_run_opts *o, const char *fmt, ...)
{
    if (!o->progress)
        return;
    char buf[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ffwd_progress("%s", buf);
}

int ffwd_run_guest(const struct ffwd_vm_config *cfg, const struct ffwd_run_opts *o, struct ffwd_run_result *res)
{
    memset(res, 0, sizeof *res);
    res->t_kernel = res->t_init = res->t_root = res->t_cmd_start = res->t_cmd_exit = res->t_exit = -1;
    res->cmd_status = -1;
    double timeout = o->timeout_s > 0 ? o->timeout_s : 600;
    prog(o, "booting: QEMU %s", cfg->prof.accel);
    struct ffwd_vm *vm;
    if (ffwd_vm_start(cfg, &vm) < 0)
        return -1;
    snprintf(res->run_dir, sizeof res->run_dir, "%s", vm->run_dir);
    snprintf(res->console_log, sizeof res->console_log, "%s/console.log", vm->run_dir);
    prog(o, "run directory %s", vm->run_dir);
    double t0 = vm->t_start, deadline = t0 + timeout;
    int rc = 0;
    bool saw_expected = o->expect_marker == NULL;
    char errtext[1024] = "";
    for (;;) {
        struct ffwd_vm_event ev;
        double left = deadline - now_sec();
        if (ffwd_vm_next_event(vm, left > 0 ? left : 0, &ev) < 0) {
            rc = -1;
            break;
        }
        double t = now_sec() - t0;
        if (ev.kind == VM_EV_TIMEOUT) {
            if (o->expect_marker && !saw_expected)
                rc = ffwd_seterr("the guest did not reach marker '%s' within %.0f s (console: %s)", o->expect_marker,
                                 timeout, res->console_log);
            else
                rc = ffwd_seterr("the guest did not finish within %.0f s (console: %s)", timeout, res->console_log);
            break;
        }
        if (ev.kind == VM_EV_EXIT) {
            res->t_exit = t;
            res->qemu_status = ev.exit_status;
            prog(o, "QEMU exited%s", ev.exit_status ? " with an error" : "");
            break;
        }
        if (ev.kind == VM_EV_KERNEL) {
            res->t_kernel = t;
            prog(o, "kernel up");
            continue;
        }
        if (ev.kind == VM_EV_PANIC) {
            snprintf(errtext, sizeof errtext, "the guest kernel panicked: %s", ev.text);
            continue; /* -no-reboot + panic=-1: QEMU exits next */
        }
        if (!strcmp(ev.name, FFWD_PROTO_INIT)) {
            res->t_init = t;
            prog(o, "init started");
        } else if (!strcmp(ev.name, FFWD_PROTO_ROOT)) {
            res->t_root = t;
            prog(o, "root disk %s mounted", ev.text);
        } else if (!strcmp(ev.name, FFWD_PROTO_CMD_START)) {
            res->t_cmd_start = t;
            prog(o, "workload started");
        } else if (!strcmp(ev.name, FFWD_PROTO_MARKER)) {
            if (res->nmarkers < FFWD_MAX_MARKERS) {
                snprintf(res->markers[res->nmarkers], sizeof res->markers[0], "%s", ev.text);
                res->marker_t[res->nmarkers++] = t;
            }
            if (o->expect_marker && !strcmp(ev.text, o->expect_marker))
                saw_expected = true;
            prog(o, "marker seen: %s", ev.text);
        } else if (!strcmp(ev.name, FFWD_PROTO_CMD_EXIT)) {
            res->t_cmd_exit = t;
            res->cmd_status = atoi(ev.text);
            prog(o, "done: command exit status %s", ev.text);
        } else if (!strcmp(ev.name, FFWD_PROTO_ERROR)) {
            snprintf(errtext, sizeof errtext, "guest init: %s", ev.text);
            prog(o, "guest error: %s", ev.text);
        } else if (!strcmp(ev.name, FFWD_PROTO_POWEROFF)) {
            prog(o, "guest powering off");
        }
    }
    if (rc == 0 && res->t_exit < 0)
        rc = -1;
    if (rc == 0 && errtext[0])
        rc = ffwd_seterr("%s (console: %s)", errtext, res->console_log);
    if (rc == 0 && res->qemu_status != 0)
        rc = ffwd_seterr("QEMU exited with status %d (see %s/qemu.log)", res->qemu_status, res->run_dir);
    if (rc == 0 && !saw_expected)
        rc = ffwd_seterr("the guest powered off without reaching marker '%s' (console: %s)", o->expect_marker,
                         res->console_log);
    ffwd_vm_kill(vm);
    ffwd_vm_free(vm);
    return rc;
}
