/* fuzz_landing.c -- the profile's .blocks file and a BBV read by code hash
 * (the landing check of `ffwd sample`): input = blocks text, NUL, BBV text.
 * The BBV is written as plain text (the reader takes gzip or plain; the
 * gzip layer is fuzzed by fuzz_bbv), to a folder made once on tmpfs. */
#include "fuzz.h"

#include "sample/landing.h"

static void put(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n)
        fwrite(data, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static char *dir;
    static char bp[4096], vp[4096], prefix[4096];
    if (!dir) {
        dir = fuzz_dir("ffwd-fuzz-landing");
        snprintf(prefix, sizeof prefix, "%s/p", dir);
        snprintf(bp, sizeof bp, "%s.blocks", prefix);
        snprintf(vp, sizeof vp, "%s.0.bb.gz", prefix);
    }
    const uint8_t *nul = memchr(data, 0, n);
    size_t nb = nul ? (size_t)(nul - data) : n;
    put(bp, data, nb);
    put(vp, nul ? nul + 1 : data, nul ? n - nb - 1 : 0);
    size_t want[3] = {0, 1, 5};
    struct landing_vec v[3];
    if (landing_load(prefix, 0, want, 3, v) == 0) {
        (void)landing_distance(&v[0], &v[1]);
        for (int i = 0; i < 3; i++)
            landing_vec_free(&v[i]);
    }
    return 0;
}
