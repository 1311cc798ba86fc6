/*
 * ffwd-guest -- the guest-side utility of ffwd (static aarch64 binary).
 *
 *   ffwd-guest marker TEXT     tell the host: a line "@ffwd: marker TEXT"
 *   ffwd-guest poweroff        sync and power the machine off
 *   ffwd-guest init            act as the initramfs /init (also when run as PID 1
 *                              or under the name "init")
 *   ffwd-guest version
 *
 * The line protocol is in protocol.h. Everything is written with write(2) to
 * /dev/console so markers keep their order relative to the kernel's output
 * even when the program's stdout is redirected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/mman.h>
#include <time.h>

#include "guest.h"
#include "m5.h"
#include "protocol.h"

#ifndef FFWD_VERSION
#define FFWD_VERSION "unknown"
#endif

void guest_event(const char *event, const char *fmt, ...)
{
    char text[1024] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
    }
    /* Keep the line a single line whatever the text holds. */
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    char line[1200];
    int n = snprintf(line, sizeof line, "\n" FFWD_PROTO_PREFIX "%s%s%s\n", event, text[0] ? " " : "", text);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        fd = dup(1);
    if (fd < 0)
        return;
    /* The leading '\n' ends any partial line the program left on the console. */
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}

void guest_poweroff(void)
{
    guest_event(FFWD_PROTO_POWEROFF, NULL);
    sync();
    reboot(RB_POWER_OFF);
    /* Not reached on a working PSCI; if it is, stop here. */
    for (;;)
        pause();
}

/* Physical address of a locked page of ours (needs root: /proc/self/pagemap). */
static uint64_t phys_addr(const void *va)
{
    long ps = sysconf(_SC_PAGESIZE);
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint64_t e = 0;
    off_t off = (off_t)((uintptr_t)va / (uintptr_t)ps) * 8;
    ssize_t n = pread(fd, &e, 8, off);
    close(fd);
    if (n != 8 || !(e >> 63 & 1))
        return 0;
    uint64_t pfn = e & ((1ULL << 55) - 1);
    return pfn ? pfn * (uint64_t)ps + ((uintptr_t)va % (uintptr_t)ps) : 0;
}

static int cmd_checkpoint(const char *name)
{
    if (m5_present())
        return 0; /* already running in gem5: nothing to capture */
    long ps = sysconf(_SC_PAGESIZE);
    volatile uint64_t *w = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED) {
        perror("ffwd-guest checkpoint: mmap");
        return 1;
    }
    w[0] = 0;
    mlock((void *)w, (size_t)ps);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    uint64_t nonce = ((uint64_t)t.tv_nsec << 20 ^ (uint64_t)t.tv_sec ^ (uint64_t)getpid() << 40) | 1;
    uint64_t pa = phys_addr((const void *)w);
    if (!pa) {
        fprintf(stderr, "ffwd-guest checkpoint: cannot find the physical address of the handshake page "
                        "(/proc/self/pagemap needs root)\n");
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    guest_event(FFWD_PROTO_CHECKPOINT, "%s 0x%llx 0x%llx", name, (unsigned long long)pa, (unsigned long long)nonce);
    /* Wait for the host's release (QEMU) or for gem5 (restored from the capture). */
    for (long i = 0; i < FFWD_CHECKPOINT_WAIT_S * 1000L; i++) {
        if (w[0] == nonce)
            return 0;
        if (m5_present())
            return 0;
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    fprintf(stderr, "ffwd-guest checkpoint: no answer from the host within %d s\n", FFWD_CHECKPOINT_WAIT_S);
    return 1;
}

static int cmd_readfile(void)
{
    if (!m5_present())
        return 0; /* under QEMU no file is handed in: empty output */
    static char buf[1 << 16];
    uint64_t off = 0;
    for (;;) {
        uint64_t n = m5_read_file(buf, sizeof buf, off);
        if (n == 0 || n > sizeof buf)
            break;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            return 1;
        off += n;
    }
    return fflush(stdout) ? 1 : 0;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: ffwd-guest COMMAND [ARGS]\n"
               "\n"
               "commands:\n"
               "  marker TEXT   print the host-recognised line \"" FFWD_PROTO_PREFIX "marker TEXT\"\n"
               "  poweroff      sync and power the machine off\n"
               "  checkpoint [NAME]  let the host capture the machine here; returns when the host\n"
               "                is done (QEMU) or at once when restored in gem5\n"
               "  roi-begin, roi-end  mark the region of interest (gem5: work-begin/end 0)\n"
               "  roi [--] CMD ARGS  run CMD as the region: CMD and the processes it starts are\n"
               "                counted by `ffwd profile --process roi` (and it is the window of\n"
               "                --roi); exits with CMD's status\n"
               "  pin CPU [--] CMD ARGS  run CMD on that CPU only (as taskset)\n"
               "  exit [CODE]   gem5: m5 exit; QEMU: announce and power off\n"
               "  readfile      gem5: print the file given to gem5 (--script); QEMU: prints nothing\n"
               "  resetstats, dumpstats  gem5: reset/dump statistics; QEMU: announce only\n"
               "  work-begin ID, work-end ID  gem5 work items; QEMU: announce only\n"
               "  where         print \"gem5\" or \"qemu\"\n"
               "  counter       print the virtual counter (CNTVCT_EL0) and its frequency\n"
               "  getrandom [N] read N bytes (default 32) with getrandom(2), blocking until the\n"
               "                kernel's generator is ready, as sqlite3 or Python do\n"
               "  init          run as the ffwd initramfs init (PID 1)\n"
               "  version       print the version\n");
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (getpid() == 1 || strcmp(base, "init") == 0)
        return guest_init_main(argc, argv);
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "marker")) {
        if (argc < 3) {
            fprintf(stderr, "ffwd-guest: marker needs TEXT\n");
            return 2;
        }
        char text[1024] = "";
        size_t off = 0;
        for (int i = 2; i < argc && off < sizeof text - 1; i++)
            off += (size_t)snprintf(text + off, sizeof text - off, "%s%s", i > 2 ? " " : "", argv[i]);
        fflush(stdout);
        guest_event(FFWD_PROTO_MARKER, "%s", text);
        return 0;
    }
    if (!strcmp(cmd, "poweroff")) {
        guest_poweroff();
        return 0;
    }
    if (!strcmp(cmd, "init"))
        return guest_init_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "checkpoint"))
        return cmd_checkpoint(argc > 2 ? argv[2] : "checkpoint");
    if (!strcmp(cmd, "getrandom")) {
        /* the count only: the bytes themselves differ between QEMU and gem5 */
        unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 32;
        unsigned char buf[256];
        if (n == 0 || n > sizeof buf) {
            fprintf(stderr, "ffwd-guest: getrandom: N must be 1..%zu\n", sizeof buf);
            return 2;
        }
        long got = syscall(SYS_getrandom, buf, n, 0);
        if (got < 0) {
            fprintf(stderr, "ffwd-guest: getrandom: %s\n", strerror(errno));
            return 1;
        }
        printf("getrandom: %ld bytes\n", got);
        return fflush(stdout) ? 1 : 0;
    }
    if (!strcmp(cmd, "counter")) {
#if defined(__aarch64__)
        uint64_t vct, frq;
        __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(vct));
        __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
        printf("cntvct=%llu cntfrq=%llu\n", (unsigned long long)vct, (unsigned long long)frq);
        return 0;
#else
        return 1;
#endif
    }
    if (!strcmp(cmd, "where")) {
        puts(m5_present() ? "gem5" : "qemu");
        return 0;
    }
    if (!strcmp(cmd, "readfile"))
        return cmd_readfile();
    bool gem5 = m5_present();
    uint64_t id = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
    if (!strcmp(cmd, "exit")) {
        int code = argc > 2 ? atoi(argv[2]) : 0;
        fflush(stdout);
        if (gem5) {
            m5_exit(0);
            return code;
        }
        guest_event(FFWD_PROTO_EXIT, "%d", code);
        guest_poweroff();
    }
    if (!strcmp(cmd, "pin")) { /* what taskset does (the guest's busybox has none) */
        int first = argc > 3 && !strcmp(argv[3], "--") ? 4 : 3;
        char *end = NULL;
        long cpu = argc > 2 ? strtol(argv[2], &end, 10) : -1;
        if (argc <= 2 || !end || *end || cpu < 0 || cpu >= CPU_SETSIZE || first >= argc) {
            fprintf(stderr, "ffwd-guest pin: needs a CPU number and a command (ffwd-guest pin CPU -- CMD ARGS)\n");
            return 2;
        }
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0) {
            fprintf(stderr, "ffwd-guest pin: CPU %ld: %s\n", cpu, strerror(errno));
            return 1;
        }
        execvp(argv[first], argv + first);
        fprintf(stderr, "ffwd-guest pin: cannot run %s: %s\n", argv[first], strerror(errno));
        return 127;
    }
    if (!strcmp(cmd, "roi")) {
        int first = argc > 2 && !strcmp(argv[2], "--") ? 3 : 2;
        if (first >= argc) {
            fprintf(stderr, "ffwd-guest roi: needs a command (ffwd-guest roi -- CMD ARGS)\n");
            return 2;
        }
        fflush(stdout);
        if (gem5)
            m5_work_begin(0, 0);
        else
            guest_event("roi-begin", NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("ffwd-guest roi: fork");
            return 1;
        }
        if (pid == 0) {
#if defined(__aarch64__)
            /* HINT #102: this task -- which becomes CMD -- and the tasks it
             * creates are the region (qemu/plugins/filter.h) */
            __asm__ volatile("hint #102" ::: "memory");
#endif
            execvp(argv[first], argv + first);
            fprintf(stderr, "ffwd-guest roi: cannot run %s: %s\n", argv[first], strerror(errno));
            _exit(127);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
#if defined(__aarch64__)
        if (!gem5)
            __asm__ volatile("hint #101" ::: "memory");
#endif
        /* The machine may have changed under us: a checkpoint taken inside
         * the region is restored in gem5, where the region's end must be a
         * work-end gem5 sees (a window measured up to the region's end stops
         * there), not a console line. Probed after the hint: QEMU's --roi
         * window is closed by then. */
        if (!gem5)
            gem5 = m5_present();
        if (gem5)
            m5_work_end(0, 0);
        else
            guest_event("roi-end", NULL);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    if (!strcmp(cmd, "roi-begin") || !strcmp(cmd, "roi-end") || !strcmp(cmd, "work-begin") ||
        !strcmp(cmd, "work-end") || !strcmp(cmd, "resetstats") || !strcmp(cmd, "dumpstats")) {
        fflush(stdout);
        if (gem5) {
            if (!strcmp(cmd, "roi-begin") || !strcmp(cmd, "work-begin"))
                m5_work_begin(id, 0);
            else if (!strcmp(cmd, "roi-end") || !strcmp(cmd, "work-end"))
                m5_work_end(id, 0);
            else if (!strcmp(cmd, "resetstats"))
                m5_reset_stats(0, 0);
            else
                m5_dump_stats(0, 0);
        } else if (!strncmp(cmd, "work-", 5))
            guest_event(cmd, "%llu", (unsigned long long)id);
        else {
#if defined(__aarch64__)
            /* unused hints: ffwd's BBV plugin recognises them (roi=on) */
            if (!strcmp(cmd, "roi-begin"))
                __asm__ volatile("hint #100" ::: "memory");
            else if (!strcmp(cmd, "roi-end"))
                __asm__ volatile("hint #101" ::: "memory");
#endif
            guest_event(cmd, NULL);
        }
        return 0;
    }
    if (!strcmp(cmd, "version")) {
        printf("ffwd-guest %s\n", FFWD_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
        return usage(stdout);
    fprintf(stderr, "ffwd-guest: unknown command '%s'\n", cmd);
    return usage(stderr);
}
