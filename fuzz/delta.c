/* fuzz_delta.c -- the capture's disk delta and gem5's COW image readers. */
#include "fuzz.h"
#include "capture/delta.h"
#include "gem5/cow.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    uint64_t cnt;
    const uint8_t *e;
    delta_parse(data, n, "fuzz", &cnt, &e);
    struct cow_entry *ce = NULL;
    if (cow_parse(data, n, "fuzz", &ce, &cnt) == 0)
        free(ce);
    return 0;
}
