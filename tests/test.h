/*
 * test.h -- the tiny test harness of ffwd's C tests.
 *
 * CHECK(cond) records a failure with file:line and continues; each test
 * binary ends with the line "N passed, M failed" and exits non-zero when
 * anything failed.
 */
#ifndef FFWD_TEST_H
#define FFWD_TEST_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (cond)                                                                                                  \
            t_pass++;                                                                                              \
        else {                                                                                                     \
            t_fail++;                                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                        \
        }                                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                       \
    do {                                                                                                           \
        if (cond)                                                                                                  \
            t_pass++;                                                                                              \
        else {                                                                                                     \
            t_fail++;                                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                                                          \
            fputc('\n', stderr);                                                                                   \
        }                                                                                                          \
    } while (0)

#define CHECK_STR_HAS(s, sub) CHECK_MSG((s) && strstr((s), (sub)), "'%s' does not contain '%s'", (s) ? (s) : "(null)", (sub))

static inline int test_done(void)
{
    printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail ? 1 : 0;
}

#endif
