/* fuzz_bbv.c -- SimPoint basic-block vectors (.bb, plain or gzip). */
#include "fuzz.h"
#include "sample/simpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char p[64];
    int fd = fuzz_file(data, n, p);
    struct bbv_data d;
    bbv_load(p, 15, 1, false, &d);
    bbv_free(&d);
    close(fd);
    return 0;
}
