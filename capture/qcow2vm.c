/*
 * qcow2vm.c -- the VM state of a qcow2 internal snapshot (see qcow2vm.h).
 *
 * Written by hand because no tool reads it: qemu-img copies a snapshot's
 * disk, never its VM state; qemu-io reads the VM state of the ACTIVE layer
 * only, and QEMU discards that layer's copy once `savevm` has made the
 * snapshot (qcow2_snapshot_create). The format is QEMU's
 * docs/interop/qcow2.txt: the header, the snapshot table, and the VM state
 * stored like disk content in the snapshot's own L1/L2 tables at the first
 * L1 entry past the virtual disk.
 */
#define _GNU_SOURCE
#include "qcow2vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/util.h"

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static int pread_all(int fd, void *buf, size_t n, uint64_t off, const char *image, const char *what)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return ffwd_seterr("%s: cannot read the %s at offset %llu (%s)", image, what,
                               (unsigned long long)(off + got), r < 0 ? strerror(errno) : "past the end");
        got += (size_t)r;
    }
    return 0;
}

#define L2E_OFFSET 0x00fffffffffffe00ULL /* bits 9-55 */
#define L2E_COMPRESSED (1ULL << 62)
#define L2E_ZERO 1ULL

int qcow2_snapshot_vmstate(const char *image, const char *name, const char *out, uint64_t *size)
{
    int fd = open(image, O_RDONLY | O_CLOEXEC), ofd = -1, rc = -1;
    uint8_t h[104], *table = NULL, *cluster = NULL;
    uint64_t *l1 = NULL, *l2 = NULL;
    if (fd < 0)
        return ffwd_seterr("%s: %s", image, strerror(errno));
    if (pread_all(fd, h, sizeof h, 0, image, "header") < 0)
        goto out;
    uint32_t version = be32(h + 4), cbits = be32(h + 20), nsnap = be32(h + 60);
    if (memcmp(h, "QFI\xfb", 4) || version < 2 || version > 3 || cbits < 9 || cbits > 21) {
        ffwd_seterr("%s: not a qcow2 image of version 2 or 3", image);
        goto out;
    }
    uint64_t disk_size = be64(h + 24), snap_off = be64(h + 64), incompat = version >= 3 ? be64(h + 72) : 0;
    if (incompat & (1u << 4)) { /* extended L2 entries: ffwd's overlays do not use them */
        ffwd_seterr("%s: extended L2 entries are not supported", image);
        goto out;
    }
    uint64_t csize = 1ULL << cbits, l2_entries = csize / 8;
    /* find the snapshot: entries of 40 bytes + extra data + id + name, padded to 8 */
    uint64_t off = snap_off, l1_off = 0, vm_size = 0;
    uint32_t l1_size = 0;
    bool found = false;
    for (uint32_t i = 0; i < nsnap && !found; i++) {
        uint8_t e[40];
        if (pread_all(fd, e, sizeof e, off, image, "snapshot table") < 0)
            goto out;
        uint32_t extra = be32(e + 36);
        uint16_t idlen = be16(e + 12), nlen = be16(e + 14);
        if (extra > 1024) {
            ffwd_seterr("%s: snapshot table entry %u: %u bytes of extra data", image, i, extra);
            goto out;
        }
        size_t tail = (size_t)extra + idlen + nlen;
        free(table);
        table = xmalloc(tail + 1);
        if (pread_all(fd, table, tail, off + 40, image, "snapshot table") < 0)
            goto out;
        if (nlen == strlen(name) && !memcmp(table + extra + idlen, name, nlen)) {
            found = true;
            l1_off = be64(e);
            l1_size = be32(e + 8);
            vm_size = extra >= 8 ? be64(table) : be32(e + 32);
            if (extra >= 16) /* the disk's size when the snapshot was taken */
                disk_size = be64(table + 8);
        }
        off += (40 + tail + 7) & ~7ULL;
    }
    if (!found) {
        ffwd_seterr("%s: no snapshot named '%s'", image, name);
        goto out;
    }
    if (!vm_size) {
        ffwd_seterr("%s: snapshot '%s' holds no VM state", image, name);
        goto out;
    }
    /* the VM state starts at the first L1 entry past the virtual disk */
    uint64_t per_l1 = csize * l2_entries, first = (disk_size + per_l1 - 1) / per_l1;
    uint64_t last = first + (vm_size + per_l1 - 1) / per_l1;
    if (last > l1_size || l1_size > (1u << 26)) {
        ffwd_seterr("%s: snapshot '%s': its VM state (%llu bytes) lies past its L1 table (%u entries)", image, name,
                    (unsigned long long)vm_size, l1_size);
        goto out;
    }
    l1 = xmalloc((size_t)l1_size * 8);
    l2 = xmalloc(csize);
    cluster = xmalloc(csize);
    if (pread_all(fd, l1, (size_t)l1_size * 8, l1_off, image, "snapshot's L1 table") < 0)
        goto out;
    ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ofd < 0) {
        ffwd_seterr("%s: %s", out, strerror(errno));
        goto out;
    }
    uint64_t l2_loaded = UINT64_MAX;
    for (uint64_t pos = 0; pos < vm_size; pos += csize) {
        uint64_t vo = first * per_l1 + pos, li = vo / per_l1, l2i = (vo / csize) % l2_entries;
        uint64_t l2_off = be64((const uint8_t *)&l1[li]) & L2E_OFFSET, ent = 0;
        if (l2_off) {
            if (l2_off != l2_loaded) {
                if (pread_all(fd, l2, csize, l2_off, image, "L2 table") < 0)
                    goto out;
                l2_loaded = l2_off;
            }
            ent = be64((const uint8_t *)&l2[l2i]);
        }
        size_t n = (size_t)(vm_size - pos < csize ? vm_size - pos : csize);
        if (ent & L2E_COMPRESSED) {
            ffwd_seterr("%s: snapshot '%s': its VM state is compressed (not written so by savevm)", image, name);
            goto out;
        }
        if ((ent & L2E_ZERO) || !(ent & L2E_OFFSET))
            memset(cluster, 0, n); /* reads as zeros (nothing behind the disk's end in a backing file) */
        else if (pread_all(fd, cluster, n, ent & L2E_OFFSET, image, "VM state") < 0)
            goto out;
        if (fd_write_all(ofd, cluster, n) < 0) {
            ffwd_seterr("%s: %s", out, strerror(errno));
            goto out;
        }
    }
    if (fsync(ofd) < 0) {
        ffwd_seterr("%s: %s", out, strerror(errno));
        goto out;
    }
    *size = vm_size;
    rc = 0;
out:
    if (ofd >= 0 && close(ofd) < 0 && rc == 0)
        rc = ffwd_seterr("%s: %s", out, strerror(errno));
    if (rc < 0 && ofd >= 0)
        unlink(out); /* nothing half-written left behind */
    close(fd);
    free(table), free(l1), free(l2), free(cluster);
    return rc;
}
