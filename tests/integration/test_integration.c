/*
 * Integration tests: the real ffwd binary booting the real demo guest
 * (Debian arm64 kernel, busybox, ffwd's workloads) in the real QEMU.
 *
 *   test_integration NAME     NAME: guest_build workloads demo rootfs bad_input timeout smp_gicv2
 */
#define _GNU_SOURCE
#include <glib.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "image/guest_image.h"
#include "tests/test.h"
#include "tests/integration/helpers.h"

static void t_guest_build(void)
{
    struct sbuf o = {0};
    const char *a[] = {"guest", "build", NULL};
    double t0 = now_sec();
    CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
    char *dir = guest_path("dir");
    char *man = xasprintf("%s/guest.json", dir);
    json_t *j = json_load_file(man, 0, NULL);
    CHECK(j != NULL);
    json_t *sz = json_object_get(j, "sizes");
    CHECK(json_integer_value(json_object_get(sz, "Image")) > 10 << 20);
    CHECK(json_integer_value(json_object_get(sz, "initramfs.cpio.gz")) > 100 << 10);
    CHECK(json_integer_value(json_object_get(sz, "demo.img")) > 0);
    CHECK(json_integer_value(json_object_get(sz, "rootfs.img")) > 0);
    CHECK(json_object_get(json_object_get(j, "debian_arm64_packages"), "busybox-static") != NULL);
    printf("guest artefacts: %s (built/checked in %.1f s)\n", dir, now_sec() - t0);
    json_decref(j);
    /* a second call reuses the cache */
    t0 = now_sec();
    CHECK(ffwd(&o, a) == 0);
    CHECK_STR_HAS(o.s, dir);
    CHECK(strstr(o.s, "building") == NULL);
    free(man);
    free(dir);
    sbuf_free(&o);
}

static void t_workloads(void)
{
    /* Each workload at a small size, Debian's xz on the generated input, and
     * what the guest sees of the profile's hardware. */
    const char *cmd = "ffwd-guest marker wl-begin; "
                      "ffwd-ptrchase 50000 && ffwd-sort 30000 && ffwd-matmul 96 && "
                      "/usr/bin/xz -6 -T1 -c /data/input.txt > /tmp/o.xz && echo \"xz-md5 $(md5sum < /tmp/o.xz)\"; "
                      "echo \"virtio-dev $(readlink /sys/bus/virtio/devices/virtio0)\"; "
                      "echo \"virtio-features $(cat /sys/bus/virtio/devices/virtio0/features)\"; "
                      "echo \"pci-devices $(ls /sys/bus/pci/devices 2>/dev/null | wc -l)\"; "
                      "echo \"cpus $(nproc)\"; "
                      "ffwd-guest marker wl-end";
    char *run = make_temp_dir("/tmp", "ffwd-it-wl-");
    struct sbuf o = {0};
    const char *a[] = {"boot", "--run-dir", run, "--cmd", cmd, "--expect-marker", "wl-end", "--timeout", "300", NULL};
    int st = ffwd(&o, a);
    CHECK_MSG(st == 0, "exit %d: %s", st, o.s);
    CHECK_STR_HAS(o.s, "kernel up");
    CHECK_STR_HAS(o.s, "marker seen: wl-begin");
    char *logp = xasprintf("%s/console.log", run);
    char *log = file_text(logp);
    const char *wls[][2] = {{"ptrchase", "50000"}, {"sort", "30000"}, {"matmul", "96"}};
    for (int i = 0; i < 3; i++) {
        char *ref = host_checksum(wls[i][0], wls[i][1]);
        char *want = xasprintf("%s: %s", wls[i][0], ref);
        CHECK_STR_HAS(log, want);
        free(ref);
        free(want);
    }
    /* xz: the guest's Debian xz must produce what the host's xz produces */
    unsigned char *in = xmalloc(GUEST_INPUT_SIZE);
    guest_image_input(in, GUEST_INPUT_SIZE);
    char *inp = xasprintf("%s/input.txt", run);
    write_file_atomic(inp, in, GUEST_INPUT_SIZE, 0644);
    char *xzout = xasprintf("%s/input.txt.xz", run);
    char *argv[] = {"xz", "-6", "-T1", "-k", "-f", inp, NULL};
    CHECK(run_cmd(argv, NULL) == 0);
    size_t xl;
    char *xd = read_file(xzout, &xl);
    if (xd) {
        gchar *md5 = g_compute_checksum_for_data(G_CHECKSUM_MD5, (const guchar *)xd, xl);
        char *want = xasprintf("xz-md5 %s", md5);
        CHECK_STR_HAS(log, want);
        free(want);
        g_free(md5);
    } else
        CHECK(!"host xz produced no output");
    free(xd);
    free(in);
    free(inp);
    free(xzout);
    /* the profile as the guest sees it */
    CHECK_STR_HAS(log, "a003e00.virtio_mmio");
    CHECK_STR_HAS(log, "pci-devices 0");
    CHECK_STR_HAS(log, "cpus 1");
    char *f = strstr(log, "virtio-features ");
    CHECK(f != NULL);
    if (f) {
        f += strlen("virtio-features ");
        CHECK_MSG(strlen(f) > 33 && f[28] == '0' && f[29] == '0' && f[32] == '0',
                  "INDIRECT_DESC(28)/EVENT_IDX(29)/VERSION_1(32) must be off: %.64s", f);
    }
    CHECK(!pid_alive_in(run));
    free(log);
    free(logp);
    rm_rf(run);
    free(run);
    sbuf_free(&o);
}

static void t_demo(void)
{
    char *out = make_temp_dir("/tmp", "ffwd-it-demo-");
    struct sbuf o = {0};
    const char *a[] = {"demo", "--out", out, "--workload", "sort", "--size", "20000", NULL};
    CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "ffwd demo summary");
    CHECK_STR_HAS(o.s, "kernel up");
    CHECK_STR_HAS(o.s, "workload started");
    CHECK_STR_HAS(o.s, "marker seen: workload-done");
    char *sp = xasprintf("%s/summary.json", out);
    json_t *j = json_load_file(sp, 0, NULL);
    char *ref = host_checksum("sort", "20000");
    CHECK(j && json_string_value(json_object_get(j, "result")) &&
          strstr(json_string_value(json_object_get(j, "result")), ref));
    CHECK(j && json_integer_value(json_object_get(j, "command_status")) == 0);
    /* the demo captured the machine before the workload: a verified capture */
    const char *cap = j ? json_string_value(json_object_get(j, "capture")) : NULL;
    CHECK(cap != NULL);
    if (cap) {
        const char *in[] = {"inspect", cap, NULL};
        struct sbuf io = {0};
        CHECK_MSG(ffwd(&io, in) == 0, "%s", io.s);
        CHECK_STR_HAS(io.s, "checkpoint before-sort");
        sbuf_free(&io);
    }
    printf("demo: %s\n", o.s);
    json_decref(j);
    free(ref);
    free(sp);
    rm_rf(out);
    free(out);
    sbuf_free(&o);
}

static void t_rootfs(void)
{
    char *k = guest_path("kernel"), *i = guest_path("initrd"), *d = guest_path("rootfs");
    char *run = make_temp_dir("/tmp", "ffwd-it-rootfs-");
    struct sbuf o = {0};
    /* 1. the rootfs boots its own init (Debian's dynamically linked busybox) */
    const char *a[] = {"boot", "--kernel", k, "--initrd", i, "--disk", d, "--run-dir", run, "--timeout", "200", NULL};
    CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
    char *lp = xasprintf("%s/console.log", run);
    char *log = file_text(lp);
    CHECK_STR_HAS(log, "rootfs-init: pid=");
    CHECK_STR_HAS(log, "init=/bin/busybox");
    CHECK_STR_HAS(log, "xz (XZ Utils) 5.");
    free(log);
    /* 2. a command in the rootfs, with ffwd-guest provided by the init hook */
    const char *b[] = {"boot", "--kernel", k, "--initrd", i, "--disk", d, "--run-dir", run, "--timeout", "200",
                       "--cmd", "ffwd-guest marker in-rootfs && /usr/bin/xz --version && ldd 2>/dev/null; "
                       "/lib/ld-linux-aarch64.so.1 --list /usr/bin/xz",
                       "--expect-marker", "in-rootfs", NULL};
    CHECK_MSG(ffwd(&o, b) == 0, "%s", o.s);
    log = file_text(lp);
    CHECK_STR_HAS(log, "liblzma.so.5");
    CHECK_STR_HAS(log, "libc.so.6");
    free(log);
    free(lp);
    rm_rf(run);
    free(run);
    free(k);
    free(i);
    free(d);
    sbuf_free(&o);
}

/* An error while working (1), or bad usage (2: a bad option value or a
 * combination that cannot work). */
static void expect_code(int code, const char *const *args, const char *msg)
{
    struct sbuf o = {0};
    int st = ffwd(&o, args);
    CHECK_MSG(st == code, "exit status %d (want %d) for '%s': %s", st, code, msg, o.s);
    CHECK_STR_HAS(o.s, "ffwd: error: ");
    CHECK_STR_HAS(o.s, msg);
    sbuf_free(&o);
}

static void expect_fail(const char *const *args, const char *msg) { expect_code(1, args, msg); }

static void t_bad_input(void)
{
    char *k = guest_path("kernel"), *d = guest_path("disk"), *i = guest_path("initrd");
    char *tmp = make_temp_dir("/tmp", "ffwd-it-bad-");
    const char *a1[] = {"boot", "--kernel", "/nonexistent/Image", "--disk", d, NULL};
    expect_fail(a1, "/nonexistent/Image");
    const char *a2[] = {"boot", "--kernel", "/bin/true", "--disk", d, NULL};
    expect_fail(a2, "not an arm64 Linux Image");
    const char *a3[] = {"boot", "--kernel", k, "--initrd", i, "--disk", "/nonexistent/disk.img", NULL};
    expect_fail(a3, "/nonexistent/disk.img");
    const char *a4[] = {"boot", "--kernel", k, "--disk", d, "--qemu", "/nonexistent/qemu-system-aarch64", NULL};
    expect_fail(a4, "QEMU not found");
    char *old = xasprintf("%s/qemu-old", tmp);
    write_file_atomic(old, "#!/bin/sh\necho 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)'\n", 69, 0755);
    const char *a5[] = {"boot", "--kernel", k, "--disk", d, "--qemu", old, NULL};
    expect_fail(a5, "needs QEMU 10");
    /* a QEMU that dies after the console connected (a plugin refusing its
     * arguments is loaded then; the device-tree dump before goes well): its own complaint, not a stale QMP socket's
     * "connection refused" after 30 s */
    char *dying = xasprintf("%s/qemu-dying", tmp);
    char *dsh = xasprintf("#!/bin/sh\ncase \"$*\" in --version*|*dumpdtb*) exec qemu-system-aarch64 \"$@\";; esac\n"
                          "exec qemu-system-aarch64 \"$@\" -plugin %s/plugins/libffwd-mem.so,no-such-option=1\n",
                          FFWD_BUILD_DIR);
    write_file_atomic(dying, dsh, strlen(dsh), 0755);
    const char *a5b[] = {"boot", "--kernel", k, "--initrd", i, "--disk", d, "--qemu", dying, "--cmd", "true", NULL};
    expect_fail(a5b, "QEMU exited at start");
    expect_fail(a5b, "bad option 'no-such-option=1'");
    free(dsh);
    free(dying);
    const char *a6[] = {"boot", "--smp", "17", NULL};
    expect_code(2, a6, "smp");
    const char *a7[] = {"boot", "--mem", "lots", NULL};
    expect_code(2, a7, "--mem");
    const char *a8[] = {"boot", "--kernel", k, "--disk", d, "--cmd", "true", NULL};
    expect_code(2, a8, "--initrd");
    /* an occupied socket in the run directory */
    char *run = xasprintf("%s/run", tmp);
    mkdir_p(run, 0755);
    char *sp = xasprintf("%s/qmp.sock", run);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sp);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0);
    const char *a9[] = {"boot", "--kernel", k, "--initrd", i, "--disk", d, "--run-dir", run, "--cmd", "true", NULL};
    expect_fail(a9, "in use");
    close(fd);
    /* a stale socket (nobody listening) is cleaned up and the boot works */
    const char *a10[] = {"boot", "--kernel", k, "--initrd", i, "--disk", d, "--run-dir", run, "--cmd", "exit 3", NULL};
    expect_fail(a10, "exited with status 3");
    CHECK(!pid_alive_in(run));
    /* usage errors exit 2 */
    struct sbuf o = {0};
    const char *u[] = {"boot", "--no-such-option", NULL};
    CHECK(ffwd(&o, u) == 2);
    const char *u2[] = {"frobnicate", NULL};
    CHECK(ffwd(&o, u2) == 2);
    CHECK_STR_HAS(o.s, "not an ffwd command");
    const char *h[] = {"boot", "--help", NULL};
    CHECK(ffwd(&o, h) == 0 && strstr(o.s, "--kernel IMAGE"));
    sbuf_free(&o);
    rm_rf(tmp);
    free(tmp);
    free(run);
    free(sp);
    free(old);
    free(k);
    free(d);
    free(i);
}

static void t_timeout(void)
{
    char *run = make_temp_dir("/tmp", "ffwd-it-to-");
    const char *a[] = {"boot", "--run-dir", run, "--cmd", "ffwd-guest marker other; sleep 600",
                       "--expect-marker", "never", "--timeout", "20", NULL};
    double t0 = now_sec();
    expect_fail(a, "did not reach marker 'never'");
    CHECK(now_sec() - t0 < 60);
    CHECK(!pid_alive_in(run)); /* QEMU is not left running */
    rm_rf(run);
    free(run);
}

static void t_smp_gicv2(void)
{
    const char *profiles[][4] = {{"--smp", "2", "--gic", "2"}, {"--smp", "2", "--gic", "3"}};
    for (int p = 0; p < 2; p++) {
        char *run = make_temp_dir("/tmp", "ffwd-it-smp-");
        const char *a[] = {"boot", "--run-dir", run, profiles[p][0], profiles[p][1], profiles[p][2], profiles[p][3],
                           "--cmd", "echo \"cpus $(nproc)\"; grep -m1 GIC /proc/interrupts; ffwd-matmul 64",
                           "--timeout", "200", NULL};
        struct sbuf o = {0};
        CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
        char *lp = xasprintf("%s/console.log", run);
        char *log = file_text(lp);
        CHECK_STR_HAS(log, "cpus 2");
        CHECK_STR_HAS(log, p == 0 ? "GICv2" : "GICv3");
        char *ref = host_checksum("matmul", "64");
        CHECK_STR_HAS(log, ref);
        free(ref);
        free(log);
        free(lp);
        sbuf_free(&o);
        rm_rf(run);
        free(run);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_integration NAME\n");
        return 2;
    }
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {{"guest_build", t_guest_build}, {"workloads", t_workloads}, {"demo", t_demo},
                 {"rootfs", t_rootfs},           {"bad_input", t_bad_input}, {"timeout", t_timeout},
                 {"smp_gicv2", t_smp_gicv2}};
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++)
        if (!strcmp(tests[i].name, argv[1])) {
            tests[i].fn();
            return test_done();
        }
    fprintf(stderr, "unknown test %s\n", argv[1]);
    return 2;
}
