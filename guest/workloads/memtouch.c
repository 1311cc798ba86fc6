/*
 * memtouch MIB -- touch MIB mebibytes of memory with non-zero data, print
 * "memtouch: touched MIB MiB", then wait (for capture benchmarks: a guest
 * whose resident, non-zero memory is known).
 *
 * memtouch MIB faults -- write the fresh buffer with touch_cold() (every
 * page faults on its first store, in the middle of a block), then again
 * with touch_warm(), the same code (no faults), print a checksum and exit:
 * an exact instruction count gives both functions the same count.
 *
 * memtouch MIB spin -- write every page of the buffer again and again, in
 * page order: pass g writes (magic, page index, g) at the start of each
 * page. A capture that holds RAM as it was at one instant shows one cut: the
 * pages before the writer hold pass g + 1, the others pass g (a capture
 * copied while the guest writes shows more). Prints "memtouch: spinning"
 * after the first pass, then never stops.
 *
 * memtouch MIB hold -- fill as the default does, print "memtouch: holding
 * MIB MiB", wait until /tmp/ffwd-go exists (created after a checkpoint),
 * then check the first word of every page against the fill and print
 * "memtouch: checked PAGES pages, BAD wrong" (a restore of a large guest: one
 * load per page, cheap in a detailed simulator).
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep, access */
#include <stdbool.h>
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

#define SPIN_MAGIC 0x6e6970736d6d7766ULL /* "fwmmspin" */

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[2], "spin")) {
        unsigned long long mib = wl_size_arg(argc - 1, argv, "memtouch", 64, 1ull << 20);
        size_t n = (size_t)mib << 20;
        volatile uint64_t *p = aligned_alloc(4096, n); /* each record at the start of a page */
        if (!p) {
            fprintf(stderr, "memtouch: out of memory (%zu bytes)\n", n);
            return 1;
        }
        for (uint64_t g = 1;; g++) {
            for (size_t i = 0; i < n / 4096; i++) {
                volatile uint64_t *pg = p + i * 512;
                pg[0] = SPIN_MAGIC, pg[1] = i, pg[2] = g;
            }
            if (g == 1) {
                printf("memtouch: spinning %llu MiB\n", mib);
                fflush(stdout);
            }
        }
    }
    if (argc > 2 && !strcmp(argv[2], "faults")) {
        unsigned long long mib = wl_size_arg(argc - 1, argv, "memtouch", 64, 1ull << 20);
        size_t n = (size_t)mib << 20;
        unsigned char *p = wl_alloc(n, "memtouch");
        uint64_t a = touch_cold(p, n), b = touch_warm(p, n);
        printf("memtouch: faults %llu MiB sums %llu %llu\n", mib, (unsigned long long)a, (unsigned long long)b);
        return a == b ? 0 : 1;
    }
    bool hold = argc > 2 && !strcmp(argv[2], "hold");
    unsigned long long mib = wl_size_arg(hold ? argc - 1 : argc, argv, "memtouch", 64, 1ull << 20);
    size_t n = (size_t)mib << 20;
    unsigned char *p = wl_alloc(n, "memtouch");
    uint64_t s = 0x5eed0004;
    for (size_t i = 0; i < n; i += 4096) {
        uint64_t v = wl_rand(&s) | 1;
        for (size_t k = 0; k < 4096; k += 8)
            memcpy(p + i + k, &v, 8), v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    if (hold) {
        printf("memtouch: holding %llu MiB\n", mib);
        fflush(stdout);
        while (access("/tmp/ffwd-go", F_OK) != 0)
            nanosleep(&(struct timespec){0, 20000000}, NULL);
        uint64_t bad = 0;
        s = 0x5eed0004;
        for (size_t i = 0; i < n; i += 4096) {
            uint64_t v = wl_rand(&s) | 1, have;
            memcpy(&have, p + i, 8);
            bad += have != v;
        }
        printf("memtouch: checked %zu pages, %llu wrong\n", n / 4096, (unsigned long long)bad);
        return bad != 0;
    }
    printf("memtouch: touched %llu MiB\n", mib);
    fflush(stdout);
    for (;;)
        sleep(1000);
}
