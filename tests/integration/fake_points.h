/*
 * fake_points.h -- a folder as `ffwd sample` leaves it, for runs of
 * `ffwd sample-run` with tests/integration/fake-gem5.sh (test_runner,
 * bench_runner): n checkpoint folders (an m5.cpt and the record of a
 * 512 MiB guest) and simpoints.json (version 2, with gem5 windows).
 */
#ifndef FFWD_FAKE_POINTS_H
#define FFWD_FAKE_POINTS_H

#include <string.h>

#include "common/util.h"

static inline char *fake_points(const char *parent, const char *name, int n)
{
    char *d = xasprintf("%s/%s", parent, name);
    mkdir_p(d, 0755);
    struct sbuf j = {0};
    sbuf_addf(&j, "{\"format\":\"ffwd-simpoints\",\"version\":2,\"interval\":1000000,\"points\":[");
    for (int i = 0; i < n; i++) {
        char *ck = xasprintf("%s/cpt.simpoint_%02d_inst_%d_weight_%f_interval_1000000_warmup_%d", d, i, 1000 * i,
                             1.0 / n, 100 * i);
        mkdir_p(ck, 0755);
        char *m5 = xasprintf("%s/m5.cpt", ck), *cj = xasprintf("%s/ffwd-checkpoint.json", ck);
        write_file_atomic(m5, "[root]\n", 7, 0644);
        const char *plat = "{\"platform\":{\"mem_bytes\":536870912}}";
        write_file_atomic(cj, plat, strlen(plat), 0644);
        sbuf_addf(&j,
                  "%s{\"index\":%d,\"cluster\":%d,\"interval\":%d,\"weight\":%.17g,\"warmup\":%d,"
                  "\"checkpoint\":\"%s\",\"window\":{\"warmup_insts\":%d,\"measure_insts\":%d}}",
                  i ? "," : "", i, i, 10 * i, 1.0 / n, 100 * i, strrchr(ck, '/') + 1, 100 * i + 7, 1000000 + 13 * i);
        free(m5), free(cj), free(ck);
    }
    sbuf_addf(&j, "]}");
    char *mp = xasprintf("%s/simpoints.json", d);
    write_file_atomic(mp, j.s, j.len, 0644);
    free(mp);
    sbuf_free(&j);
    return d;
}

/* The checkpoint folder of point i of fake_points(..., n). */
static inline char *fake_point_dir(const char *dir, int i, int n)
{
    return xasprintf("%s/cpt.simpoint_%02d_inst_%d_weight_%f_interval_1000000_warmup_%d", dir, i, 1000 * i, 1.0 / n,
                     100 * i);
}

#endif
