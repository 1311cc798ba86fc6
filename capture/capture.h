/*
 * capture.h -- freeze a running ffwd-launched QEMU and save its complete,
 * consistent machine state in ffwd's neutral capture format
 * (docs/capture-format.md).
 *
 * Sources (and why):
 *   CPU, GIC, timer, PL011, PL031  QEMU's own migration stream (QMP migrate to a
 *                                  file, x-ignore-shared so RAM is not copied):
 *                                  the only source with ICC_*, banked SP/ELR/SPSR,
 *                                  all system registers, GIC redistributors and
 *                                  the frozen virtual clock, all from one instant.
 *   RAM                            the shared RAM backend file, read directly while
 *                                  the VM is stopped; zero pages become holes. Or
 *                                  (background): QEMU's background snapshot
 *                                  (userfaultfd write protection) streams RAM as
 *                                  of the stop while the guest runs on.
 *   virtio-mmio transport + queue  QMP x-query-virtio-queue-status and HMP xp of
 *                                  the transport registers, ring indices read
 *                                  from guest RAM.
 *   disk delta                     the qcow2 overlay's allocated clusters
 *                                  (qemu-img map), compared sector by sector with
 *                                  the base image.
 * The VM is stopped (QMP stop: vCPUs paused, block I/O drained and flushed)
 * for the whole capture and resumed afterwards when it was running, so one
 * run can produce many captures. Output goes to a temporary directory that
 * is renamed into place only when complete; an existing capture is never
 * overwritten.
 */
#ifndef FFWD_CAPTURE_H
#define FFWD_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "../qemu/qmp.h"

#define FFWD_CAPTURE_FORMAT "ffwd-capture"
#define FFWD_CAPTURE_VERSION 1

struct ffwd_capture_opts {
    const char *run_dir;      /* the run directory of the QEMU to capture */
    const char *out_dir;      /* where the capture directory is created */
    const char *name;         /* capture directory name; NULL: capture-<UTC time>-<n> */
    bool resume;              /* continue the guest afterwards (if it was running) */
    bool may_settle;          /* the moment is not exact (a marker, a checkpoint handshake): the guest may
                               * run a few ms more to leave a state a capture cannot take (a disk request
                               * in flight, an SGI being handled under GICv2) */
    struct qmp *qmp;          /* a connected QMP client; NULL: connect to qmp-ctl.sock */
    const char *trigger;      /* "on-demand", "marker", "checkpoint", "icount" */
    const char *trigger_detail;
    int64_t icount_total;     /* instructions retired at the stop; -1: unknown */
    const uint64_t *icount_vcpu;
    unsigned icount_nvcpu;
    double timeout_s;         /* for each QMP step; 0: 60 */
    bool background;          /* a guest that goes on afterwards: RAM by QEMU's background snapshot while it
                               * runs (stopped for the device state, the disk delta and QEMU's arming of the
                               * write protection); else stopped until RAM is copied */
    bool via_savevm;          /* the device state by `savevm` into the disk overlay, read back from the snapshot
                               * (QEMU aborts a migrate under record/replay); else by migrate */
    bool undo_irq_entry;      /* an exact stop: a vCPU at the entry of an interrupt from EL0 is captured as
                               * right before it (the interrupt stays pending; cpuN.json says so) */
};

struct ffwd_capture_result {
    char path[4096];
    double seconds;           /* how long the VM was stopped */
    bool background;          /* RAM was saved by QEMU's background snapshot while the guest ran */
    double total_seconds;     /* stop -> capture complete on disk */
    uint64_t ram_bytes, ram_nonzero_pages;
    uint64_t disk_sectors;
    unsigned settle_attempts; /* how often the guest ran 2 ms more before the state could be taken */
    unsigned irq_entries_undone; /* vCPUs captured right before an interrupt entry (undo_irq_entry) */
};

int ffwd_capture(const struct ffwd_capture_opts *o, struct ffwd_capture_result *res);

/* Check a capture directory: manifest version, every file present with the
 * recorded size and CRC-32. Returns the parsed manifest (new reference). */
struct json_t;
struct json_t *ffwd_capture_open(const char *dir);

/* Does a stopped machine (its migration stream) hold a state no gem5
 * checkpoint can carry faithfully? Then *why (n bytes) says which; the
 * capture lets the guest run on a little and looks again where it may.
 * Public for its unit test (a recorded stream that has one). */
struct mig_stream;
bool ffwd_capture_unsettled(const struct mig_stream *ms, int gic_version, unsigned ncpu, char *why, size_t n);
/* The block device's virtio transport and queue state, from QMP (the
 * queue's ring addresses as QEMU reports them) and guest RAM (ram, ram_size
 * bytes from the RAM base). *busy: a request is in flight. Used by the
 * capture; public for its tests and fuzz target (hostile QMP replies). */
struct json_t *ffwd_capture_virtio_state(struct qmp *q, const uint8_t *ram, uint64_t ram_size, bool *busy);

#endif
