/* delta.c -- see delta.h. */
#include "delta.h"

#include <string.h>

void delta_header(struct sbuf *b, uint64_t disk_size, uint64_t count)
{
    uint32_t ss = DELTA_SECTOR, res = 0;
    sbuf_add(b, DELTA_MAGIC, 8);
    sbuf_add(b, &ss, 4);
    sbuf_add(b, &res, 4);
    sbuf_add(b, &disk_size, 8);
    sbuf_add(b, &count, 8);
}

int delta_parse(const void *buf, size_t len, const char *what, uint64_t *count, const uint8_t **entries)
{
    const uint8_t *d = buf;
    if (len < DELTA_HEADER || memcmp(d, DELTA_MAGIC, 8))
        return ffwd_seterr("%s is not an ffwd disk delta", what);
    uint64_t n;
    memcpy(&n, d + 24, 8);
    if (n > (len - DELTA_HEADER) / DELTA_ENTRY || DELTA_HEADER + n * DELTA_ENTRY != len)
        return ffwd_seterr("%s: entry count %llu does not match its size", what, (unsigned long long)n);
    uint32_t ss;
    uint64_t disk;
    memcpy(&ss, d + 8, 4);
    memcpy(&disk, d + 16, 8);
    if (ss != DELTA_SECTOR)
        return ffwd_seterr("%s: sector size %u (this ffwd writes and reads %d)", what, ss, DELTA_SECTOR);
    /* gem5's COW image asserts on a repeated sector, and a sector past the
     * disk's end is not the disk's: the writer's order is strictly ascending */
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t sec;
        memcpy(&sec, d + DELTA_HEADER + i * DELTA_ENTRY, 8);
        if (i && sec <= prev)
            return ffwd_seterr("%s: entry %llu (sector %llu) is not after sector %llu: repeated or out of order",
                               what, (unsigned long long)i, (unsigned long long)sec, (unsigned long long)prev);
        if (sec >= disk / DELTA_SECTOR)
            return ffwd_seterr("%s: entry %llu: sector %llu is past the end of the %llu-byte disk", what,
                               (unsigned long long)i, (unsigned long long)sec, (unsigned long long)disk);
        prev = sec;
    }
    *count = n;
    *entries = d + DELTA_HEADER;
    return 0;
}
