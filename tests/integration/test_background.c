/*
 * `ffwd capture --background`: RAM saved by QEMU's background snapshot while
 * the guest runs on. A capture must still hold RAM as it was at ONE instant,
 * although the guest rewrites it during the whole save.
 *
 *   test_background consistent|disk
 *
 * The guest runs `ffwd-memtouch MIB spin`: pass after pass over a buffer, it
 * writes (magic, page index, pass) at the start of every page, in page
 * order. RAM taken at one instant shows exactly one cut: pages before the
 * writer hold pass g + 1, the rest pass g. A RAM image copied while the guest
 * writes (what a copy without the write protection would give: the save
 * takes seconds, a pass a fraction of one) shows passes far apart and many
 * cuts. Also: the capture verifies (sizes, CRCs), says how RAM was saved,
 * the guest is running afterwards, and a --stop-copy capture of the same
 * guest (the default) passes the same check.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "capture/capture.h"
#include "qemu/profile.h"
#include "qemu/qmp.h"
#include "tests/integration/helpers.h"

#define SPIN_MAGIC 0x6e6970736d6d7766ULL
#define SPIN_MIB 400

/* The spin pages of a RAM image: how many, the passes seen, the cuts. */
static void spin_pages(const char *ram, size_t *pages, uint64_t *gmin, uint64_t *gmax, size_t *cuts)
{
    size_t n = SPIN_MIB * 256;
    uint64_t *gen = xcalloc(n, sizeof *gen);
    int fd = open(ram, O_RDONLY);
    off_t len = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    const uint8_t *m = len > 0 ? mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    *pages = 0, *gmin = UINT64_MAX, *gmax = 0, *cuts = 0;
    for (off_t pos = 0; m != MAP_FAILED && pos < len;) {
        off_t d = lseek(fd, pos, SEEK_DATA), h;
        if (d < 0)
            break;
        h = lseek(fd, d, SEEK_HOLE);
        for (off_t o = d & ~(off_t)4095; o + 24 <= h; o += 4096) {
            uint64_t rec[3];
            memcpy(rec, m + o, sizeof rec);
            if (rec[0] == SPIN_MAGIC && rec[1] < n && rec[2] && !gen[rec[1]]) {
                gen[rec[1]] = rec[2];
                (*pages)++;
            }
        }
        pos = h;
    }
    for (size_t i = 0; i < n; i++) {
        if (!gen[i])
            continue;
        *gmin = gen[i] < *gmin ? gen[i] : *gmin;
        *gmax = gen[i] > *gmax ? gen[i] : *gmax;
        if (i && gen[i - 1] && gen[i - 1] != gen[i])
            (*cuts)++;
    }
    if (m != MAP_FAILED)
        munmap((void *)m, (size_t)len);
    if (fd >= 0)
        close(fd);
    free(gen);
}

/* A copy of the running guest's RAM that is surely not one instant,
 * whatever the load on the host: the whole file, then -- once the spinner
 * has written page 0 two passes further -- every other MiB again. (A plain
 * copy that overtakes a slow writer once shows one cut, like an instant.) */
static int torn_copy(const char *shm, const char *out)
{
    if (copy_file(shm, out, 0600) < 0)
        return -1;
    int fd = open(shm, O_RDONLY), o = open(out, O_WRONLY);
    off_t len = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    const uint8_t *m = len > 0 ? mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    int rc = m == MAP_FAILED || o < 0 ? -1 : 0;
    const uint64_t *p0 = NULL;
    for (off_t a = 0; rc == 0 && a + 24 <= len && !p0; a += 4096) {
        const uint64_t *r = (const uint64_t *)(m + a);
        if (r[0] == SPIN_MAGIC && r[1] == 0)
            p0 = r;
    }
    uint64_t g0 = p0 ? p0[2] : 0;
    for (double t0 = now_sec(); p0 && *(volatile const uint64_t *)(p0 + 2) < g0 + 2 && now_sec() - t0 < 120;)
        usleep(10000);
    if (!p0 || p0[2] < g0 + 2)
        rc = -1;
    for (off_t a = 0; rc == 0 && a < len; a += 2 << 20) {
        size_t n = len - a < (1 << 20) ? (size_t)(len - a) : (1 << 20);
        if (pwrite(o, m + a, n, a) != (ssize_t)n)
            rc = -1;
    }
    if (m != MAP_FAILED)
        munmap((void *)m, (size_t)len);
    if (fd >= 0)
        close(fd);
    if (o >= 0)
        close(o);
    return rc;
}

/* QEMU refuses a background snapshot where the host kernel cannot
 * write-protect this memory (userfaultfd): that host cannot run the test --
 * skipped, said loudly, not passed. */
static void skip_if_unsupported(int rc, const char *out, pid_t boot, const char *dir)
{
    if (rc == 0 || !strstr(out, "not supported by host kernel"))
        return;
    printf("SKIPPED: QEMU cannot take a background snapshot on this host: %s"
           "SKIPPED: nothing was checked; this is not a pass.\n",
           out);
    kill(boot, SIGTERM);
    waitpid(boot, NULL, 0);
    rm_rf(dir);
    exit(77);
}

static void check_capture(const char *what, const char *cap)
{
    char *ram = xasprintf("%s/ram0.bin", cap);
    size_t pages, cuts;
    uint64_t lo, hi;
    spin_pages(ram, &pages, &lo, &hi, &cuts);
    printf("%s: %zu spin pages, passes %llu..%llu, %zu cut(s)\n", what, pages, (unsigned long long)lo,
           (unsigned long long)hi, cuts);
    CHECK_MSG(pages == SPIN_MIB * 256, "%s: %zu of %d pages found", what, pages, SPIN_MIB * 256);
    CHECK_MSG(hi - lo <= 1 && cuts <= 1, "%s: not one instant: passes %llu..%llu, %zu cuts", what,
              (unsigned long long)lo, (unsigned long long)hi, cuts);
    CHECK_MSG(lo >= 1 && (cuts == 1) == (hi == lo + 1), "%s: passes %llu..%llu with %zu cuts", what,
              (unsigned long long)lo, (unsigned long long)hi, cuts);
    free(ram);
}

static void t_consistent(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-bg-");
    char *run = xasprintf("%s/run", dir), *cmd = xasprintf("ffwd-memtouch %d spin", SPIN_MIB);
    char *argv[] = {FFWD_BIN, "boot", "--run-dir", run, "--mem", "1G", "--timeout", "600", "--cmd", cmd, NULL};
    pid_t boot = ffwd_bg(argv);
    CHECK(wait_console(run, "memtouch: spinning", 120));
    struct sbuf o = {0};
    const char *bg[] = {"capture", run, "--name", "bg", "--background", NULL};
    int rc = ffwd(&o, bg);
    skip_if_unsupported(rc, o.s, boot, dir);
    CHECK_MSG(rc == 0, "ffwd capture --background failed: %s", o.s);
    printf("%s", o.s); /* "captured in T s (guest stopped S s)" */
    char *cap = xasprintf("%s/captures/bg", run), *cap2 = xasprintf("%s/captures/sc", run);
    char *mp = xasprintf("%s/manifest.json", cap);
    json_t *man = json_load_file(mp, 0, NULL);
    CHECK_STR_HAS(json_string_value(json_object_get(man, "ram_saved")), "background-snapshot");
    json_decref(man);
    free(mp);
    const char *in[] = {"inspect", cap, NULL};
    CHECK_MSG(ffwd(&o, in) == 0, "%s", o.s);
    check_capture("background", cap);
    /* the check has teeth: RAM copied while the guest writes (the RAM file
     * read as it is, in two sweeps) is not one instant */
    {
        char *rp = xasprintf("%s/ram.path", run), *torn = xasprintf("%s/torn.bin", dir);
        char *shm = file_text(rp);
        if (shm)
            shm[strcspn(shm, "\n")] = 0;
        CHECK(shm && torn_copy(shm, torn) == 0);
        size_t pages, cuts;
        uint64_t lo, hi;
        spin_pages(torn, &pages, &lo, &hi, &cuts);
        printf("copied while running: %zu spin pages, passes %llu..%llu, %zu cut(s)\n", pages,
               (unsigned long long)lo, (unsigned long long)hi, cuts);
        CHECK_MSG(pages == SPIN_MIB * 256 && (hi - lo > 1 || cuts > 1),
                  "a copy of the running guest's RAM looked like one instant: the check cannot tell");
        unlink(torn);
        free(rp), free(torn), free(shm);
    }
    /* the same check holds for the default (RAM copied while stopped) */
    const char *sc[] = {"capture", run, "--name", "sc", NULL};
    CHECK_MSG(ffwd(&o, sc) == 0, "%s", o.s);
    check_capture("stop-copy", cap2);
    /* and the guest went on: running, and its buffer moved past both captures */
    char *qs = xasprintf("%s/qmp-ctl.sock", run);
    struct qmp *q = qmp_connect(qs, 10);
    CHECK(q != NULL);
    if (q) {
        json_t *st = NULL;
        CHECK(qmp_cmd(q, "query-status", NULL, &st, 10) == 0 && json_is_true(json_object_get(st, "running")));
        json_decref(st);
        qmp_cmd(q, "quit", NULL, NULL, 10);
        qmp_close(q);
    }
    waitpid(boot, NULL, 0);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(qs), free(cap), free(cap2), free(cmd), free(run), free(dir);
}

/* A 16-bit ring index in a RAM image at guest physical address gpa. */
static long ring_idx(const char *ram, uint64_t gpa)
{
    int fd = open(ram, O_RDONLY);
    uint8_t b[2];
    long v = fd >= 0 && gpa >= VIRT_RAM_BASE && pread(fd, b, 2, (off_t)(gpa - VIRT_RAM_BASE)) == 2 ? b[0] | b[1] << 8
                                                                                                  : -1;
    if (fd >= 0)
        close(fd);
    return v;
}

/* A guest that reads its disk all the time (O_DIRECT, thousands of requests
 * a second), captured with --background six times: the disk delta and the virtio state ffwd takes
 * at its own stop must belong to the same instant as the CPU, device and RAM
 * state QEMU takes at its later one. Checked on the capture alone: the
 * device's ring indices (devices.json) equal the rings' in the RAM image. */
static void t_disk(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-bgdisk-");
    char *run = xasprintf("%s/run", dir);
    char *argv[] = {FFWD_BIN, "boot", "--run-dir", run, "--mem", "1G", "--timeout", "600", "--cmd",
                    "(while :; do dd if=/dev/vda of=/dev/null bs=4k count=4096 iflag=direct 2>/dev/null; done) & "
                    "ffwd-memtouch 256 spin",
                    NULL};
    pid_t boot = ffwd_bg(argv);
    CHECK(wait_console(run, "memtouch: spinning", 120));
    struct sbuf o = {0};
    for (int i = 0; i < 6; i++) {
        char *name = xasprintf("d%d", i);
        const char *bg[] = {"-v", "capture", run, "--name", name, "--background", NULL};
        int rc = ffwd(&o, bg);
        skip_if_unsupported(rc, o.s, boot, dir);
        CHECK_MSG(rc == 0, "ffwd capture --background failed: %s", o.s);
        const char *again = strstr(o.s, "between ffwd's stop and QEMU's");
        printf("capture %d: %s\n", i, again ? "the guest used its disk in between: taken again" : "first try");
        char *cap = xasprintf("%s/captures/%s", run, name), *dp = xasprintf("%s/devices.json", cap);
        char *ram = xasprintf("%s/ram0.bin", cap);
        json_t *devs = json_load_file(dp, 0, NULL);
        json_t *qu = json_array_get(json_object_get(json_array_get(json_object_get(devs, "virtio_mmio"), 0), "queues"), 0);
        uint64_t avail = strtoull(json_string_value(json_object_get(qu, "avail")) ?: "0", NULL, 16);
        uint64_t used = strtoull(json_string_value(json_object_get(qu, "used")) ?: "0", NULL, 16);
        long la = (long)json_integer_value(json_object_get(qu, "last_avail_idx"));
        long lu = (long)json_integer_value(json_object_get(qu, "used_idx"));
        long ra = ring_idx(ram, avail + 2), ru = ring_idx(ram, used + 2);
        printf("  device: last_avail %ld used %ld; RAM: avail %ld used %ld\n", la, lu, ra, ru);
        CHECK_MSG(qu && avail && used, "%s: no virtio queue", dp);
        CHECK_MSG(lu == ru && (la & 0xffff) == ra, "%s: device state (last_avail %ld, used %ld) from another instant "
                  "than RAM (avail %ld, used %ld)", name, la, lu, ra, ru);
        json_decref(devs);
        free(name), free(cap), free(dp), free(ram);
    }
    char *qs = xasprintf("%s/qmp-ctl.sock", run);
    struct qmp *q = qmp_connect(qs, 10);
    if (q) {
        qmp_cmd(q, "quit", NULL, NULL, 10);
        qmp_close(q);
    }
    waitpid(boot, NULL, 0);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(qs), free(run), free(dir);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(argv[1], "consistent"))
        t_consistent();
    else if (!strcmp(argv[1], "disk"))
        t_disk();
    else
        return 2;
    return test_done();
}
