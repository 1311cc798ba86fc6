/* fuzz_positions.c -- the profile's .positions file. */
#include "fuzz.h"
#include "sample/sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char p[64];
    int fd = fuzz_file(data, n, p);
    struct sample_positions pos;
    if (sample_positions_read(p, &pos) == 0)
        sample_positions_free(&pos);
    close(fd);
    return 0;
}
