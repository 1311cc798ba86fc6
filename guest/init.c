/*
 * init.c -- ffwd-guest as the initramfs /init (PID 1).
 *
 * 1. mounts /proc, /sys, /dev (devtmpfs) and says "@ffwd: init";
 * 2. loads the kernel modules listed in /lib/modules/ffwd/order with
 *    finit_module(2) (the image builder resolved their dependencies);
 * 3. waits for the root disk (ffwd.root=, default /dev/vda) and mounts it;
 * 4. with ffwd.cmd=HEX: runs `/bin/sh -c CMD` inside the root file system
 *    (chroot, /proc /sys /dev moved along, ffwd-guest available in
 *    /run/ffwd when the root has no copy), reports "@ffwd: cmd-exit N" and
 *    powers off;
 *    without it: hands the machine to the root's own /sbin/init
 *    (switch_root), as a distribution's initramfs would.
 * Any failure is reported as "@ffwd: error ..." followed by a power-off, so
 * the host never waits for a guest that cannot get anywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "protocol.h"

static void fail(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg, strerror(errno));
    guest_event(FFWD_PROTO_ERROR, "%s", msg);
    guest_poweroff();
}

static char cmdline[4096];

/* Value of "key=" on the kernel command line, copied into out. */
static int cmdline_get(const char *key, char *out, size_t outsz)
{
    size_t kl = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ' && *end != '\n')
            end++;
        if ((size_t)(end - p) >= kl && !strncmp(p, key, kl)) {
            size_t n = (size_t)(end - p) - kl;
            if (n >= outsz)
                n = outsz - 1;
            memcpy(out, p + kl, n);
            out[n] = 0;
            return 1;
        }
        p = end;
        if (*p)
            p++;
    }
    return 0;
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int load_modules(void)
{
    FILE *f = fopen(FFWD_MODULE_ORDER, "r");
    if (!f)
        return 0; /* a kernel with everything built in needs none */
    char name[256];
    int n = 0;
    while (fgets(name, sizeof name, f)) {
        name[strcspn(name, "\r\n")] = 0;
        if (!name[0])
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", FFWD_MODULE_DIR, name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail("cannot open module %s: %s", path);
        if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
            fail("cannot load module %s: %s", path);
        close(fd);
        n++;
    }
    fclose(f);
    return n;
}

static void wait_for(const char *dev, int seconds)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int i = 0; i < seconds * 50; i++) {
        if (access(dev, F_OK) == 0)
            return;
        nanosleep(&ts, NULL);
    }
    errno = ENOENT;
    fail("root disk %s did not appear: %s", dev);
}

static void move_mount_to(const char *from, const char *to)
{
    mkdir(to, 0755);
    if (mount(from, to, NULL, MS_MOVE, NULL) < 0)
        fail("cannot move mount to %s: %s", to);
}

/* Make ffwd-guest reachable inside a root that has no copy of it. */
static void provide_self(void)
{
    if (access("/newroot/run", F_OK) < 0)
        return;
    if (mount("tmpfs", "/newroot/run", "tmpfs", 0, "mode=0755,size=16m") < 0)
        return;
    mkdir("/newroot" FFWD_GUEST_RUNDIR, 0755);
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int out = open("/newroot" FFWD_GUEST_RUNDIR "/ffwd-guest", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (in >= 0 && out >= 0) {
        char buf[65536];
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)r) != r)
                break;
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

static int run_command(const char *cmd)
{
    guest_event(FFWD_PROTO_CMD_START, NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s%s", "");
    if (pid == 0) {
        setsid();
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
        setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" FFWD_GUEST_RUNDIR, 1);
        setenv("HOME", "/root", 1);
        setenv("TERM", "vt100", 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        guest_event(FFWD_PROTO_ERROR, "cannot run /bin/sh of the root disk: %s", strerror(errno));
        _exit(127);
    }
    /* PID 1 reaps every orphan; the command's own status decides. */
    int status = 0;
    for (;;) {
        int st;
        pid_t w = wait(&st);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (w == pid) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
    }
    return status;
}

int guest_init_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    mkdir("/proc", 0755);
    mkdir("/sys", 0755);
    mkdir("/dev", 0755);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);

    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
        cmdline[n > 0 ? n : 0] = 0;
        close(fd);
    }
    guest_event(FFWD_PROTO_INIT, NULL);
    int nmod = load_modules();
    guest_event(FFWD_PROTO_MODULES, "%d", nmod);

    char root[256] = "/dev/vda", fstype[64] = "ext4", waits[16] = "10";
    cmdline_get(FFWD_CMDLINE_ROOT, root, sizeof root);
    cmdline_get(FFWD_CMDLINE_FSTYPE, fstype, sizeof fstype);
    cmdline_get(FFWD_CMDLINE_ROOTWAIT, waits, sizeof waits);
    bool in_initramfs = !strcmp(root, "none");
    if (!in_initramfs) {
        wait_for(root, atoi(waits) > 0 ? atoi(waits) : 10);
        mkdir("/newroot", 0755);
        if (mount(root, "/newroot", fstype, 0, NULL) < 0)
            fail("cannot mount the root disk %s: %s", root);
        guest_event(FFWD_PROTO_ROOT, "%s", root);
    }

    static char hex[4096], cmd[2048];
    int have_cmd = cmdline_get(FFWD_CMDLINE_CMD, hex, sizeof hex);
    if (have_cmd) {
        size_t n = strlen(hex);
        if (n % 2 || n / 2 >= sizeof cmd) {
            errno = EINVAL;
            fail("bad ffwd.cmd= on the kernel command line%s: %s", "");
        }
        for (size_t i = 0; i < n / 2; i++) {
            int hi = hexv(hex[2 * i]), lo = hexv(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                errno = EINVAL;
                fail("bad ffwd.cmd= on the kernel command line%s: %s", "");
            }
            cmd[i] = (char)(hi << 4 | lo);
        }
        cmd[n / 2] = 0;
    }

    if (in_initramfs) {
        /* ffwd.root=none: everything runs from the initramfs (no disk I/O at all:
         * what deterministic runs need) */
        if (!have_cmd) {
            errno = EINVAL;
            fail("ffwd.root=none needs a command (ffwd.cmd=)%s: %s", "");
        }
        int status = run_command(cmd);
        guest_event(FFWD_PROTO_CMD_EXIT, "%d", status);
        guest_poweroff();
    }
    if (have_cmd && access("/newroot/bin/ffwd-guest", X_OK) < 0 && access("/newroot/usr/bin/ffwd-guest", X_OK) < 0)
        provide_self();
    move_mount_to("/dev", "/newroot/dev");
    move_mount_to("/proc", "/newroot/proc");
    move_mount_to("/sys", "/newroot/sys");
    if (chdir("/newroot") < 0)
        fail("chdir /newroot: %s%s", "");
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
        fail("cannot switch to the root disk%s: %s", "");
    if (chroot(".") < 0 || chdir("/") < 0)
        fail("chroot into the root disk%s: %s", "");

    if (have_cmd) {
        int status = run_command(cmd);
        guest_event(FFWD_PROTO_CMD_EXIT, "%d", status);
        guest_poweroff();
    }
    /* Hand over to the root's own init. */
    char *const init_argv[] = {"/sbin/init", NULL};
    execv("/sbin/init", init_argv);
    fail("cannot start the root's /sbin/init%s: %s", "");
    return 1;
}
