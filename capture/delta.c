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
    *count = n;
    *entries = d + DELTA_HEADER;
    return 0;
}
