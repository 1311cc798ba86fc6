/*
 * BBV plugin test (groundwork of the sampling work): on a deterministic,
 * disk-less run the basic-block vectors are identical twice, in SimPoint's
 * format, and their instruction totals agree with the exact count.
 */
#define _GNU_SOURCE

#include "tests/integration/helpers.h"

int main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "bbv"))
        return 2;
    char *k = guest_path("kernel"), *i = guest_path("initrd");
    char *dir = make_temp_dir("/tmp", "ffwd-it-bbv-");
    char *bb[2] = {0};
    unsigned long long last_exact = 0;
    for (int r = 0; r < 2; r++) {
        char *prefix = xasprintf("%s/run%d", dir, r);
        char *plug = xasprintf("%s/plugins/libffwd-bbv.so,out=%s,interval=20000000", FFWD_BUILD_DIR, prefix);
        struct sbuf o = {0};
        const char *a[] = {"boot", "--deterministic", "--kernel", k, "--initrd", i, "--append", "ffwd.root=none",
                           "--plugin", plug, "--cmd", "ffwd-matmul 128 && ffwd-sort 50000", "--timeout", "300", NULL};
        CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
        char *f = xasprintf("%s.0.bb.gz", prefix);
        bb[r] = read_file_gz(f, NULL);
        CHECK(bb[r] && bb[r][0] == 'T');
        char *pp = xasprintf("%s.positions", prefix);
        char *pos = read_file(pp, NULL);
        char *last = pos ? strrchr(pos, '\n') : NULL;
        if (last) {
            *last = 0;
            last = strrchr(pos, '\n');
            unsigned v, idx;
            if (last)
                sscanf(last + 1, "%u %u %llu", &v, &idx, &last_exact);
        }
        free(pos);
        free(pp);
        free(f);
        free(plug);
        free(prefix);
        sbuf_free(&o);
    }
    CHECK_MSG(bb[0] && bb[1] && !strcmp(bb[0], bb[1]), "the BBVs of two deterministic runs differ");
    /* format: "T:id:count :id:count ...", ids ascending from 1, counts > 0; totals */
    unsigned long long total = 0, lines = 0;
    bool fmt = true;
    for (char *save = NULL, *l = strtok_r(bb[0], "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines++;
        fmt &= l[0] == 'T';
        unsigned long long prev = 0;
        for (char *p = strchr(l, ':'); p; p = strchr(p + 1, ' ') ? strchr(strchr(p + 1, ' '), ':') : NULL) {
            unsigned long long id, cnt;
            if (sscanf(p, ":%llu:%llu", &id, &cnt) != 2) {
                fmt = false;
                break;
            }
            fmt &= id > prev && cnt > 0;
            prev = id;
            total += cnt;
        }
    }
    CHECK_MSG(fmt, "BBV lines are not in SimPoint's format");
    CHECK(lines > 10);
    /* block counts are whole blocks: within 0.1% of the exact count at the last closed interval */
    CHECK_MSG(last_exact > 0 && total >= last_exact &&
                  (double)(total - last_exact) < 0.001 * (double)last_exact + 20000000.0,
              "BBV total %llu vs exact %llu", total, last_exact);
    printf("BBV: %llu intervals, %llu instructions counted, exact count at the last boundary %llu\n", lines, total,
           last_exact);
    free(bb[0]);
    free(bb[1]);
    rm_rf(dir);
    free(dir);
    free(k);
    free(i);
    return test_done();
}
