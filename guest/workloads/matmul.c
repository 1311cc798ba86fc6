/*
 * matmul N -- blocked N x N integer matrix multiply, C = A * B (mod 2^32).
 *
 * Phases: "init" (fill A, B), "naive" (i-j-k product of the first N/4 rows:
 * strided, cache-unfriendly), "blocked" (the whole product with 32x32
 * tiles: compute-bound), "reduce" (checksum of C, and the naive rows must
 * equal the blocked ones). Memory: 12*N*N bytes (+ N*N for the check).
 */
#include "wl.h"

#define BS 32

int main(int argc, char **argv)
{
    unsigned long long n = wl_size_arg(argc, argv, "matmul", 256, 4096);
    size_t nn = (size_t)n * n;
    uint32_t *A = wl_alloc(nn * 4, "matmul"), *B = wl_alloc(nn * 4, "matmul");
    uint32_t *C = wl_alloc(nn * 4, "matmul"), *D = wl_alloc(nn * 4, "matmul");
    uint64_t seed = 0x5eed0003 ^ n;

    wl_phase("matmul", "init");
    for (size_t i = 0; i < nn; i++) {
        A[i] = (uint32_t)wl_rand(&seed);
        B[i] = (uint32_t)wl_rand(&seed);
        C[i] = 0;
    }

    wl_phase("matmul", "naive");
    size_t rows = n / 4 ? n / 4 : 1;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < n; j++) {
            uint32_t s = 0;
            for (size_t k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            D[i * n + j] = s;
        }

    wl_phase("matmul", "blocked");
    for (size_t ii = 0; ii < n; ii += BS)
        for (size_t kk = 0; kk < n; kk += BS)
            for (size_t jj = 0; jj < n; jj += BS) {
                size_t ie = ii + BS < n ? ii + BS : n, ke = kk + BS < n ? kk + BS : n;
                size_t je = jj + BS < n ? jj + BS : n;
                for (size_t i = ii; i < ie; i++)
                    for (size_t k = kk; k < ke; k++) {
                        uint32_t a = A[i * n + k];
                        for (size_t j = jj; j < je; j++)
                            C[i * n + j] += a * B[k * n + j];
                    }
            }

    wl_phase("matmul", "reduce");
    uint64_t h = 0;
    for (size_t i = 0; i < nn; i++) {
        if (i < rows * n && C[i] != D[i]) {
            fprintf(stderr, "matmul: blocked and naive products differ at %zu\n", i);
            return 1;
        }
        h = wl_mix(h, C[i]);
    }
    wl_result("matmul", n, h);
    free(A);
    free(B);
    free(C);
    free(D);
    return 0;
}
