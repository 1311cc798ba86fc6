/* fuzz_estimate.c -- the event CSV of ffwd estimate. */
#include "fuzz.h"
#include "model/estimate.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char p[64];
    int fd = fuzz_file(data, n, p);
    struct est_features f;
    struct est_row *rows = NULL;
    size_t nr = 0;
    if (est_read_csv(p, &f, &rows, &nr) == 0 && nr) {
        double w[EST_MAXF], rms;
        est_fit(rows, nr, f.n, w, &rms);
    }
    free(rows);
    close(fd);
    return 0;
}
