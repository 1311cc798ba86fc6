/*
 * memtouch MIB -- touch MIB mebibytes of memory with non-zero data, print
 * "memtouch: touched MIB MiB", then wait (for capture benchmarks: a guest
 * whose resident, non-zero memory is known).
 */
#include <time.h>
#include <unistd.h>

#include "wl.h"

int main(int argc, char **argv)
{
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
