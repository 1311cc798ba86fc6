/*
 * ptrchase SIZE -- pointer chasing over a random cyclic permutation.
 *
 * Phases: "build" (Sattolo shuffle: one cycle through all SIZE slots),
 * "chase" (4*SIZE dependent loads: latency-bound, cache/TLB hostile),
 * "scan" (sequential sum: bandwidth-bound). Memory: 8*SIZE bytes.
 */
#include "wl.h"

int main(int argc, char **argv)
{
    unsigned long long n = wl_size_arg(argc, argv, "ptrchase", 1u << 20, 1ull << 28);
    uint64_t *next = wl_alloc(n * sizeof *next, "ptrchase");
    uint64_t seed = 0x5eed0001 ^ n;

    wl_phase("ptrchase", "build");
    for (uint64_t i = 0; i < n; i++)
        next[i] = i;
    for (uint64_t i = n - 1; i > 0; i--) { /* Sattolo: j in [0, i) */
        uint64_t j = wl_rand(&seed) % i;
        uint64_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }

    wl_phase("ptrchase", "chase");
    uint64_t p = 0, h = 0;
    for (uint64_t k = 0; k < 4 * n; k++) {
        p = next[p];
        if ((k & 1023) == 0)
            h = wl_mix(h, p);
    }
    h = wl_mix(h, p);

    wl_phase("ptrchase", "scan");
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += next[i] * (i | 1);
    h = wl_mix(h, s);

    wl_result("ptrchase", n, h);
    free(next);
    return 0;
}
