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

#include "common/util.h"

static const char *ffwd_bin, *plugin;

/* Run one boot; return the times of the two markers (seconds since ffwd start). */
static int boot(const char *work, const char *plug_out, double *t_first, double *t_done)
{
    char *cmd = xasprintf("ffwd-guest marker first; %s; ffwd-guest marker done", work);
    char *pl = plug_out ? xasprintf("%s,out=%s", plugin, plug_out) : NULL;
    char *argv[12] = {(char *)ffwd_bin, "boot", "--cmd", cmd, "--expect-marker", "done"};
    int n = 6;
    if (pl) {
        argv[n++] = "--plugin";
        argv[n++] = pl;
    }
    argv[n] = NULL;
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
    *t_first = *t_done = -1;
    for (char *save = NULL, *l = strtok_r(o.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        double t;
        char m[64];
        if (sscanf(l, "[ %lfs] marker seen: %63s", &t, m) == 2) {
            if (!strcmp(m, "first"))
                *t_first = t;
            if (!strcmp(m, "done"))
                *t_done = t;
        }
    }
    if (st != 0)
        fprintf(stderr, "bench_boot: ffwd boot failed:\n%s\n", o.s);
    sbuf_free(&o);
    free(cmd);
    free(pl);
    return st;
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

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
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
    qsort(first, (size_t)reps, sizeof *first, cmpd);
    qsort(wall, (size_t)reps, sizeof *wall, cmpd);
    qsort(wall_pl, (size_t)reps, sizeof *wall_pl, cmpd);
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
