/*
 * guest_image.h -- the built-in demo guest, assembled from Debian arm64
 * packages plus ffwd's own cross-compiled programs.
 *
 * Output (a cache folder, keyed by a hash of every input; rebuilt when an
 * input changes, reused otherwise):
 *   Image            the Debian arm64 kernel (uncompressed arm64 Image)
 *   initramfs.cpio.gz  ffwd-guest as /init + the modules the profile needs
 *   demo.img         ext4 (made with mke2fs -d, no root, no loop mount):
 *                    static busybox, ffwd-guest, the three ffwd workloads,
 *                    Debian's xz with its shared libraries, /data/input.txt
 *   rootfs.img       ext4: a small Debian rootfs (libc6, Debian's dynamic
 *                    busybox as its own /sbin/init, xz), for "bring your own
 *                    guest" tests
 *   guest.json       what went in (package versions, hashes, sizes)
 */
#ifndef FFWD_GUEST_IMAGE_H
#define FFWD_GUEST_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

struct guest_image {
    char *dir;
    char *kernel, *initrd, *demo_disk, *rootfs_disk, *manifest;
};

struct guest_image_opts {
    const char *cache_dir;   /* NULL: $FFWD_CACHE or ~/.cache/ffwd */
    const char *guest_bin;   /* folder with the cross-compiled guest programs; NULL: next to ffwd */
    bool force;              /* rebuild even if cached */
    bool quiet;
};

int guest_image_get(const struct guest_image_opts *o, struct guest_image *out);
void guest_image_free(struct guest_image *g);

/* The Debian arm64 packages the images are made from. */
extern const char *const guest_image_packages[];
/* The base of every ffwd disk into ROOT: static busybox (from its .deb) with
 * its applets in /bin, ffwd's guest programs from BINDIR, an inittab that
 * mounts /tmp. Packages are extracted over it by the caller. */
int guest_image_base_root(const char *root, const char *bindir, const char *busybox_static_deb,
                          const char *hostname);
/* Deterministic demo input (also used by tests on the host). */
void guest_image_input(unsigned char *buf, size_t len);
#define GUEST_INPUT_SIZE (4u << 20)

#endif
