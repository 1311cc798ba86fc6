/*
 * BBV plugin test (groundwork of the sampling work): on a deterministic,
 * disk-less run the basic-block vectors are identical twice, in SimPoint's
 * format, and their instruction totals agree with the exact count.
 */
#define _GNU_SOURCE

#include "sample/sample.h"
#include "tests/integration/helpers.h"

/* Instructions in all BBV lines of PREFIX.0.bb.gz. */
static unsigned long long bbv_total(const char *prefix)
{
    char *f = xasprintf("%s.0.bb.gz", prefix);
    char *t = read_file_gz(f, NULL);
    unsigned long long sum = 0;
    for (char *p = t; p && (p = strchr(p, ':'));) {
        unsigned long long id, cnt;
        int used = 0;
        if (sscanf(p, ":%llu:%llu%n", &id, &cnt, &used) != 2)
            break;
        sum += cnt;
        p += used;
    }
    free(t);
    free(f);
    return sum;
}

/* --process roi: a workload that marks itself (FFWD_ROI=1 -> HINT #100/#101
 * from inside the process) runs next to another one on one vCPU; only its
 * own address space is counted, so the total equals a run where it is alone,
 * while --roi without the filter also counts the other program. */
static int test_process(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-bbvproc-");
    const char *both = "FFWD_ROI=1 ffwd-matmul 128 & ffwd-sort 200000; wait", *alone = "FFWD_ROI=1 ffwd-matmul 128";
    const char *cmds[3] = {both, alone, both};
    unsigned long long tot[3];
    for (int r = 0; r < 3; r++) {
        char *prefix = xasprintf("%s/r%d", dir, r);
        struct sbuf o = {0};
        const char *a[] = {"profile", "--out", prefix, "--interval", "1000000", "--roi", "--deterministic", "--append",
                           "ffwd.root=none", "--cmd", cmds[r], "--timeout", "300",
                           r < 2 ? "--process" : NULL, "roi", NULL};
        CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
        tot[r] = bbv_total(prefix);
        sbuf_free(&o);
        free(prefix);
    }
    printf("process filter: with a neighbour %llu, alone %llu, neighbour counted too %llu instructions\n", tot[0],
           tot[1], tot[2]);
    CHECK(tot[1] > 10000000);
    /* the same process, within 1% (kernel work on its behalf varies a little) */
    CHECK_MSG(tot[0] > tot[1] * 99 / 100 && tot[0] < tot[1] * 101 / 100, "%llu vs %llu", tot[0], tot[1]);
    CHECK_MSG(tot[2] > tot[0] * 3 / 2, "without the filter the neighbour is counted: %llu vs %llu", tot[2], tot[0]);
    rm_rf(dir);
    free(dir);
    return test_done();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "process"))
        return test_process();
    if (argc != 2 || strcmp(argv[1], "bbv"))
        return 2;
    char *k = guest_path("kernel"), *i = guest_path("initrd");
    char *dir = make_temp_dir("/tmp", "ffwd-it-bbv-");
    char *bb[2] = {0};
    struct sample_positions pos0 = {0};
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
        if (r == 0)
            CHECK(sample_positions_read(pp, &pos0) == 0);
        free(pp);
        free(f);
        free(plug);
        free(prefix);
        sbuf_free(&o);
    }
    CHECK_MSG(bb[0] && bb[1] && !strcmp(bb[0], bb[1]), "the BBVs of two deterministic runs differ");
    /* per line: "T:id:count :id:count ...", ids ascending from 1, counts > 0 */
    unsigned long long total = 0, lines = 0, maxdev = 0, n_line[4096];
    bool fmt = true;
    for (char *save = NULL, *l = strtok_r(bb[0], "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        fmt &= l[0] == 'T';
        unsigned long long prev = 0, lt = 0;
        for (char *p = strchr(l, ':'); p; p = strchr(p + 1, ' ') ? strchr(strchr(p + 1, ' '), ':') : NULL) {
            unsigned long long id, cnt;
            if (sscanf(p, ":%llu:%llu", &id, &cnt) != 2) {
                fmt = false;
                break;
            }
            fmt &= id > prev && cnt > 0;
            prev = id;
            lt += cnt;
        }
        if (lines < 4096)
            n_line[lines] = lt;
        lines++;
        total += lt;
    }
    CHECK_MSG(fmt, "BBV lines are not in SimPoint's format");
    CHECK(lines > 10 && lines < 4096);
    /* One positions line per BBV line. Every full interval holds N within a
     * block (intervals close on a fixed grid of counted instructions, so the
     * block that crosses a boundary does not shift the next one). The
     * instructions before interval k (BBV totals, whole blocks) equal the
     * exact count at its start within 0.1% (a block an exception cuts short
     * is counted whole by the BBV, in part by the exact count). */
    CHECK_MSG(pos0.nvcpus == 1 && pos0.n[0] == lines, "%zu positions for %llu BBV lines", pos0.n[0], lines);
    CHECK(pos0.interval == 20000000);
    unsigned long long cum = 0;
    for (size_t j = 0; j < pos0.n[0] && j < lines; j++) {
        if (j + 1 < lines) {
            /* exactly counted: N within a block; the BBV counts whole blocks */
            /* interval k starts at the first block at or after k*N counted */
            uint64_t span = pos0.counted[0][j + 1] - pos0.counted[0][j], grid = 20000000ULL * (j + 1);
            CHECK_MSG(pos0.counted[0][j + 1] >= grid && pos0.counted[0][j + 1] < grid + 4096,
                      "interval %zu starts at %llu counted", j + 1, (unsigned long long)pos0.counted[0][j + 1]);
            CHECK_MSG(n_line[j] >= span && n_line[j] - span <= span / 100, "interval %zu: BBV %llu, exact %llu", j,
                      n_line[j], (unsigned long long)span);
        }
        unsigned long long exact = pos0.self[0][j];
        CHECK_MSG(cum >= exact && cum - exact <= exact / 1000, "before interval %zu: BBV %llu, exact %llu", j, cum,
                  exact);
        if (cum - exact > maxdev)
            maxdev = cum - exact;
        cum += n_line[j];
    }
    printf("BBV: %llu intervals, %llu instructions counted; largest BBV-minus-exact difference at an interval "
           "start: %llu\n",
           lines, total, maxdev);
    sample_positions_free(&pos0);
    free(bb[0]);
    free(bb[1]);
    rm_rf(dir);
    free(dir);
    free(k);
    free(i);
    return test_done();
}
