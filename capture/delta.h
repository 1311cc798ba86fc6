/*
 * delta.h -- the capture's disk delta file (docs/capture-format.md), in one place:
 *
 *   "FFWDDLT1", u32 sector size (512), u32 reserved, u64 disk size,
 *   u64 count, then count x (u64 sector, 512 bytes), ascending sectors.
 */
#ifndef FFWD_DELTA_H
#define FFWD_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"

#define DELTA_MAGIC "FFWDDLT1"
#define DELTA_HEADER 32
#define DELTA_SECTOR 512
#define DELTA_ENTRY (8 + DELTA_SECTOR)

/* Append the header for `count` entries to b (entries follow). */
void delta_header(struct sbuf *b, uint64_t disk_size, uint64_t count);
/* Check a delta image; *count and *entries (the first entry) on success. */
int delta_parse(const void *buf, size_t len, const char *what, uint64_t *count, const uint8_t **entries);

#endif
