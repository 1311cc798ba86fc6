/*
 * cow.h -- gem5's CowDiskImage file (src/dev/storage/disk_image.cc,
 * CowDiskImage::save/open): "COWDISK!", u32 major = 1, u32 minor = 0,
 * u64 count, then count x (u64 sector, 512 bytes); little-endian, packed.
 */
#ifndef FFWD_COW_H
#define FFWD_COW_H

#include <stddef.h>
#include <stdint.h>

struct cow_entry {
    uint64_t sector;
    const uint8_t *data; /* 512 bytes inside the buffer given to cow_parse */
};

/* Validate and index a COW file image; entries point into buf. Errors name
 * `what` and the field (magic, version, count, a duplicate sector, size). */
int cow_parse(const uint8_t *buf, size_t len, const char *what, struct cow_entry **entries, uint64_t *count);

#endif
