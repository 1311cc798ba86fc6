/*
 * qcow2vm.h -- read the VM state (a QEMU migration stream) that `savevm`
 * stored in a qcow2 internal snapshot.
 *
 * QEMU 10 aborts a `migrate` under record/replay, but takes `savevm`
 * snapshots there (docs/record-replay.md): their VM state is the same
 * stream ffwd's capture reads (capture/migstream.h).
 */
#ifndef FFWD_QCOW2VM_H
#define FFWD_QCOW2VM_H

#include <stdint.h>

/* Write the VM state of snapshot NAME of qcow2 IMAGE to the file OUT
 * (*size: its bytes). Errors name the image and what was wrong; OUT is
 * removed after a failure. IMAGE may be in use by QEMU (it is only read). */
int qcow2_snapshot_vmstate(const char *image, const char *name, const char *out, uint64_t *size);

#endif
