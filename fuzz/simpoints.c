/* fuzz_simpoints.c -- .simpoints + .weights ("<simpoints>@@@\n<weights>"). */
#include "fuzz.h"
#include "sample/simpoint.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *sep = memmem(data, n, "@@@\n", 4);
    size_t a = sep ? (size_t)(sep - data) : n;
    char p1[64], p2[64];
    int f1 = fuzz_file(data, a, p1), f2 = fuzz_file(sep ? sep + 4 : data, sep ? n - a - 4 : 0, p2);
    struct simpoint_point *pts = NULL;
    size_t np;
    simpoint_read(p1, p2, &pts, &np);
    free(pts);
    close(f1);
    close(f2);
    return 0;
}
