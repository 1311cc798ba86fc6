/*
 * bench_boot -- boot and guest-speed figures of the foundation, as ratios
 * against baselines measured in the same run.
 *
 *   bench_boot FFWD_BINARY ICOUNT_PLUGIN [REPEATS]
 *
 * Measures (TCG, demo guest, default profile):
 *   - time from `ffwd boot` start to the first guest marker (median);
 *   - ffwd-matmul 384 between two markers: wall time and, from the
 *     instruction-counting plugin (run with and without the workload, so
 *     boot and power-off cancel out), guest instructions -> MIPS;
 *   - the plugin's slowdown on that workload (ratio vs the same run without it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/util.h"

static const char *ffwd_bin, *plugin;

/* One boot with the demo disk; the times of the two markers (seconds since ffwd start). */
static int boot(const char *work, const char *plug_out, double *t_first, double *t_done)
{
    char *pl = plug_out ? xasprintf("%s,out=%s", plugin, plug_out) : NULL;
    int r = bench_markers(ffwd_bin, work, pl, false, t_first, t_done);
    free(pl);
    return r;
}

static double total_insns(const char *path)
{
    char *s = read_file(path, NULL);
    double v = -1;
    if (s && strstr(s, "\"total\": "))
        v = atof(strstr(s, "\"total\": ") + 9);
    free(s);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_boot FFWD_BINARY ICOUNT_PLUGIN [REPEATS]\n");
        return 2;
    }
    ffwd_bin = argv[1];
    plugin = argv[2];
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1 || reps > 50)
        reps = 3;
    const char *work = "ffwd-matmul 384";
    double first[50], wall[50], wall_pl[50];
    for (int i = 0; i < reps; i++) {
        double a, b;
        if (boot(work, NULL, &a, &b))
            return 1;
        first[i] = a;
        wall[i] = b - a;
        if (boot(work, "/tmp/ffwd-bench-ic.json", &a, &b))
            return 1;
        wall_pl[i] = b - a;
    }
    double ia, ib, a, b;
    if (boot("true", "/tmp/ffwd-bench-ic0.json", &a, &b) || boot(work, "/tmp/ffwd-bench-ic1.json", &a, &b))
        return 1;
    ia = total_insns("/tmp/ffwd-bench-ic0.json");
    ib = total_insns("/tmp/ffwd-bench-ic1.json");
    qsort(first, (size_t)reps, sizeof *first, bench_cmpd);
    qsort(wall, (size_t)reps, sizeof *wall, bench_cmpd);
    qsort(wall_pl, (size_t)reps, sizeof *wall_pl, bench_cmpd);
    double w = wall[reps / 2], wp = wall_pl[reps / 2], insn = ib - ia;
    printf("bench_boot (median of %d, TCG, demo guest)\n", reps);
    printf("  boot to first marker        %.2f s   (from `ffwd boot` start; min %.2f, max %.2f)\n", first[reps / 2],
           first[0], first[reps - 1]);
    printf("  boot instructions           %.3g     (kernel + init + modules + mount, icount plugin)\n", ia);
    printf("  workload                    %s: %.3g instructions\n", work, insn);
    printf("  workload wall time          %.3f s   -> %.0f guest MIPS without plugin\n", w, insn / w / 1e6);
    printf("  with icount plugin          %.3f s   -> slowdown ratio %.2fx vs no plugin\n", wp, wp / w);
    return 0;
}
