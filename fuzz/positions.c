/* fuzz_positions.c -- the profile's .positions and .landmarks files (the
 * same shape of text: one record of counts per line). */
#include "fuzz.h"
#include "sample/landmarks.h"
#include "sample/sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char p[64];
    int fd = fuzz_file(data, n, p);
    struct sample_positions pos;
    if (sample_positions_read(p, &pos) == 0)
        sample_positions_free(&pos);
    struct landmarks lm;
    if (landmarks_read(p, 0, &lm) == 0) {
        const struct landmark *m = landmarks_near(&lm, n * 1000, n * 2000);
        uint64_t lo, hi;
        if (m)
            landmark_window(m, &lo, &hi);
        landmarks_free(&lm);
    }
    close(fd);
    return 0;
}
