/* bench.h -- helpers shared by the benchmarks. */
#ifndef FFWD_BENCH_H
#define FFWD_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Boot the demo guest (without its disk if diskless) with `plugin` (NULL:
 * none), run `work` between the guest markers "first" and "done"; the
 * times of the two markers, in seconds since `ffwd boot` started, and
 * (cpu, may be NULL) the QEMU process's CPU seconds between them (every
 * thread: a plugin's writer threads count), -1 where ffwd did not say. */
static inline int bench_markers_cpu(const char *ffwd, const char *work, const char *plugin, bool diskless,
                                    double *t_first, double *t_done, double *cpu)
{
    char *cmd = xasprintf("ffwd-guest marker first; %s; ffwd-guest marker done", work);
    char *argv[16] = {(char *)ffwd, "boot", "--cmd", cmd, "--expect-marker", "done"};
    int n = 6;
    if (diskless) {
        argv[n++] = "--append";
        argv[n++] = "ffwd.root=none";
    }
    if (plugin) {
        argv[n++] = "--plugin";
        argv[n++] = (char *)plugin;
    }
    argv[n] = NULL;
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
    double a = -1, b = -1, ca = -1, cb = -1;
    for (char *save = NULL, *l = o.s ? strtok_r(o.s, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        double t, c = -1;
        char m[64];
        if (sscanf(l, "[ %lfs] marker seen: %63s (QEMU CPU %lf s)", &t, m, &c) >= 2) {
            bool first = !strcmp(m, "first");
            *(first ? &a : &b) = t;
            *(first ? &ca : &cb) = c;
        }
    }
    if (cpu)
        *cpu = ca >= 0 && cb >= 0 ? cb - ca : -1;
    int bad = st != 0 || a < 0 || b < 0;
    if (bad)
        fprintf(stderr, "bench: ffwd boot failed:\n%s\n", o.s ? o.s : "");
    sbuf_free(&o);
    free(cmd);
    *t_first = a;
    *t_done = b;
    return bad;
}

static inline int bench_markers(const char *ffwd, const char *work, const char *plugin, bool diskless,
                                double *t_first, double *t_done)
{
    return bench_markers_cpu(ffwd, work, plugin, diskless, t_first, t_done, NULL);
}

/* The same, diskless; *dt = wall seconds between the two markers, *cpu =
 * QEMU's CPU seconds between them (-1: not known). Ratios of plugin costs
 * are taken from the CPU time: on a shared host the wall time also holds
 * whatever else ran (measured here: the same run without plugin between
 * 0.66 and 0.94 s of wall time within minutes). */
static inline int bench_between_markers(const char *ffwd, const char *work, const char *plugin, double *dt,
                                        double *cpu)
{
    double a, b;
    int r = bench_markers_cpu(ffwd, work, plugin, true, &a, &b, cpu);
    *dt = b - a;
    return r;
}

static inline int bench_cmpd(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

#endif
