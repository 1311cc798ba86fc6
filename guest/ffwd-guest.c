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
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "guest.h"
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

static int usage(FILE *f)
{
    fprintf(f, "usage: ffwd-guest COMMAND [ARGS]\n"
               "\n"
               "commands:\n"
               "  marker TEXT   print the host-recognised line \"" FFWD_PROTO_PREFIX "marker TEXT\"\n"
               "  poweroff      sync and power the machine off\n"
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
    if (!strcmp(cmd, "version")) {
        printf("ffwd-guest %s\n", FFWD_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
        return usage(stdout);
    fprintf(stderr, "ffwd-guest: unknown command '%s'\n", cmd);
    return usage(stderr);
}
