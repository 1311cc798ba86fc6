/*
 * bench_trace -- cost of the memory plugin, as ratios against the same run
 * without a plugin, measured in the same command.
 *
 *   bench_trace FFWD_BINARY PLUGIN_DIR [REPEATS]
 *
 * The same workload between two guest markers with: no plugin; the memory
 * plugin tracing (no model); modelling (no trace); both; tracing with
 * values. Median wall time of each, its ratio to no plugin, and the trace's
 * bytes per access (file and before compression). Where QEMU_CONTRIB_PLUGINS
 * names a folder with QEMU's contrib plugins (scripts/qemu-contrib-plugins.sh),
 * also QEMU's cache.c (L1 I/D and L2, no TLBs) as the model's reference;
 * said loudly when it is not there.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/util.h"

#define WORKLOAD "ffwd-matmul 256; ffwd-ptrchase 400000; ffwd-sort 200000"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_trace FFWD_BINARY PLUGIN_DIR [REPEATS]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1 || reps > 20)
        reps = 3;
    char *dir = make_temp_dir("/tmp", "ffwd-bench-trace-");
    const char *names[] = {"no plugin", "trace", "model", "trace + model", "trace + values", "contrib cache.c"};
    const char *opts[] = {NULL, "trace=on,model=off", "trace=off,model=on", "trace=on,model=on",
                          "trace=on,model=off,values=on", NULL};
    const char *contrib = getenv("QEMU_CONTRIB_PLUGINS");
    enum { VMAX = 6 };
    int V = contrib && *contrib ? VMAX : VMAX - 1;
    double t[VMAX][20], cpu[VMAX][20];
    double bytes[VMAX] = {0}, raw[VMAX] = {0}, acc[VMAX] = {0};
    for (int r = 0; r < reps; r++)
        for (int v = 0; v < V; v++) {
            char *pl = v == VMAX - 1 ? xasprintf("%s/libcache.so", contrib)
                       : opts[v]     ? xasprintf("%s/libffwd-mem.so,out=%s/v%d,%s", argv[2], dir, v, opts[v])
                                     : NULL;
            if (bench_between_markers(argv[1], WORKLOAD, pl, &t[v][r], &cpu[v][r]))
                return 1;
            free(pl);
            char *sp = xasprintf("%s/v%d.summary", dir, v), *tp = xasprintf("%s/v%d.0.trace", dir, v);
            char *sum = read_file(sp, NULL);
            unsigned long long ins, a = 0, b = 0;
            if (sum && sscanf(sum, "vcpu 0: %llu instructions in the window, %llu accesses traced, %llu bytes", &ins,
                              &a, &b) == 3 && a) {
                acc[v] = (double)a;
                raw[v] = (double)b / (double)a;
                bytes[v] = (double)file_size(tp) / (double)a;
            }
            free(sum);
            free(sp);
            free(tp);
        }
    printf("bench_trace (median of %d; TCG, demo guest, whole run traced; workload: %s;\n"
           "  ratios of QEMU's CPU time between the markers, its writer threads included; wall time beside)\n",
           reps, WORKLOAD);
    for (int v = 0; v < V; v++) {
        qsort(t[v], (size_t)reps, sizeof t[v][0], bench_cmpd);
        qsort(cpu[v], (size_t)reps, sizeof cpu[v][0], bench_cmpd);
    }
    double base = cpu[0][reps / 2], wbase = t[0][reps / 2];
    for (int v = 0; v < V; v++) {
        double c = cpu[v][reps / 2], w = t[v][reps / 2];
        if (c > 0 && base > 0)
            printf("  %-16s CPU %7.3f s  ratio %5.2fx  (wall %.3f s, %.2fx)", names[v], c, c / base, w, w / wbase);
        else
            printf("  %-16s wall %7.3f s  ratio %5.2fx (no CPU time)", names[v], w, w / wbase);
        if (bytes[v] > 0)
            printf("   %.3g accesses, %.2f bytes/access in the file (%.2f before compression)", acc[v], bytes[v],
                   raw[v]);
        putchar('\n');
    }
    if (V < VMAX)
        printf("  contrib cache.c: SKIPPED (QEMU_CONTRIB_PLUGINS not set; scripts/qemu-contrib-plugins.sh builds it "
               "from Debian's qemu source package)\n");
    rm_rf(dir);
    free(dir);
    return 0;
}
