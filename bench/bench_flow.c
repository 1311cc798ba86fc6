/*
 * bench_flow -- cost of the flow plugin (control-flow profiles), as ratios
 * against the same run without a plugin, measured in the same command.
 *
 *   bench_flow FFWD_BINARY PLUGIN_DIR [REPEATS]
 *
 * The same workload between two guest markers -- a demo kernel and a real
 * Debian program from the disk (xz behind a pipe) -- with: no plugin; the
 * flow plugin following system calls and calls (loops=off); and following
 * loops too. Median wall time of each (one vCPU: QEMU's CPU time) and its
 * ratio to no plugin. Targets (issue): <= 3x without loops, <= 5x with.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/util.h"

/* `&&`: the closing marker only if both ran (the disk is in use: xz and its input are on it) */
#define WORKLOAD "ffwd-sort 200000 && head -c 1000000 /data/input.txt | /usr/bin/xz -c > /tmp/o.xz"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_flow FFWD_BINARY PLUGIN_DIR [REPEATS]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1 || reps > 20)
        reps = 3;
    char *dir = make_temp_dir("/tmp", "ffwd-bench-flow-");
    const char *names[] = {"no plugin", "syscalls + calls", "+ loops"};
    const char *opts[] = {NULL, "loops=off", "loops=on"};
    enum { V = 3 };
    double t[V][20];
    for (int r = 0; r < reps; r++)
        for (int v = 0; v < V; v++) {
            char *pl = opts[v] ? xasprintf("%s/libffwd-flow.so,out=%s/v%d.flow.raw,%s", argv[2], dir, v, opts[v]) : NULL;
            double a, b;
            if (bench_markers(argv[1], WORKLOAD, pl, false, &a, &b))
                return 1;
            t[v][r] = b - a;
            free(pl);
        }
    printf("bench_flow (median of %d; TCG, demo guest, whole run followed; workload: %s)\n", reps, WORKLOAD);
    for (int v = 0; v < V; v++)
        qsort(t[v], (size_t)reps, sizeof t[v][0], bench_cmpd);
    double base = t[0][reps / 2];
    for (int v = 0; v < V; v++)
        printf("  %-18s %7.3f s  ratio %5.2fx\n", names[v], t[v][reps / 2], t[v][reps / 2] / base);
    rm_rf(dir);
    free(dir);
    return 0;
}
