/*
 * `ffwd capture --via-savevm`: the device state by QEMU's savevm into the
 * disk overlay, read back from that snapshot (capture/qcow2vm.c) -- the way
 * that works under record/replay, where a migration aborts QEMU.
 *
 *   test_savevm capture|replay
 *
 * The same stopped guest (it wrote its disk, it computes; its RTC on the
 * guest's clock) is captured by savevm and then by migration: every file of the two captures but the
 * manifest must be the same, byte for byte (the raw stream too), and no
 * snapshot may be left in the overlay. Also: a snapshot that is not there is
 * an error naming it, with nothing written; --via-savevm with --background
 * is refused; the guest finishes its work afterwards.
 *
 * replay: `ffwd boot --record` of a guest that writes and reads its disk
 * (O_DIRECT: every read waits for a completion at a host-time moment), then
 * `--replay`: the same instruction count (ffwd's icount plugin) and the same
 * console, kernel timestamps included; `ffwd capture` in the middle of the
 * replay (by savevm, chosen by itself) leaves it exact; a replay with
 * another command is refused, naming the argument.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>

#include "capture/qcow2vm.h"
#include "qemu/qmp.h"
#include "tests/integration/helpers.h"

static void t_capture(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-savevm-");
    char *run = xasprintf("%s/run", dir);
    /* the RTC on the guest's clock: QEMU's PL031 saves its offset to the
     * virtual clock computed from host time (pl031_pre_save), so two captures
     * of one stopped guest a host second apart would differ there */
    char *wrap = xasprintf("%s/qemu.sh", dir);
    const char *ws = "#!/bin/sh\nexec qemu-system-aarch64 \"$@\" -rtc clock=vm\n";
    CHECK(write_file_atomic(wrap, ws, strlen(ws), 0755) == 0);
    char *argv[] = {FFWD_BIN, "boot", "--qemu", wrap, "--run-dir", run, "--timeout", "300", "--cmd",
                    "dd if=/dev/urandom of=/root/f bs=4k count=64 2>/dev/null; sync; i=0; "
                    "while [ $i -lt 60 ]; do ffwd-matmul 200 > /tmp/o; i=$((i+1)); done; cat /tmp/o; "
                    "ffwd-guest marker finished",
                    "--expect-marker", "finished", NULL};
    pid_t boot = ffwd_bg(argv);
    CHECK(wait_console(run, "cmd-start", 60));
    usleep(1500000);
    struct sbuf o = {0};
    const char *bad[] = {"capture", run, "--via-savevm", "--background", NULL};
    CHECK(ffwd(&o, bad) == 2);
    CHECK_STR_HAS(o.s, "--via-savevm");
    const char *c1[] = {"capture", run, "--name", "s", "--stay-stopped", "--via-savevm", NULL};
    CHECK_MSG(ffwd(&o, c1) == 0, "%s", o.s);
    const char *c2[] = {"capture", run, "--name", "m", "--stay-stopped", NULL};
    CHECK_MSG(ffwd(&o, c2) == 0, "%s", o.s);
    static const char *const files[] = {"cpu0.json",  "gic.json",  "timer.json",  "devices.json",
                                        "ram0.bin",   "disk0.delta", "vmstate.bin"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *a = xasprintf("%s/captures/s/%s", run, files[i]), *b = xasprintf("%s/captures/m/%s", run, files[i]);
        CHECK_MSG(files_equal(a, b), "%s differs between the savevm and the migration capture", files[i]);
        free(a), free(b);
    }
    char *ov = xasprintf("%s/disk0.qcow2", run);
    char *ls[] = {"qemu-img", "snapshot", "-U", "-l", ov, NULL};
    struct sbuf so = {0};
    CHECK(run_cmd(ls, &(struct run_opts){.out = &so}) == 0);
    CHECK_MSG(!so.s || !strstr(so.s, "ffwd-capture"), "a snapshot is left in the overlay: %s", so.s);
    sbuf_free(&so);
    char *out = xasprintf("%s/vm.bin", dir);
    uint64_t n = 0;
    CHECK(qcow2_snapshot_vmstate(ov, "no-such", out, &n) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "no snapshot named 'no-such'");
    CHECK_STR_HAS(ffwd_errmsg(), ov);
    ffwd_clearerr();
    CHECK(!path_exists(out));
    free(out), free(ov);
    char *qs = xasprintf("%s/qmp-ctl.sock", run);
    struct qmp *q = qmp_connect(qs, 10);
    CHECK(q && qmp_cmd(q, "cont", NULL, NULL, 10) == 0);
    if (q)
        qmp_close(q);
    int st;
    waitpid(boot, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "boot exit %d", WEXITSTATUS(st));
    char *lp = xasprintf("%s/console.log", run), *log = file_text(lp), *ref = host_checksum("matmul", "200");
    CHECK_STR_HAS(log, ref);
    free(lp), free(log), free(ref), free(qs);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(run), free(dir), free(wrap);
}

#define RR_CMD                                                                                               \
    "dd if=/dev/urandom of=/root/f bs=64k count=64 2>/dev/null; sync; "                                      \
    "dd if=/dev/vda of=/dev/null bs=4k count=40 iflag=direct 2>/dev/null; ffwd-matmul 150; "                \
    "ffwd-guest marker rr-done; cat /proc/uptime"

static uint64_t icount_total(const char *path)
{
    json_t *j = json_load_file(path, 0, NULL);
    uint64_t n = j ? (uint64_t)json_integer_value(json_object_get(j, "total")) : 0;
    json_decref(j);
    return n;
}

static void t_replay(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-rr-");
    char *rec = xasprintf("%s/rec", dir), *r1 = xasprintf("%s/r1", dir), *r2 = xasprintf("%s/r2", dir);
    char *ic = xasprintf("%s/plugins/libffwd-icount.so", FFWD_BUILD_DIR);
    char *p1 = xasprintf("%s,out=%s/ic1.json", ic, dir), *p2 = xasprintf("%s,out=%s/ic2.json", ic, dir);
    struct sbuf o = {0};
    const char *a1[] = {"boot", "--record", rec, "--run-dir", r1, "--plugin", p1, "--cmd", RR_CMD,
                        "--expect-marker", "rr-done", NULL};
    CHECK_MSG(ffwd(&o, a1) == 0, "record: %s", o.s);
    char *rj = xasprintf("%s.json", rec);
    CHECK(path_exists(rec) && path_exists(rj));
    /* a replay must be the record's machine and command */
    const char *bad[] = {"boot", "--replay", rec, "--cmd", "true", NULL};
    CHECK(ffwd(&o, bad) == 2);
    CHECK_STR_HAS(o.s, "differs from the record's");
    /* the replay, captured while it runs */
    char *argv[] = {FFWD_BIN, "boot", "--replay", rec, "--run-dir", r2, "--plugin", p2, "--cmd", RR_CMD,
                    "--expect-marker", "rr-done", NULL};
    pid_t boot = ffwd_bg(argv);
    CHECK(wait_console(r2, "cmd-start", 120));
    const char *cap[] = {"capture", r2, "--name", "mid", "--out", dir, NULL};
    CHECK_MSG(ffwd(&o, cap) == 0, "capture during the replay: %s", o.s);
    char *mid = xasprintf("%s/mid", dir);
    const char *in[] = {"inspect", mid, NULL};
    CHECK_MSG(ffwd(&o, in) == 0, "%s", o.s);
    int st;
    waitpid(boot, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "replay exit %d", WEXITSTATUS(st));
    char *i1 = xasprintf("%s/ic1.json", dir), *i2 = xasprintf("%s/ic2.json", dir);
    uint64_t n1 = icount_total(i1), n2 = icount_total(i2);
    CHECK_MSG(n1 > 0 && n1 == n2, "record ran %llu instructions, the replay %llu", (unsigned long long)n1,
              (unsigned long long)n2);
    char *c1 = xasprintf("%s/console.log", r1), *c2 = xasprintf("%s/console.log", r2);
    CHECK_MSG(files_equal(c1, c2), "the replay's console differs from the record's");
    /* stops by QEMU's replay breakpoint: exactly at the count in the middle;
     * then one every million over the last 24 M, where the guest writes its
     * disk back and unmounts it: some stop with a request in flight (3 of 40
     * in one run), which a replay cannot be snapshotted with (savevm's drain
     * of the disk waited for ever, and so did QEMU's quit: the run failed
     * after 30 s). Such a stop moves on past the request, and says so. */
    char *caps = xasprintf("%s/caps", dir);
    struct sbuf tl = {0};
    sbuf_addf(&tl, "%llu", (unsigned long long)(n1 / 2));
    for (int k = 24; k >= 1; k--)
        sbuf_addf(&tl, ",%llu", (unsigned long long)(n1 - 1000000ULL * (unsigned)k));
    /* and one the guest never reaches: the replay ends with the breakpoint set */
    sbuf_addf(&tl, ",%llu", (unsigned long long)(n1 + 1000000000ULL));
    const char *a3[] = {"boot", "--replay", rec, "--cmd", RR_CMD, "--capture-at-insn", tl.s, "--capture-dir", caps,
                        "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, a3) == 0, "replay with stops: %s", o.s);
    char *mid_stop = xasprintf("instruction count %llu: stopped at %llu (overshoot 0", (unsigned long long)(n1 / 2),
                               (unsigned long long)(n1 / 2));
    CHECK_STR_HAS(o.s, mid_stop);
    char *c_mid = xasprintf("%s/insn-%llu", caps, (unsigned long long)(n1 / 2));
    CHECK_MSG(path_exists(c_mid), "capture %s missing", c_mid);
    unsigned moved = 0, taken = 0;
    for (const char *p = o.s; (p = strstr(p, "was in flight there")); p++)
        moved++;
    for (const char *p = o.s; (p = strstr(p, ": stopped at ")); p++)
        taken++;
    CHECK_MSG(taken == 25, "%u of 25 stops taken: %s", taken, o.s);
    printf("stops near the end moved past a disk request in flight: %u of 24\n", moved);
    rm_rf(caps);
    free(caps), free(mid_stop), free(c_mid);
    sbuf_free(&tl);
    free(c1), free(c2), free(i1), free(i2), free(mid), free(rj);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(rec), free(r1), free(r2), free(ic), free(p1), free(p2), free(dir);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(argv[1], "capture"))
        t_capture();
    else if (!strcmp(argv[1], "replay"))
        t_replay();
    else
        return 2;
    return test_done();
}
