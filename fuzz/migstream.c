/* fuzz_migstream.c -- QEMU's migration stream (vmstate.bin) reader. */
#include "fuzz.h"
#include "capture/migstream.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    uint8_t *b = xmalloc(n + 1);
    memcpy(b, data, n);
    struct mig_stream m;
    if (mig_parse(b, n, "fuzz", &m) == 0) /* takes b, on failure too */
        mig_free(&m);
    return 0;
}
