/* fuzz_landing.c -- the profile's .blocks file and a BBV read by code hash
 * (the landing check of `ffwd sample`): input = blocks text, NUL, BBV text. */
#include "fuzz.h"

#include <string.h>
#include <zlib.h>

#include "sample/landing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *nul = memchr(data, 0, n);
    size_t nb = nul ? (size_t)(nul - data) : n;
    char dir[] = "/tmp/ffwd-fuzz-landing-XXXXXX";
    if (!mkdtemp(dir))
        return 0;
    char bp[64], vp[64], prefix[48];
    snprintf(prefix, sizeof prefix, "%s/p", dir);
    snprintf(bp, sizeof bp, "%s.blocks", prefix);
    snprintf(vp, sizeof vp, "%s.0.bb.gz", prefix);
    FILE *f = fopen(bp, "wb");
    if (f) {
        fwrite(data, 1, nb, f);
        fclose(f);
    }
    gzFile g = gzopen(vp, "wb1");
    if (g) {
        if (nul && n > nb + 1)
            gzwrite(g, nul + 1, (unsigned)(n - nb - 1));
        gzclose(g);
    }
    size_t want[3] = {0, 1, 5};
    struct landing_vec v[3];
    if (landing_load(prefix, 0, want, 3, v) == 0) {
        (void)landing_distance(&v[0], &v[1]);
        for (int i = 0; i < 3; i++)
            landing_vec_free(&v[i]);
    }
    unlink(bp);
    unlink(vp);
    rmdir(dir);
    return 0;
}
