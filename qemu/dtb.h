/*
 * dtb.h -- trimming QEMU's generated device tree (libfdt).
 *
 * QEMU's virt DTB describes devices gem5 will not model (PCIe host, fw-cfg,
 * CFI flash, PL061 GPIO + gpio-keys, the platform bus) and 32 virtio-mmio
 * transports. The guest must never bind drivers for hardware that will be
 * missing after a restore, so those nodes are removed, and only the
 * virtio-mmio transports that carry a device are kept.
 */
#ifndef FFWD_DTB_H
#define FFWD_DTB_H

#include <stddef.h>
#include <stdint.h>

struct dtb_trim_report {
    unsigned removed;       /* nodes deleted */
    unsigned virtio_kept;   /* virtio-mmio nodes left */
};

/* Trim `in` (a DTB blob) into a new malloc'ed blob. keep_mmio lists the
 * base addresses of the virtio-mmio transports to keep. */
int dtb_trim(const void *in, size_t inlen, const uint64_t *keep_mmio, unsigned nkeep, void **out, size_t *outlen,
             struct dtb_trim_report *rep);
/* Set /chosen/rng-seed of a blob made by dtb_trim (grown in place as
 * needed). The guest kernel feeds it to its random-number generator at
 * boot and, with CONFIG_RANDOM_TRUST_BOOTLOADER (Debian's arm64 kernels),
 * credits it: the generator is ready before init runs, whatever the host's
 * timing. `seed` is the run's seed, expanded to `len` bytes. */
int dtb_set_rng_seed(void **fdt, size_t *fdtlen, uint64_t seed, size_t len);
/* The compatible strings whose nodes dtb_trim removes (NULL-terminated). */
extern const char *const dtb_removed_compatibles[];

#endif
