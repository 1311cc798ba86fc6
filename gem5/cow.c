/* cow.c -- see cow.h. */
#include "cow.h"

#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

static int cmp_sector(const void *a, const void *b)
{
    uint64_t x = ((const struct cow_entry *)a)->sector, y = ((const struct cow_entry *)b)->sector;
    return x < y ? -1 : x > y;
}

int cow_parse(const uint8_t *buf, size_t len, const char *what, struct cow_entry **out, uint64_t *count)
{
    *out = NULL;
    *count = 0;
    if (len < 24 || memcmp(buf, "COWDISK!", 8))
        return ffwd_seterr("%s: not a gem5 COW disk file (magic 'COWDISK!' missing)", what);
    uint32_t maj, min;
    uint64_t n;
    memcpy(&maj, buf + 8, 4);
    memcpy(&min, buf + 12, 4);
    memcpy(&n, buf + 16, 8);
    if (maj != 1 || min != 0)
        return ffwd_seterr("%s: version %u.%u, gem5 v24 reads 1.0", what, maj, min);
    if (n > (len - 24) / 520 || 24 + n * 520 != len)
        return ffwd_seterr("%s: field count says %llu entries, the file holds %zu bytes of entries", what,
                           (unsigned long long)n, len - 24);
    struct cow_entry *e = xcalloc(n ? n : 1, sizeof *e);
    for (uint64_t i = 0; i < n; i++) {
        memcpy(&e[i].sector, buf + 24 + i * 520, 8);
        e[i].data = buf + 24 + i * 520 + 8;
    }
    qsort(e, n, sizeof *e, cmp_sector);
    for (uint64_t i = 1; i < n; i++)
        if (e[i].sector == e[i - 1].sector) {
            uint64_t s = e[i].sector;
            free(e);
            return ffwd_seterr("%s: sector %llu appears twice (gem5 asserts on that)", what, (unsigned long long)s);
        }
    *out = e;
    *count = n;
    return 0;
}
