/*
 * ram.h -- the guest RAM of a capture (capture.c's helpers): copied from
 * the shared RAM file while the VM stays stopped, or saved by QEMU's
 * background snapshot while the guest runs on; and waiting for a QMP
 * migration (the device state of every capture is one).
 */
#ifndef FFWD_CAPTURE_RAM_H
#define FFWD_CAPTURE_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "../qemu/qmp.h"
#include "migstream.h"

#define PAGE 4096u

/* Write the RAM image to path from `map` (the caller's mapping of the shared
 * RAM file; the file itself is opened only to find its holes): non-zero
 * pages written, zero pages holes; *crc of the whole image. */
int cap_ram_copy(const char *ram_path, const uint8_t *map, uint64_t size, const char *path, uint64_t *nonzero,
                 uint32_t *crc);
/* Have QEMU map all of guest RAM while the guest runs (before a background
 * snapshot); false where that is not safe or failed (said why). */
bool cap_ram_premap(struct qmp *q, const char *ram_path, double timeout);
/* The device state (*ms) and RAM (DIR/name) by QEMU's background snapshot,
 * the VM stopped on entry and resumed (*resumed, *t_resumed) as soon as RAM
 * pages flow -- or, `early`, as soon as the snapshot has started: QEMU then
 * prepares while the guest runs and stops it again itself for its device
 * state (that stop's length in *qemu_stop); the state is QEMU's moment,
 * not the caller's, and the caller must prove nothing it took at its own
 * stop changed in between. */
int cap_state_background(struct qmp *q, double timeout, const char *dir, const char *name, uint64_t size,
                         bool early, struct mig_stream *ms, uint64_t *nonzero, uint32_t *crc, double *t_resumed,
                         bool *resumed, double *qemu_stop);
/* QEMU's migration capabilities for cap_state_background, set ahead (with
 * the guest running: one round trip less in the stop). */
int cap_background_setup(struct qmp *q, double timeout);
/* Wait until QEMU's migration has completed (or failed: the reason). */
int cap_wait_migration(struct qmp *q, double timeout);

#endif
