/*
 * bench_convert -- `ffwd convert` time against `gzip -6` of the same raw RAM
 * (the single-threaded path gem5 itself uses to write pmem), and the
 * checkpoint directory's size against base disk image + RAM size, in one run.
 *
 *   bench_convert FFWD_BINARY [SIZES] [TOUCH_PERCENT]      e.g. 1G,4G 50
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

static uint64_t du(const char *dir)
{
    struct sbuf o = {0};
    char *argv[] = {"du", "-sb", (char *)dir, NULL};
    run_cmd(argv, &(struct run_opts){.out = &o, .quiet = true});
    uint64_t v = o.s ? strtoull(o.s, NULL, 10) : 0;
    sbuf_free(&o);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_convert FFWD_BINARY [SIZES] [TOUCH_PERCENT]\n");
        return 2;
    }
    const char *ffwd = argv[1];
    char *sizes = xstrdup(argc > 2 ? argv[2] : "1G,4G");
    int pct = argc > 3 ? atoi(argv[3]) : 50;
    char *work = make_temp_dir("/var/tmp", "ffwd-bench-convert-");
    printf("bench_convert: ffwd convert vs gzip -6 of the raw RAM (guest touched %d%% of RAM)\n", pct);
    for (char *s1 = NULL, *sz = strtok_r(sizes, ",", &s1); sz; sz = strtok_r(NULL, ",", &s1)) {
        uint64_t size;
        if (parse_size(sz, &size) < 0)
            continue;
        uint64_t touch = (size >> 20) * (uint64_t)pct / 100;
        if (touch + 200 > (size >> 20))
            touch = (size >> 20) - 200;
        char *run = xasprintf("%s/run-%s", work, sz), *caps = xasprintf("%s/caps-%s", work, sz);
        char *cmd;
        cmd = xasprintf("(ffwd-memtouch %llu > /tmp/t &) ; while ! grep -q touched /tmp/t; do sleep 1; done; "
                        "ffwd-guest checkpoint c",
                        (unsigned long long)touch);
        struct sbuf o = {0};
        char *bargv[] = {(char *)ffwd, "boot", "--mem", sz, "--run-dir", run, "--capture-dir", caps, "--cmd", cmd,
                         "--timeout", "900", NULL};
        if (run_cmd(bargv, &(struct run_opts){.out = &o, .merge_stderr = true}) != 0) {
            fprintf(stderr, "bench_convert: boot failed: %s\n", o.s);
            return 1;
        }
        char *cap = xasprintf("%s/c", caps), *ck = xasprintf("%s/ckpt-%s", work, sz);
        char *cargv[] = {(char *)ffwd, "convert", cap, "--out", ck, NULL};
        double t0 = now_sec();
        int st = run_cmd(cargv, &(struct run_opts){.out = &o, .merge_stderr = true});
        double t_conv = now_sec() - t0;
        if (st != 0)
            fprintf(stderr, "bench_convert: convert failed: %s\n", o.s);
        char *ram = xasprintf("%s/ram0.bin", cap), *gz = xasprintf("%s/ram.gz", work);
        char *gargv[] = {"sh", "-c", xasprintf("gzip -6 -c %s > %s", ram, gz), NULL};
        t0 = now_sec();
        run_cmd(gargv, NULL);
        double t_gzip = now_sec() - t0;
        uint64_t ck_size = du(ck), gz_size = (uint64_t)file_size(gz);
        char *bp = xasprintf("%s/disk.base", run);
        char *base = read_file(bp, NULL);
        if (base)
            base[strcspn(base, "\n")] = 0;
        uint64_t base_size = base ? (uint64_t)file_size(base) : 0;
        printf("%5s RAM (%5llu MiB touched): convert %6.2f s, gzip -6 %6.2f s -> %5.1fx faster; "
               "checkpoint %7.1f MiB = %5.2f%% of base image + RAM (%llu MiB); gzip alone %7.1f MiB\n",
               sz, (unsigned long long)touch, t_conv, t_gzip, t_gzip / t_conv, ck_size / 1048576.0,
               100.0 * (double)ck_size / (double)(base_size + size), (unsigned long long)((base_size + size) >> 20),
               gz_size / 1048576.0);
        fflush(stdout);
        unlink(gz);
        rm_rf(run);
        rm_rf(caps);
        rm_rf(ck);
        free(gargv[2]);
        free(bp);
        free(base);
        free(ram);
        free(gz);
        free(cap);
        free(ck);
        free(cmd);
        free(run);
        free(caps);
        sbuf_free(&o);
    }
    rm_rf(work);
    free(work);
    free(sizes);
    return 0;
}
