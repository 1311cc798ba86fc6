/*
 * Capture tests against the real QEMU and the real demo guest.
 *
 *   test_capture NAME    NAME: checkpoint ondemand faults
 *
 * checkpoint  `ffwd-guest checkpoint` under `ffwd boot --capture-dir`: register
 *             sanity, the guest finishes its workload with the right checksum
 * ondemand    `ffwd capture --stay-stopped` on a running guest, then second
 *             sources on the same stopped VM: RAM = QMP pmemsave, registers =
 *             HMP `info registers`, GIC = 32-bit MMIO reads (HMP xp), virtio
 *             ring = xp of QueuePFN; a second capture of the stopped VM is
 *             identical; the guest resumes and finishes correctly
 * insn        --capture-at-insn: stops at most one block past each target, exact
 *             counts in the manifest, the workload still computes the right answer
 * determinism two --deterministic runs (no disk: ffwd.root=none) to the same
 *             count give identical CPU, GIC, timer, UART/RTC state and RAM
 * faults      corrupt/missing files, QEMU gone, QMP silent, disk full: clear
 *             errors, nothing left that looks like a capture
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "capture/capture.h"
#include "qemu/profile.h"
#include "qemu/qmp.h"
#include "tests/integration/helpers.h"

static uint64_t hexv(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? strtoull(s, NULL, 16) : ~0ULL;
}

static uint64_t sysreg(json_t *cpu, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(cpu, "sysregs"), i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "name")), name))
            return hexv(r, "value");
    }
    return ~0ULL;
}

static json_t *load(const char *dir, const char *f)
{
    char *p = xasprintf("%s/%s", dir, f);
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    CHECK_MSG(j != NULL, "cannot load %s/%s", dir, f);
    return j;
}

/* Architectural sanity of one vCPU. */
static void check_cpu_sane(json_t *c)
{
    uint64_t pc = hexv(c, "pc"), sp = hexv(c, "sp"), pstate = hexv(c, "pstate");
    int el = (int)json_integer_value(json_object_get(c, "el"));
    CHECK(json_is_true(json_object_get(c, "aarch64")));
    CHECK_MSG(el == 0 || el == 1, "EL %d", el);
    CHECK_MSG((sp & 15) == 0, "SP 0x%llx not 16-byte aligned", (unsigned long long)sp);
    CHECK_MSG((sysreg(c, "SCTLR_EL1") & 1) == 1, "SCTLR_EL1.M clear");
    /* kernel text (TTBR1 half, nokaslr: 0xffff8000...) or a user program */
    CHECK_MSG(el == 1 ? pc >= 0xffff800000000000ULL : pc < 0x0001000000000000ULL, "PC 0x%llx at EL%d",
              (unsigned long long)pc, el);
    CHECK_MSG(((pstate >> 2) & 3) == (uint64_t)el, "PSTATE.EL");
    CHECK(sysreg(c, "CNTFRQ_EL0") == 62500000);
    CHECK(sysreg(c, "TTBR1_EL1") != 0 && sysreg(c, "TCR_EL1") != 0 && sysreg(c, "VBAR_EL1") >= 0xffff800000000000ULL);
    CHECK(json_array_size(json_object_get(c, "x")) == 31 && json_array_size(json_object_get(c, "v")) == 32);
}

static void t_checkpoint(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-ck-");
    char *run = xasprintf("%s/run", dir), *caps = xasprintf("%s/caps", dir);
    struct sbuf o = {0};
    const char *a[] = {"boot", "--run-dir", run, "--capture-dir", caps, "--cmd",
                       "ffwd-guest counter; ffwd-guest checkpoint before-matmul && ffwd-guest counter && "
                       "ffwd-matmul 128 && ffwd-guest marker after",
                       "--expect-marker", "after", "--timeout", "200", NULL};
    CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
    char *cap = xasprintf("%s/before-matmul", caps);
    CHECK_STR_HAS(o.s, cap);
    const char *in[] = {"inspect", cap, NULL};
    CHECK_MSG(ffwd(&o, in) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "trigger checkpoint before-matmul");
    CHECK_STR_HAS(o.s, "MMU on");
    json_t *m = load(cap, "manifest.json");
    CHECK(m && !strcmp(json_string_value(json_object_get(m, "format")), "ffwd-capture"));
    json_t *c = load(cap, "cpu0.json");
    if (c)
        check_cpu_sane(c);
    json_t *g = load(cap, "gic.json");
    CHECK(g && json_integer_value(json_object_get(g, "version")) == 3);
    /* Linux enabled group 1 and the ARE bits; the CPU interface is live */
    CHECK(g && (hexv(json_object_get(g, "distributor"), "ctlr") & 0x12) == 0x12);
    json_t *ci = json_array_get(json_object_get(g, "cpu_interfaces"), 0);
    CHECK(ci && hexv(ci, "pmr_el1") != 0);
    json_t *t = load(cap, "timer.json");
    CHECK(t && json_integer_value(json_object_get(t, "counter")) > 0);
    /* second source for the counter: the guest read CNTVCT_EL0 just before
     * asking for the checkpoint and right after it returned */
    {
        char *lp0 = xasprintf("%s/console.log", run);
        char *log0 = file_text(lp0);
        unsigned long long v1 = 0, v2 = 0, f1 = 0;
        char *p1 = strstr(log0, "cntvct="), *p2 = p1 ? strstr(p1 + 1, "cntvct=") : NULL;
        if (p1 && p2 && sscanf(p1, "cntvct=%llu cntfrq=%llu", &v1, &f1) == 2 && sscanf(p2, "cntvct=%llu", &v2) == 1) {
            long long cnt = t ? json_integer_value(json_object_get(t, "counter")) : 0;
            CHECK_MSG((unsigned long long)cnt > v1 && (unsigned long long)cnt < v2,
                      "captured counter %lld not between the guest's reads %llu and %llu", cnt, v1, v2);
            CHECK(t && f1 == (unsigned long long)json_integer_value(json_object_get(t, "cntfrq")));
        } else
            CHECK(!"the guest did not print its counter twice");
        free(log0);
        free(lp0);
    }
    json_t *d = load(cap, "devices.json");
    json_t *v = json_array_get(json_object_get(d, "virtio_mmio"), 0);
    CHECK(v && json_integer_value(json_object_get(v, "version")) == 1 &&
          json_integer_value(json_object_get(v, "device_id")) == 2);
    json_t *q = json_array_get(json_object_get(v, "queues"), 0);
    CHECK(q && json_integer_value(json_object_get(q, "size")) == 1024);
    CHECK(q && hexv(q, "desc") == hexv(v, "queue_pfn") * 4096);
    CHECK(q && json_integer_value(json_object_get(q, "avail_idx_in_ram")) ==
                   json_integer_value(json_object_get(q, "last_avail_idx")));
    /* the guest went on after the capture and computed the right answer */
    char *lp = xasprintf("%s/console.log", run);
    char *log = file_text(lp), *ref = host_checksum("matmul", "128");
    CHECK_STR_HAS(log, ref);
    free(ref);
    free(log);
    free(lp);
    json_decref(m);
    json_decref(c);
    json_decref(g);
    json_decref(t);
    json_decref(d);
    free(cap);
    sbuf_free(&o);
    rm_rf(dir);
    free(dir);
    free(run);
    free(caps);
}

/* ---- on demand, with second sources ---- */
static json_t *hmp(struct qmp *q, const char *cmd)
{
    json_t *r = NULL;
    CHECK_MSG(qmp_cmd(q, "human-monitor-command", json_pack("{s:s}", "command-line", cmd), &r, 20) == 0, "%s: %s",
              cmd, ffwd_errmsg());
    return r;
}

static uint32_t xp32(struct qmp *q, uint64_t addr)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "xp /1wx 0x%llx", (unsigned long long)addr);
    json_t *r = hmp(q, cmd);
    const char *s = json_string_value(r), *c = s ? strchr(s, ':') : NULL;
    uint32_t v = c ? (uint32_t)strtoul(c + 1, NULL, 16) : 0xdeadbeef;
    json_decref(r);
    return v;
}

static void t_ondemand(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-od-");
    char *run = xasprintf("%s/run", dir);
    /* a guest that computes for a while (~5 s: the capture lands while it runs), then reports */
    char *argv[] = {FFWD_BIN, "boot", "--run-dir", run, "--timeout", "300", "--cmd",
                    "i=0; while [ $i -lt 100 ]; do ffwd-matmul 200 > /tmp/o; i=$((i+1)); done; cat /tmp/o; "
                    "ffwd-guest marker finished",
                    "--expect-marker", "finished", NULL};
    pid_t boot = ffwd_bg(argv);
    /* wait until the workload runs */
    char *lp = xasprintf("%s/console.log", run);
    CHECK(wait_console(run, "cmd-start", 60));
    usleep(500000);
    struct sbuf o = {0};
    const char *c1[] = {"capture", run, "--name", "a", "--stay-stopped", NULL};
    CHECK_MSG(ffwd(&o, c1) == 0, "%s", o.s);
    char *cap = xasprintf("%s/captures/a", run), *cap2 = xasprintf("%s/captures/b", run);
    char *qs = xasprintf("%s/qmp-ctl.sock", run);
    struct qmp *q = qmp_connect(qs, 10);
    CHECK_MSG(q != NULL, "%s", ffwd_errmsg());
    if (q) {
        json_t *st = NULL;
        CHECK(qmp_cmd(q, "query-status", NULL, &st, 10) == 0 && !json_is_true(json_object_get(st, "running")));
        json_decref(st);
        /* RAM: QMP pmemsave of the same stopped VM */
        char *pm = xasprintf("%s/pmemsave.bin", dir);
        CHECK(qmp_cmd(q, "pmemsave", json_pack("{s:I,s:I,s:s}", "val", (json_int_t)VIRT_RAM_BASE, "size",
                                               (json_int_t)(512 << 20), "filename", pm),
                      NULL, 60) == 0);
        char *rb = xasprintf("%s/ram0.bin", cap);
        CHECK_MSG(files_equal(pm, rb), "ram0.bin differs from pmemsave");
        free(rb);
        unlink(pm);
        free(pm);
        /* registers: HMP info registers */
        json_t *cpu = load(cap, "cpu0.json");
        json_t *ir = hmp(q, "info registers");
        const char *s = json_string_value(ir);
        if (cpu && s) {
            check_cpu_sane(cpu);
            char want[64];
            snprintf(want, sizeof want, "PC=%016llx", (unsigned long long)hexv(cpu, "pc"));
            CHECK_STR_HAS(s, want);
            snprintf(want, sizeof want, "SP=%016llx", (unsigned long long)hexv(cpu, "sp"));
            CHECK_STR_HAS(s, want);
            snprintf(want, sizeof want, "PSTATE=%08llx", (unsigned long long)hexv(cpu, "pstate"));
            CHECK_STR_HAS(s, want);
            for (int r = 0; r < 31; r++) {
                snprintf(want, sizeof want, "X%02d=%016llx", r,
                         (unsigned long long)strtoull(json_string_value(json_array_get(json_object_get(cpu, "x"), r)),
                                                      NULL, 16));
                CHECK_STR_HAS(s, want);
            }
        }
        json_decref(ir);
        /* GIC: 32-bit MMIO reads of the distributor and redistributor */
        json_t *g = load(cap, "gic.json");
        if (g) {
            json_t *dist = json_object_get(g, "distributor");
            CHECK(xp32(q, VIRT_GICD_BASE) == (uint32_t)hexv(dist, "ctlr"));
            CHECK(xp32(q, VIRT_GICD_BASE + 0x104) ==
                  (uint32_t)strtoull(json_string_value(json_array_get(json_object_get(dist, "isenabler"), 1)), NULL,
                                     16));
            json_t *r0 = json_array_get(json_object_get(g, "redistributors"), 0);
            CHECK(xp32(q, VIRT_GICR_BASE + 0x10000 + 0x100) == (uint32_t)hexv(r0, "isenabler0"));
            CHECK(xp32(q, VIRT_GICR_BASE + 0x14) == (uint32_t)hexv(r0, "waker"));
        }
        json_decref(g);
        /* virtio transport */
        json_t *d = load(cap, "devices.json");
        json_t *v = json_array_get(json_object_get(d, "virtio_mmio"), 0);
        CHECK(v && xp32(q, 0x0a003e00 + 0x40) == (uint32_t)hexv(v, "queue_pfn"));
        CHECK(v && xp32(q, 0x0a003e00) == 0x74726976);
        json_decref(d);
        /* a paused-after-capture VM (QEMU "postmigrate") cannot be captured again
         * before it runs: clear error; an existing name is refused first */
        qmp_close(q);
        const char *c2[] = {"capture", run, "--name", "b", "--stay-stopped", NULL};
        CHECK(ffwd(&o, c2) == 1);
        CHECK_STR_HAS(o.s, "resume");
        CHECK(!path_exists(cap2));
        const char *c3[] = {"capture", run, "--name", "a", NULL};
        CHECK(ffwd(&o, c3) == 1);
        CHECK_STR_HAS(o.s, "already exists");
        json_decref(cpu);
        q = qmp_connect(qs, 10);
        CHECK(q && qmp_cmd(q, "cont", NULL, NULL, 10) == 0);
        qmp_close(q);
    }
    int st;
    waitpid(boot, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "boot exit %d", WEXITSTATUS(st));
    char *log = file_text(lp), *ref = host_checksum("matmul", "200");
    CHECK_STR_HAS(log, ref);
    free(ref);
    free(log);
    free(lp);
    free(qs);
    free(cap);
    free(cap2);
    sbuf_free(&o);
    rm_rf(dir);
    free(dir);
    free(run);
}

/* ---- faults ---- */
static void *silent_qmp(void *arg)
{
    int ls = *(int *)arg;
    int c = accept(ls, NULL, NULL); /* accept, then say nothing */
    sleep(6);
    if (c >= 0)
        close(c);
    return NULL;
}

static bool no_capture_left(const char *out, const char *name)
{
    char *p = xasprintf("%s/%s", out, name);
    bool gone = !path_exists(p);
    free(p);
    struct sbuf l = {0};
    char *argv[] = {"ls", "-A", (char *)out, NULL};
    run_cmd(argv, &(struct run_opts){.out = &l, .quiet = true});
    bool no_tmp = !l.s || !strstr(l.s, ".capture-tmp-");
    sbuf_free(&l);
    return gone && no_tmp;
}

static void t_faults(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-ft-");
    char *run = xasprintf("%s/run", dir), *caps = xasprintf("%s/caps", dir);
    struct sbuf o = {0};
    const char *a[] = {"boot", "--run-dir", run, "--capture-dir", caps, "--cmd", "ffwd-guest checkpoint good",
                       NULL};
    CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
    char *good = xasprintf("%s/good", caps);

    /* corrupt captures are refused with the file named */
    char *bad = xasprintf("%s/bad", dir);
    char *cp[] = {"cp", "-a", good, bad, NULL};
    CHECK(run_cmd(cp, NULL) == 0);
    char *mp = xasprintf("%s/manifest.json", bad);
    write_file_atomic(mp, "{\"format\": \"ffwd-capture\", \"version\": 1, \"files\": {", 51, 0644);
    const char *in[] = {"inspect", bad, NULL};
    CHECK(ffwd(&o, in) == 1);
    CHECK_STR_HAS(o.s, "manifest.json");
    char *cp2[] = {"cp", "-a", xasprintf("%s/manifest.json", good), mp, NULL};
    CHECK(run_cmd(cp2, NULL) == 0);
    free(cp2[2]);
    char *cj = xasprintf("%s/cpu0.json", bad);
    size_t n;
    char *txt = read_file(cj, &n);
    if (txt) {
        txt[n / 2] ^= 1; /* one flipped bit */
        write_file_atomic(cj, txt, n, 0644);
    }
    free(txt);
    CHECK(ffwd(&o, in) == 1);
    CHECK_STR_HAS(o.s, "cpu0.json");
    CHECK_STR_HAS(o.s, "CRC");
    char *cp3[] = {"cp", "-a", xasprintf("%s/cpu0.json", good), cj, NULL};
    CHECK(run_cmd(cp3, NULL) == 0);
    free(cp3[2]);
    char *rb = xasprintf("%s/ram0.bin", bad);
    CHECK(truncate(rb, 4096) == 0);
    CHECK(ffwd(&o, in) == 1);
    CHECK_STR_HAS(o.s, "ram0.bin");
    unlink(mp);
    CHECK(ffwd(&o, in) == 1);
    CHECK_STR_HAS(o.s, "no manifest.json");
    const char *gi[] = {"inspect", good, NULL};
    CHECK_MSG(ffwd(&o, gi) == 0, "%s", o.s);

    /* QEMU gone: the run directory's QEMU has exited */
    const char *gone[] = {"capture", run, "--out", caps, "--name", "x", NULL};
    CHECK(ffwd(&o, gone) == 1);
    CHECK_STR_HAS(o.s, "still running");
    CHECK(no_capture_left(caps, "x"));

    /* QMP that never answers: timeout, clear error */
    char *fake = xasprintf("%s/fake", dir);
    mkdir_p(fake, 0755);
    char *pj = xasprintf("%s/profile.json", run), *pj2 = xasprintf("%s/profile.json", fake);
    copy_file(pj, pj2, 0644);
    char *rp = xasprintf("%s/ram.path", fake);
    write_file_atomic(rp, "/nonexistent\n", 13, 0644);
    char *sp = xasprintf("%s/qmp-ctl.sock", fake);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sp);
    CHECK(bind(ls, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(ls, 1) == 0);
    pthread_t th;
    pthread_create(&th, NULL, silent_qmp, &ls);
    const char *silent[] = {"capture", fake, "--out", caps, "--name", "y", "--timeout", "2", NULL};
    double t0 = now_sec();
    CHECK(ffwd(&o, silent) == 1);
    CHECK(now_sec() - t0 < 10);
    CHECK_STR_HAS(o.s, "QMP");
    CHECK(no_capture_left(caps, "y"));
    pthread_join(th, NULL);
    close(ls);

    /* QEMU killed in the middle of captures: every attempt either completes
     * or leaves nothing that looks like a capture */
    char *run2 = xasprintf("%s/run2", dir);
    char *bargv[] = {FFWD_BIN, "boot", "--run-dir", run2, "--cmd", "while true; do ffwd-matmul 100 >/dev/null; done",
                     "--timeout", "120", NULL};
    pid_t boot = ffwd_bg(bargv);
    char *lp2 = xasprintf("%s/console.log", run2);
    CHECK(wait_console(run2, "cmd-start", 60));
    /* disk full (file size limit) while writing RAM: clean failure, guest resumes */
    pid_t lim = fork();
    if (lim == 0) {
        struct rlimit rl = {1 << 20, 1 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
        signal(SIGXFSZ, SIG_IGN);
        char *ca[] = {FFWD_BIN, "capture", run2, "--out", caps, "--name", "full", NULL};
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        execv(ca[0], ca);
        _exit(127);
    }
    int st;
    waitpid(lim, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "disk-full capture: status 0x%x", st);
    CHECK(no_capture_left(caps, "full"));
    char *qs = xasprintf("%s/qmp-ctl.sock", run2);
    struct qmp *q = qmp_connect(qs, 5);
    json_t *sj = NULL;
    CHECK(q && qmp_cmd(q, "query-status", NULL, &sj, 5) == 0 && json_is_true(json_object_get(sj, "running")));
    json_decref(sj);
    qmp_close(q);
    free(qs);
    /* now kill QEMU while a capture runs */
    char *pidf = xasprintf("%s/qemu.pid", run2);
    char *ps = read_file(pidf, NULL);
    pid_t qpid = ps ? (pid_t)atol(ps) : 0;
    free(ps);
    pid_t cap = fork();
    if (cap == 0) {
        char *ca[] = {FFWD_BIN, "capture", run2, "--out", caps, "--name", "killed", NULL};
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(nul, 2);
        execv(ca[0], ca);
        _exit(127);
    }
    usleep(30000);
    if (qpid > 0)
        kill(qpid, SIGKILL);
    waitpid(cap, &st, 0);
    char *kp = xasprintf("%s/killed", caps);
    if (path_exists(kp)) { /* it finished before the kill: then it must be complete */
        const char *ik[] = {"inspect", kp, NULL};
        CHECK_MSG(ffwd(&o, ik) == 0, "%s", o.s);
        CHECK(no_capture_left(caps, "nothing-else"));
    } else {
        CHECK(no_capture_left(caps, "killed"));
        char *argv2[] = {"ls", "-la", caps, NULL};
        if (!no_capture_left(caps, "killed"))
            run_cmd(argv2, NULL);
    }
    waitpid(boot, &st, 0);
    CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) == 0)); /* the boot reports its QEMU's death */
    free(kp);
    free(pidf);
    free(lp2);
    free(run2);
    free(sp);
    free(rp);
    free(pj);
    free(pj2);
    free(fake);
    free(rb);
    free(cj);
    free(mp);
    free(bad);
    free(good);
    sbuf_free(&o);
    rm_rf(dir);
    free(dir);
    free(run);
    free(caps);
}

/* SIGKILL / SIGINT of `ffwd capture` at several moments: the guest runs on
 * to its end, no temporary directory stays, the next capture works. */
static void t_kill(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-kill-");
    char *run = xasprintf("%s/run", dir), *caps = xasprintf("%s/caps", dir);
    char *bargv[] = {FFWD_BIN, "boot", "--run-dir", run, "--cmd",
                     "i=0; while [ $i -lt 250 ]; do ffwd-matmul 40 >/dev/null; sleep 0.1; i=$((i+1)); done; "
                     "ffwd-guest marker survived",
                     "--expect-marker", "survived", "--timeout", "300", NULL};
    pid_t boot = ffwd_bg(bargv);
    CHECK(wait_console(run, "cmd-start", 60));
    const int delays_us[] = {20000, 80000, 150000, 250000};
    const int sigs[] = {SIGKILL, SIGKILL, SIGINT, SIGKILL};
    for (size_t i = 0; i < sizeof delays_us / sizeof *delays_us; i++) {
        char *ca[] = {FFWD_BIN, "capture", run, "--out", caps, NULL};
        pid_t c = ffwd_bg(ca);
        usleep((useconds_t)delays_us[i]);
        kill(c, sigs[i]);
        int st;
        waitpid(c, &st, 0);
        usleep(1500000); /* the guardian resumes the guest and cleans up */
        /* nothing half-written: only complete captures (with a manifest) */
        DIR *d = opendir(caps);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
                continue;
            CHECK_MSG(e->d_name[0] != '.', "a temporary %s/%s stayed after killing ffwd capture", caps, e->d_name);
            char *m = xasprintf("%s/%s/manifest.json", caps, e->d_name);
            CHECK_MSG(path_exists(m), "%s/%s has no manifest", caps, e->d_name);
            free(m);
        }
        if (d)
            closedir(d);
        char *qs = xasprintf("%s/qmp-ctl.sock", run);
        struct qmp *q = NULL;
        json_t *sj = NULL;
        for (int t = 0; t < 50; t++) { /* the monitor takes one client: the guardian may still hold it */
            if ((q = qmp_connect(qs, 2)) && qmp_cmd(q, "query-status", NULL, &sj, 5) == 0)
                break;
            if (q)
                qmp_close(q);
            q = NULL;
            usleep(200000);
        }
        CHECK_MSG(q && sj && json_is_true(json_object_get(sj, "running")),
                  "the guest is not running after ffwd capture got signal %d after %d us: %s", sigs[i],
                  delays_us[i], sj ? json_string_value(json_object_get(sj, "status")) : ffwd_errmsg());
        json_decref(sj);
        if (q)
            qmp_close(q);
        free(qs);
    }
    struct sbuf o = {0};
    const char *ok[] = {"capture", run, "--out", caps, "--name", "after", NULL};
    CHECK_MSG(ffwd(&o, ok) == 0, "a capture after the kills: %s", o.s);
    int st;
    waitpid(boot, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the guest did not run to its end after the kills (0x%x)", st);
    /* ffwd convert killed at any moment: no checkpoint that looks complete
     * and is not, and the next conversion cleans up and succeeds */
    char *cap = xasprintf("%s/after", caps), *cks = xasprintf("%s/cks", dir), *ck = xasprintf("%s/ck", cks);
    mkdir_p(cks, 0755);
    const int cdelays_us[] = {30000, 200000, 600000};
    for (size_t i = 0; i < 3; i++) {
        char *cv[] = {FFWD_BIN, "convert", cap, "--out", ck, NULL};
        pid_t c = ffwd_bg(cv);
        usleep((useconds_t)cdelays_us[i]);
        kill(c, SIGKILL);
        waitpid(c, &st, 0);
        if (path_exists(ck)) { /* it finished before the kill: complete */
            char *m = xasprintf("%s/m5.cpt", ck), *inf = xasprintf("%s/ffwd-checkpoint.json", ck);
            CHECK_MSG(path_exists(m) && path_exists(inf), "%s is there but incomplete", ck);
            free(m), free(inf);
            rm_rf(ck);
        }
    }
    const char *cv[] = {"convert", cap, "--out", ck, NULL};
    sbuf_free(&o);
    CHECK_MSG(ffwd(&o, cv) == 0, "a conversion after the kills: %s", o.s);
    DIR *cd = opendir(cks);
    for (struct dirent *e; cd && (e = readdir(cd));)
        CHECK_MSG(e->d_name[0] != '.' || !e->d_name[1] || !strcmp(e->d_name, ".."),
                  "a killed conversion's %s/%s stayed after the next one", cks, e->d_name);
    if (cd)
        closedir(cd);
    free(cap), free(cks), free(ck);
    sbuf_free(&o);
    if (!t_fail)
        rm_rf(dir);
    free(run), free(caps), free(dir);
}

static void t_insn(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-in-");
    char *run = xasprintf("%s/run", dir), *caps = xasprintf("%s/caps", dir);
    struct sbuf o = {0};
    const char *a[] = {"boot", "--run-dir", run, "--capture-dir", caps, "--capture-at-insn",
                       "1250000000,1400000000", "--cmd", "ffwd-matmul 300", "--timeout", "300", NULL};
    CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
    const char *targets[] = {"1250000000", "1400000000"};
    for (int i = 0; i < 2; i++) {
        char *cap = xasprintf("%s/insn-%s", caps, targets[i]);
        json_t *m = load(cap, "manifest.json");
        json_t *tot = json_object_get(json_object_get(m, "instructions"), "total");
        CHECK(json_is_integer(tot));
        long long over = json_integer_value(tot) - atoll(targets[i]);
        /* a translation block holds at most 512 instructions */
        CHECK_MSG(over >= 0 && over < 512, "overshoot %lld at %s", over, targets[i]);
        printf("target %s: stopped at %lld (overshoot %lld)\n", targets[i], json_integer_value(tot), over);
        CHECK(!strcmp(json_string_value(json_object_get(json_object_get(m, "trigger"), "kind")), "icount"));
        json_t *c = load(cap, "cpu0.json");
        if (c)
            check_cpu_sane(c);
        json_decref(c);
        json_decref(m);
        free(cap);
    }
    CHECK_STR_HAS(o.s, "overshoot");
    char *lp = xasprintf("%s/console.log", run);
    char *log = file_text(lp), *ref = host_checksum("matmul", "300");
    CHECK_STR_HAS(log, ref);
    /* two vCPUs: counting all of them together, and one of them alone */
    const char *scopes[] = {"all", "vcpu1"}, *tgt[] = {"1300000000", "150000000"};
    for (int k = 0; k < 2; k++) {
        char *r2 = xasprintf("%s/smp-%s", dir, scopes[k]);
        const char *b[] = {"boot", "--smp", "2", "--insn-scope", scopes[k], "--run-dir", r2, "--capture-at-insn",
                           tgt[k], "--cmd", "ffwd-matmul 300 & ffwd-matmul 300; wait", "--timeout", "300", NULL};
        CHECK_MSG(ffwd(&o, b) == 0, "%s", o.s);
        const char *st = strstr(o.s, "stopped at ");
        long long at = st ? atoll(st + 11) : -1, over = at - atoll(tgt[k]);
        /* a held block per vCPU at most */
        CHECK_MSG(over >= 0 && over < 1024, "scope %s: target %s, stopped at %lld", scopes[k], tgt[k], at);
        printf("2 vCPUs, scope %s: target %s, stopped at %lld (overshoot %lld)\n", scopes[k], tgt[k], at, over);
        free(r2);
    }
    /* more stops than the fixed arrays of an earlier ffwd held (256 per run):
     * every one is made and reported */
    struct sbuf many = {0};
    for (int i = 0; i < 300; i++)
        sbuf_addf(&many, "%s%llu", i ? "," : "", 1250000000ULL + 200000ULL * (unsigned long long)i);
    const char *m[] = {"boot", "--capture-at-insn", many.s, "--cmd", "ffwd-matmul 300", "--timeout", "300", NULL};
    sbuf_free(&o);
    CHECK_MSG(ffwd(&o, m) == 0, "%s", o.s);
    size_t reported = 0;
    for (const char *q = o.s; (q = strstr(q, "(overshoot ")); q++)
        reported++;
    /* each stop: a progress line and a summary line */
    CHECK_MSG(reported >= 300 && strstr(o.s, "instruction count 1309800000: stopped at"),
              "%zu stop lines for 300 targets", reported);
    sbuf_free(&many);
    /* the trigger needs TCG */
    const char *kvm[] = {"boot", "--accel", "kvm", "--capture-at-insn", "5", NULL};
    CHECK(ffwd(&o, kvm) == 2); /* a combination that cannot work: usage */
    CHECK_STR_HAS(o.s, "tcg");
    free(ref);
    free(log);
    free(lp);
    sbuf_free(&o);
    rm_rf(dir);
    free(dir);
    free(run);
    free(caps);
}

static void t_determinism(void)
{
    char *k = guest_path("kernel"), *i = guest_path("initrd");
    char *dir = make_temp_dir("/tmp", "ffwd-it-det-");
    char *cap[2];
    for (int r = 0; r < 2; r++) {
        char *run = xasprintf("%s/run%d", dir, r), *caps = xasprintf("%s/caps%d", dir, r);
        struct sbuf o = {0};
        const char *a[] = {"boot", "--deterministic", "--kernel", k, "--initrd", i, "--append", "ffwd.root=none",
                           "--run-dir", run, "--capture-dir", caps, "--capture-at-insn", "1100000000", "--cmd",
                           "ffwd-sort 100000", "--timeout", "300", NULL};
        CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
        cap[r] = xasprintf("%s/insn-1100000000", caps);
        sbuf_free(&o);
        free(run);
        free(caps);
    }
    const char *same[] = {"cpu0.json", "gic.json", "timer.json", "ram0.bin"};
    for (int f = 0; f < 4; f++) {
        char *x = xasprintf("%s/%s", cap[0], same[f]), *y = xasprintf("%s/%s", cap[1], same[f]);
        CHECK_MSG(files_equal(x, y), "%s differs between two deterministic runs", same[f]);
        free(x);
        free(y);
    }
    json_t *d0 = load(cap[0], "devices.json"), *d1 = load(cap[1], "devices.json");
    CHECK(d0 && d1 && json_equal(json_object_get(d0, "pl011"), json_object_get(d1, "pl011")));
    CHECK(d0 && d1 && json_equal(json_object_get(d0, "pl031"), json_object_get(d1, "pl031")));
    json_t *m0 = load(cap[0], "manifest.json"), *m1 = load(cap[1], "manifest.json");
    CHECK(json_equal(json_object_get(m0, "instructions"), json_object_get(m1, "instructions")));
    /* the generator is ready in deterministic runs too (the same seed both
     * times: QEMU's -seed; without it QEMU put host randomness into the
     * DTB's rng-seed at reset and the two runs diverged) */
    for (int r = 0; r < 2; r++)
        CHECK_MSG(json_is_true(json_object_get(json_object_get(r ? m1 : m0, "guest_rng"), "ready")),
                  "deterministic run %d: guest RNG not ready at the capture", r);
    json_decref(d0);
    json_decref(d1);
    json_decref(m0);
    json_decref(m1);
    free(cap[0]);
    free(cap[1]);
    rm_rf(dir);
    free(dir);
    free(k);
    free(i);
}

static void t_smp(void)
{
    for (int gic = 2; gic <= 3; gic++) {
        char *dir = make_temp_dir("/tmp", "ffwd-it-smp-");
        char *run = xasprintf("%s/run", dir), *caps = xasprintf("%s/caps", dir);
        struct sbuf o = {0};
        const char *gs = gic == 2 ? "2" : "3";
        const char *a[] = {"boot", "--smp", "2", "--gic", gs, "--run-dir", run, "--capture-dir", caps, "--cmd",
                           "ffwd-guest checkpoint two && ffwd-matmul 64", "--timeout", "200", NULL};
        CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
        char *cap = xasprintf("%s/two", caps);
        json_t *m = load(cap, "manifest.json");
        CHECK(m && json_integer_value(json_object_get(m, "vcpus")) == 2);
        for (int c = 0; c < 2; c++) {
            char nm[16];
            snprintf(nm, sizeof nm, "cpu%d.json", c);
            json_t *cj = load(cap, nm);
            if (cj) {
                check_cpu_sane(cj);
                CHECK(hexv(cj, "mpidr") == 0x80000000ULL + (unsigned)c);
            }
            json_decref(cj);
        }
        json_t *g = load(cap, "gic.json");
        CHECK(g && json_integer_value(json_object_get(g, "version")) == gic);
        if (g && gic == 3)
            CHECK(json_array_size(json_object_get(g, "redistributors")) == 2 &&
                  json_array_size(json_object_get(g, "cpu_interfaces")) == 2);
        if (g && gic == 2) {
            json_t *d = json_object_get(g, "distributor");
            CHECK(json_array_size(json_object_get(g, "cpus")) == 2);
            /* the disk's interrupt (INTID 79) and the UART's (33) are enabled */
            CHECK((strtoull(json_string_value(json_array_get(json_object_get(d, "isenabler"), 2)), NULL, 16) >> 15) & 1);
            CHECK((strtoull(json_string_value(json_array_get(json_object_get(d, "isenabler"), 1)), NULL, 16) >> 1) & 1);
            CHECK(json_array_size(json_object_get(d, "ipriority_spi")) == 256);
        }
        json_decref(g);
        json_decref(m);
        free(cap);
        sbuf_free(&o);
        rm_rf(dir);
        free(dir);
        free(run);
        free(caps);
    }
}

/* Run `ffwd ARGS` (no children of its own), return its peak resident size
 * in KiB (-1: it failed). */
static long ffwd_peak_kib(const char *const *args)
{
    char *argv[16] = {FFWD_BIN};
    int n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(FFWD_BIN, argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
        return -1;
    return ru.ru_maxrss;
}

/* ffwd's own memory does not grow with the guest's RAM: capturing and
 * converting a guest with 768 MiB of non-zero RAM, ffwd stays far below that
 * (it maps guest RAM and its image in pieces, dropping each when done; it
 * used to keep every page it read mapped: 1.6 GB resident for a 2 GiB guest). */
static void t_memory(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-mem-");
    char *run = xasprintf("%s/run", dir), *cap = xasprintf("%s/run/captures/m", dir), *ck = xasprintf("%s/ck", dir);
    char *argv[] = {FFWD_BIN, "boot", "--run-dir", run, "--mem", "1G", "--append", "ffwd.root=none", "--timeout",
                    "600", "--cmd",
                    "ffwd-memtouch 768 hold > /tmp/mt.log & while ! grep -q holding /tmp/mt.log; do sleep 1; done; "
                    "cat /tmp/mt.log; sleep 600",
                    NULL};
    pid_t boot = ffwd_bg(argv);
    CHECK(wait_console(run, "memtouch: holding", 300));
    const char *c[] = {"capture", run, "--name", "m", NULL};
    long kc = ffwd_peak_kib(c);
    const char *v[] = {"convert", cap, "--out", ck, NULL};
    long kv = kc > 0 ? ffwd_peak_kib(v) : -1;
    printf("peak resident size with 768 MiB of guest RAM in use: capture %ld KiB, convert %ld KiB\n", kc, kv);
    CHECK_MSG(kc > 0 && kc < 256 * 1024, "ffwd capture: %ld KiB resident", kc);
    CHECK_MSG(kv > 0 && kv < 256 * 1024, "ffwd convert: %ld KiB resident", kv);
    kill(boot, SIGTERM);
    waitpid(boot, NULL, 0);
    rm_rf(dir);
    free(run), free(cap), free(ck), free(dir);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(argv[1], "checkpoint"))
        t_checkpoint();
    else if (!strcmp(argv[1], "ondemand"))
        t_ondemand();
    else if (!strcmp(argv[1], "kill"))
        t_kill();
    else if (!strcmp(argv[1], "faults"))
        t_faults();
    else if (!strcmp(argv[1], "smp"))
        t_smp();
    else if (!strcmp(argv[1], "insn"))
        t_insn();
    else if (!strcmp(argv[1], "determinism"))
        t_determinism();
    else if (!strcmp(argv[1], "memory"))
        t_memory();
    else
        return 2;
    return test_done();
}
