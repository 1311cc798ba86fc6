/*
 * sort SIZE -- sorting SIZE 64-bit keys.
 *
 * Phases: "generate" (random keys), "mergesort" (bottom-up merge sort:
 * streaming, predictable branches), "quicksort" (in-place quicksort of a
 * second copy: data-dependent, mispredicting branches), "verify" (both
 * results equal and ordered). Memory: 24*SIZE bytes.
 */
#include "wl.h"

static void merge_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        uint64_t *t = a;
        memcpy(t, tmp, n * sizeof *a);
    }
}

static void quick_sort(uint64_t *a, long lo, long hi)
{
    while (lo < hi) {
        uint64_t pivot = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                uint64_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* Recurse into the smaller half: bounded stack. */
        if (j - lo < hi - i) {
            quick_sort(a, lo, j);
            lo = i;
        } else {
            quick_sort(a, i, hi);
            hi = j;
        }
    }
}

int main(int argc, char **argv)
{
    unsigned long long n = wl_size_arg(argc, argv, "sort", 1u << 18, 1ull << 26);
    uint64_t *a = wl_alloc(n * sizeof *a, "sort");
    uint64_t *b = wl_alloc(n * sizeof *b, "sort");
    uint64_t *tmp = wl_alloc(n * sizeof *tmp, "sort");
    uint64_t seed = 0x5eed0002 ^ n;

    wl_phase("sort", "generate");
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] = wl_rand(&seed) >> (i & 7); /* some duplicate-prone small keys */

    wl_phase("sort", "mergesort");
    merge_sort(a, tmp, n);

    wl_phase("sort", "quicksort");
    quick_sort(b, 0, (long)n - 1);

    wl_phase("sort", "verify");
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || (i && a[i - 1] > a[i])) {
            fprintf(stderr, "sort: results differ at %zu\n", i);
            return 1;
        }
        h = wl_mix(h, a[i]);
    }
    wl_result("sort", n, h);
    free(a);
    free(b);
    free(tmp);
    return 0;
}
