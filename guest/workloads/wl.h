/*
 * wl.h -- shared helpers of the demo workloads.
 *
 * The workloads are deterministic: the same size gives the same checksum on
 * any machine (the tests build each source for the host too and compare).
 * They use only integer arithmetic, so compiler FP contraction or
 * host/guest FP differences cannot change a result.
 */
#ifndef FFWD_WL_H
#define FFWD_WL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ffwd-roi.h"

/* With FFWD_ROI set in the environment a workload marks itself as the region
 * of interest: from its first phase to its result (guest/ffwd-roi.h). */
static inline int wl_roi_wanted(void)
{
    static int w = -1;
    if (w < 0)
        w = getenv("FFWD_ROI") != NULL;
    return w;
}

/* splitmix64: small, fast, well-distributed. */
static inline uint64_t wl_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t wl_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0x100000001b3ULL;
}

static inline void wl_phase(const char *wl, const char *phase)
{
    static int begun;
    if (!begun && wl_roi_wanted())
        FFWD_ROI_BEGIN();
    begun = 1;
    printf("%s: phase %s\n", wl, phase);
    fflush(stdout);
}

static inline void wl_result(const char *wl, unsigned long long size, uint64_t sum)
{
    if (wl_roi_wanted())
        FFWD_ROI_END();
    printf("%s: checksum size=%llu 0x%016llx\n", wl, size, (unsigned long long)sum);
    fflush(stdout);
}

static inline unsigned long long wl_size_arg(int argc, char **argv, const char *wl, unsigned long long def,
                                             unsigned long long max)
{
    if (argc < 2)
        return def;
    char *end;
    unsigned long long v = strtoull(argv[1], &end, 10);
    if (*end || v == 0 || v > max) {
        fprintf(stderr, "%s: size must be an integer in 1..%llu\n", wl, max);
        exit(2);
    }
    return v;
}

static inline void *wl_alloc(size_t n, const char *wl)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s: out of memory (%zu bytes)\n", wl, n);
        exit(1);
    }
    return p;
}

#endif
