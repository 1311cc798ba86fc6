/*
 * memtouch MIB -- touch MIB mebibytes of memory with non-zero data, print
 * "memtouch: touched MIB MiB", then wait (for capture benchmarks: a guest
 * whose resident, non-zero memory is known).
 *
 * memtouch MIB faults -- write the fresh buffer with touch_cold() (every
 * page faults on its first store, in the middle of a block), then again
 * with touch_warm(), the same code (no faults), print a checksum and exit:
 * an exact instruction count gives both functions the same count.
 */
#include <time.h>
#include <unistd.h>

#include "wl.h"

/* noipa: two separate copies of the same code (no folding, no inlining) */
__attribute__((noipa)) static uint64_t touch_cold(unsigned char *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i += 512)
        p[i] = (unsigned char)(i >> 9), s += p[i];
    return s;
}

__attribute__((noipa)) static uint64_t touch_warm(unsigned char *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i += 512)
        p[i] = (unsigned char)(i >> 9), s += p[i];
    return s;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[2], "faults")) {
        unsigned long long mib = wl_size_arg(argc - 1, argv, "memtouch", 64, 1ull << 20);
        size_t n = (size_t)mib << 20;
        unsigned char *p = wl_alloc(n, "memtouch");
        uint64_t a = touch_cold(p, n), b = touch_warm(p, n);
        printf("memtouch: faults %llu MiB sums %llu %llu\n", mib, (unsigned long long)a, (unsigned long long)b);
        return a == b ? 0 : 1;
    }
    unsigned long long mib = wl_size_arg(argc, argv, "memtouch", 64, 1ull << 20);
    size_t n = (size_t)mib << 20;
    unsigned char *p = wl_alloc(n, "memtouch");
    uint64_t s = 0x5eed0004;
    for (size_t i = 0; i < n; i += 4096) {
        uint64_t v = wl_rand(&s) | 1;
        for (size_t k = 0; k < 4096; k += 8)
            memcpy(p + i + k, &v, 8), v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    printf("memtouch: touched %llu MiB\n", mib);
    fflush(stdout);
    for (;;)
        sleep(1000);
}
