/*
 * bench_capture -- capture time and throughput against guest RAM size,
 * compared in the same run with the way QPoints gets the same state
 * (QMP dump-guest-memory ELF of all RAM + the registers from the monitor +
 * a full copy of the disk image), and with the host's sequential write
 * bandwidth for the same number of bytes.
 *
 *   bench_capture FFWD_BINARY [SIZES] [PERCENTS] [SMPS]   e.g. 256M,1G,4G,8G 10,90 1,2,4,8
 *
 * For each RAM size and touched fraction: boot the demo guest with that
 * RAM, run ffwd-memtouch (non-zero data in that share of RAM), then on the
 * same stopped-and-resumed guest time (a) `ffwd capture`, (a2) `ffwd capture
 * --background` (how long the guest is stopped, against (a)), (b) the QPoints
 * path, (c) writing the touched bytes sequentially with fsync.
 *
 * With SMPS: the scaling in vCPUs -- a 1 GiB guest, half of it touched, with
 * each number of vCPUs: capture (time, guest stopped) and convert, as ratios
 * to the first (one vCPU).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "qemu/qmp.h"

static const char *ffwd_bin;

static double write_bw_seconds(const char *dir, uint64_t bytes)
{
    char *p = xasprintf("%s/bw.bin", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t chunk = 8 << 20;
    unsigned char *buf = xmalloc(chunk);
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    double t0 = now_sec();
    for (uint64_t done = 0; done < bytes; done += chunk)
        if (write(fd, buf, chunk) < 0)
            break;
    fsync(fd);
    double t = now_sec() - t0;
    close(fd);
    unlink(p);
    free(p);
    free(buf);
    return t;
}

/* Boot a guest of size_s RAM and smp vCPUs that touches `touch` MiB, in
 * RUN; returns the boot's pid once it has (or -1). */
static pid_t boot_touched(const char *run, const char *size_s, const char *smp, uint64_t touch)
{
    char *cmd = xasprintf("ffwd-memtouch %llu", (unsigned long long)touch);
    pid_t boot = fork();
    if (boot == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(nul, 2);
        execl(ffwd_bin, ffwd_bin, "boot", "--mem", size_s, "--smp", smp, "--run-dir", run, "--cmd", cmd,
              "--timeout", "900", (char *)NULL);
        _exit(127);
    }
    free(cmd);
    char *lp = xasprintf("%s/console.log", run);
    bool ready = false;
    for (int i = 0; i < 6000 && !ready; i++) {
        char *log = read_file(lp, NULL);
        ready = log && strstr(log, "memtouch: touched");
        free(log);
        if (!ready)
            usleep(100000);
    }
    free(lp);
    if (!ready) {
        fprintf(stderr, "bench_capture: guest with %s, %s vCPUs never finished touching memory\n", size_s, smp);
        kill(boot, SIGTERM);
        waitpid(boot, NULL, 0);
        return -1;
    }
    return boot;
}

/* The vCPU scaling table: capture and convert of the same 1 GiB guest (half
 * touched) with 1, 2, 4, 8 ... vCPUs, ratios to the first. */
static void scaling(const char *smps, const char *work)
{
    printf("bench_capture: vCPU scaling (1G RAM, 512 MiB touched): capture, guest stopped, convert; ratio to the "
           "first\n");
    double base_c = 0, base_s = 0, base_v = 0;
    char *list = xstrdup(smps);
    for (char *sv = NULL, *n = strtok_r(list, ",", &sv); n; n = strtok_r(NULL, ",", &sv)) {
        char *run = xasprintf("%s/run-smp%s", work, n), *caps = xasprintf("%s/caps", run);
        char *cap = xasprintf("%s/c", caps), *ck = xasprintf("%s/ckpt", run);
        pid_t boot = boot_touched(run, "1G", n, 512);
        if (boot < 0) {
            free(run), free(caps), free(cap), free(ck);
            continue;
        }
        struct sbuf o = {0};
        char *cargv[] = {(char *)ffwd_bin, "capture", run, "--out", caps, "--name", "c", NULL};
        double t0 = now_sec();
        int st = run_cmd(cargv, &(struct run_opts){.out = &o, .merge_stderr = true});
        double tc = now_sec() - t0, ts = -1;
        const char *gs = o.s ? strstr(o.s, "guest stopped ") : NULL;
        if (gs)
            ts = atof(gs + 14);
        char *qs = xasprintf("%s/qmp-ctl.sock", run);
        struct qmp *q = qmp_connect(qs, 10);
        if (q) {
            qmp_cmd(q, "quit", NULL, NULL, 10);
            qmp_close(q);
        }
        waitpid(boot, NULL, 0);
        char *vargv[] = {(char *)ffwd_bin, "convert", cap, "--out", ck, NULL};
        t0 = now_sec();
        int sv2 = st == 0 ? run_cmd(vargv, &(struct run_opts){.out = &o, .merge_stderr = true}) : -1;
        double tv = now_sec() - t0;
        if (st != 0 || sv2 != 0)
            fprintf(stderr, "bench_capture: %s vCPUs: capture or convert failed: %s\n", n, o.s ? o.s : "");
        else {
            if (!base_c)
                base_c = tc, base_s = ts, base_v = tv;
            printf("  %3s vCPUs  capture %6.2f s (%4.2fx)  stopped %6.2f s (%4.2fx)  convert %6.2f s (%4.2fx)\n", n, tc,
                   tc / base_c, ts, ts / base_s, tv, tv / base_v);
            fflush(stdout);
        }
        sbuf_free(&o);
        rm_rf(run);
        free(run), free(caps), free(cap), free(ck), free(qs);
    }
    free(list);
}

static int one(const char *size_s, int pct, const char *work)
{
    uint64_t size;
    if (parse_size(size_s, &size) < 0)
        return -1;
    uint64_t mib = size >> 20, touch = mib * (uint64_t)pct / 100;
    if (touch + 200 > mib)
        touch = mib > 200 ? mib - 200 : mib / 2; /* leave the kernel room */
    char *run = xasprintf("%s/run-%s-%d", work, size_s, pct);
    pid_t boot = boot_touched(run, size_s, "1", touch);
    if (boot < 0) {
        free(run);
        return -1;
    }
    /* (a) ffwd capture */
    char *caps = xasprintf("%s/caps", run);
    struct sbuf o = {0};
    char *cargv[] = {(char *)ffwd_bin, "capture", run, "--out", caps, "--name", "c", NULL};
    double t0 = now_sec();
    int st = run_cmd(cargv, &(struct run_opts){.out = &o, .merge_stderr = true});
    double t_ffwd = now_sec() - t0, t_stopped = -1;
    if (st != 0)
        fprintf(stderr, "bench_capture: ffwd capture failed: %s\n", o.s);
    const char *gs = o.s ? strstr(o.s, "guest stopped ") : NULL;
    if (gs)
        t_stopped = atof(gs + 14);
    /* (a2) ffwd capture --background: RAM saved while the guest runs */
    char *bgargv[] = {(char *)ffwd_bin, "capture", run, "--out", caps, "--name", "bg", "--background", NULL};
    sbuf_free(&o);
    t0 = now_sec();
    st = run_cmd(bgargv, &(struct run_opts){.out = &o, .merge_stderr = true});
    double t_bg = now_sec() - t0, t_bg_stopped = -1;
    if (st != 0)
        fprintf(stderr, "bench_capture: ffwd capture --background failed: %s\n", o.s);
    gs = o.s ? strstr(o.s, "guest stopped ") : NULL;
    if (gs)
        t_bg_stopped = atof(gs + 14);
    /* (b) the QPoints way on the same guest */
    char *qs = xasprintf("%s/qmp-ctl.sock", run);
    struct qmp *q = qmp_connect(qs, 10);
    double t_qp = -1;
    if (q) {
        char *elf = xasprintf("%s/dump.elf", run), *proto = xasprintf("file:%s", elf);
        char *disk_copy = xasprintf("%s/disk-copy.img", run), *base_p = xasprintf("%s/disk.base", run);
        char *base = read_file(base_p, NULL);
        if (base)
            base[strcspn(base, "\n")] = 0;
        t0 = now_sec();
        qmp_cmd(q, "stop", NULL, NULL, 60);
        qmp_cmd(q, "dump-guest-memory", json_pack("{s:b,s:s}", "paging", 0, "protocol", proto), NULL, 900);
        json_t *r = NULL;
        qmp_cmd(q, "human-monitor-command", json_pack("{s:s}", "command-line", "info registers"), &r, 60);
        json_decref(r);
        if (base)
            copy_file(base, disk_copy, 0644);
        int fd = open(elf, O_RDONLY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        t_qp = now_sec() - t0;
        qmp_cmd(q, "cont", NULL, NULL, 60);
        qmp_cmd(q, "quit", NULL, NULL, 10);
        qmp_close(q);
        unlink(elf);
        unlink(disk_copy);
        free(elf);
        free(proto);
        free(disk_copy);
        free(base_p);
        free(base);
    }
    waitpid(boot, NULL, 0);
    /* (c) sequential write bandwidth for the touched bytes */
    double t_bw = write_bw_seconds(work, touch << 20);
    double mbs = (double)touch / t_ffwd;
    printf("%6s %3d%%  %6llu MiB  ffwd %6.2f s (%5.0f MiB/s, guest stopped %5.2f s)  qpoints-way %6.2f s  "
           "speedup %5.1fx (stopped: %5.1fx)  seq-write %6.2f s  ffwd/seq-write %4.2fx  "
           "--background %6.2f s (guest stopped %5.3f s: %5.1fx shorter)\n",
           size_s, pct, (unsigned long long)touch, t_ffwd, mbs, t_stopped, t_qp, t_qp / t_ffwd, t_qp / t_stopped, t_bw,
           t_ffwd / t_bw, t_bg, t_bg_stopped, t_stopped / t_bg_stopped);
    fflush(stdout);
    rm_rf(run);
    free(run);
    free(caps);
    free(qs);
    sbuf_free(&o);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_capture FFWD_BINARY [SIZES] [PERCENTS] [SMPS]\n");
        return 2;
    }
    ffwd_bin = argv[1];
    char *sizes = xstrdup(argc > 2 ? argv[2] : "256M,1G,4G");
    char *pcts = xstrdup(argc > 3 ? argv[3] : "10,90");
    char *work = make_temp_dir("/var/tmp", "ffwd-bench-capture-");
    printf("bench_capture: capture vs the QPoints way (dump-guest-memory ELF + monitor registers + full disk copy)\n");
    for (char *s1 = NULL, *sz = strtok_r(sizes, ",", &s1); sz; sz = strtok_r(NULL, ",", &s1)) {
        char *pc = xstrdup(pcts);
        for (char *s2 = NULL, *p = strtok_r(pc, ",", &s2); p; p = strtok_r(NULL, ",", &s2))
            one(sz, atoi(p), work);
        free(pc);
    }
    if (argc > 4)
        scaling(argv[4], work);
    rm_rf(work);
    free(work);
    free(sizes);
    free(pcts);
    return 0;
}
