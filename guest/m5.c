/* m5.c -- see m5.h. */
#define _GNU_SOURCE
#include "m5.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>

#if defined(__aarch64__)
#define M5_DEF(name, num)                                                                                          \
    static uint64_t name##_raw(uint64_t a0, uint64_t a1, uint64_t a2)                                              \
    {                                                                                                              \
        register uint64_t x0 __asm__("x0") = a0;                                                                   \
        register uint64_t x1 __asm__("x1") = a1;                                                                   \
        register uint64_t x2 __asm__("x2") = a2;                                                                   \
        __asm__ volatile(".inst 0xff000110 | (" #num " << 16)" : "+r"(x0) : "r"(x1), "r"(x2) : "memory");           \
        return x0;                                                                                                 \
    }
#else
#define M5_DEF(name, num)                                                                                          \
    static uint64_t name##_raw(uint64_t a0, uint64_t a1, uint64_t a2)                                              \
    {                                                                                                              \
        (void)a0, (void)a1, (void)a2;                                                                              \
        __builtin_trap();                                                                                          \
    }
#endif

M5_DEF(rpns, 0x07)
M5_DEF(exit, 0x21)
M5_DEF(reset_stats, 0x40)
M5_DEF(dump_stats, 0x41)
M5_DEF(read_file, 0x50)
M5_DEF(work_begin, 0x5a)
M5_DEF(work_end, 0x5b)

static sigjmp_buf probe_env;

static void on_sigill(int sig)
{
    (void)sig;
    siglongjmp(probe_env, 1);
}

bool m5_present(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigill;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, &old);
    volatile bool present = false;
    if (sigsetjmp(probe_env, 1) == 0) {
        rpns_raw(0, 0, 0);
        present = true;
    }
    sigaction(SIGILL, &old, NULL);
    return present;
}

uint64_t m5_exit(uint64_t d) { return exit_raw(d, 0, 0); }
uint64_t m5_reset_stats(uint64_t d, uint64_t p) { return reset_stats_raw(d, p, 0); }
uint64_t m5_dump_stats(uint64_t d, uint64_t p) { return dump_stats_raw(d, p, 0); }
uint64_t m5_read_file(void *buf, uint64_t len, uint64_t off) { return read_file_raw((uint64_t)(uintptr_t)buf, len, off); }
uint64_t m5_work_begin(uint64_t w, uint64_t t) { return work_begin_raw(w, t, 0); }
uint64_t m5_work_end(uint64_t w, uint64_t t) { return work_end_raw(w, t, 0); }
