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
 * times of the two markers, in seconds since `ffwd boot` started. */
static inline int bench_markers(const char *ffwd, const char *work, const char *plugin, bool diskless,
                                double *t_first, double *t_done)
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
    double a = -1, b = -1;
    for (char *save = NULL, *l = o.s ? strtok_r(o.s, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        double t;
        char m[64];
        if (sscanf(l, "[ %lfs] marker seen: %63s", &t, m) == 2)
            *(!strcmp(m, "first") ? &a : &b) = t;
    }
    int bad = st != 0 || a < 0 || b < 0;
    if (bad)
        fprintf(stderr, "bench: ffwd boot failed:\n%s\n", o.s ? o.s : "");
    sbuf_free(&o);
    free(cmd);
    *t_first = a;
    *t_done = b;
    return bad;
}

/* The same, diskless; *dt = seconds between the two markers. */
static inline int bench_between_markers(const char *ffwd, const char *work, const char *plugin, double *dt)
{
    double a, b;
    int r = bench_markers(ffwd, work, plugin, true, &a, &b);
    *dt = b - a;
    return r;
}

static inline int bench_cmpd(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

#endif
