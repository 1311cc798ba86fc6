/*
 * migstream.h -- reader for QEMU's migration stream ("savevm" format v3),
 * driven by the vmdesc JSON QEMU appends to it.
 *
 * The one place ffwd decodes QEMU's device state. The stream is
 *   "QEVM" be32(3) [CONFIGURATION] { section }* EOF(0x1f) VMDESC(0x06) be32 len JSON
 * with sections START/FULL (be32 id, u8+idstr, be32 instance, be32 version,
 * data, footer 0x7e be32 id) and PART/END (be32 id, data, footer). Device
 * data is laid out exactly as the vmdesc entry of that device describes:
 * fields (size x array_len bytes, big-endian), nested structs, then
 * subsections (0x05, u8+name, be32 version, fields). RAM ("ram" sections)
 * is decoded record by record and skipped: ffwd takes RAM from the shared
 * memory backend and runs QEMU with x-ignore-shared, so only small
 * non-shared blocks (flash) appear here -- except in a background snapshot
 * (mig_parse_file_ram), whose guest RAM pages are written out.
 *
 * Every field of every device is kept as raw bytes addressable by
 * device name + instance + field path ("cpu/vfp.env.vfp.xregs" is not used;
 * subsection fields are found by their own names).
 */
#ifndef FFWD_MIGSTREAM_H
#define FFWD_MIGSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mig_field {
    char *name;          /* as in vmdesc, e.g. "env.xregs" */
    char *section;       /* vmsd name of the (sub)section or struct holding it */
    const uint8_t *data; /* big-endian bytes inside the stream buffer */
    size_t elem_size, count;
};

struct mig_device {
    char *name;          /* section idstr, e.g. "cpu", "arm_gicv3", "virtio-mmio@000000000a003e00/virtio-blk" */
    uint32_t instance, version;
    struct mig_field *fields;
    size_t nfields;
};

struct mig_stream {
    uint8_t *buf;
    size_t len;
    bool mapped;         /* buf is a file mapping (mig_parse_file_ram), not malloc'd */
    char *machine;       /* from the configuration section, e.g. "virt-10.0" */
    unsigned target_page_bits;
    struct mig_device *devs;
    size_t ndevs;
};

/* Parse a stream held in memory (takes ownership of buf on success and failure). */
int mig_parse(uint8_t *buf, size_t len, const char *what, struct mig_stream *out);
int mig_parse_file(const char *path, struct mig_stream *out);
void mig_free(struct mig_stream *m);
/* Parse a stream file that carries RAM (a background snapshot), writing the
 * pages of RAM block `block` (its idstr, e.g. "ffwd-ram") into fd out at
 * their offsets in the block (size bytes); zero pages stay holes. The file
 * is mapped, not read into memory: memory use does not grow with the guest's
 * RAM. *pages: the non-zero pages written. */
int mig_parse_file_ram(const char *path, const char *block, int out, uint64_t size, uint64_t *pages,
                       struct mig_stream *ms);

const struct mig_device *mig_device(const struct mig_stream *m, const char *name, uint32_t instance);
/* The n-th field called `name` in the device (n counts repeats, e.g. the per-CPU
 * structs of the GIC), or NULL. */
const struct mig_field *mig_field(const struct mig_device *d, const char *name, size_t nth);
/* Element i of a field as an unsigned integer (big-endian, 1/2/4/8 bytes). */
uint64_t mig_u64(const struct mig_field *f, size_t i);
/* Number of devices with this name (e.g. vCPUs). */
size_t mig_count(const struct mig_stream *m, const char *name);

#endif
