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

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The BBV of PREFIX.V.bb.gz (V = vcpu) or its positions, as text that does
 * not depend on which plugin instance saw a block first: with several vCPUs
 * translating at once, ids are given in a racy order, and the positions'
 * sum over all vCPUs is read while the others run. Blocks as "hash:length:
 * vaddr=count" sorted per line; positions without that sum, lines sorted. */
static char *bbv_norm(const char *prefix, const char *what)
{
    struct sbuf out = {0};
    char *bp = xasprintf("%s.blocks", prefix), *blocks = read_file(bp, NULL);
    char *fp = xasprintf("%s.%s", prefix, what), *t = read_file_gz(fp, NULL);
    char **key = NULL;
    size_t nkey = 0;
    for (char *save = NULL, *l = blocks ? strtok_r(blocks, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        unsigned long long id, va;
        unsigned len;
        char h[40];
        if (sscanf(l, "%llu %u %39s %llx", &id, &len, h, &va) != 4)
            continue;
        if (id >= nkey) { /* doubling: realloc per id is quadratic under ASan, which always copies */
            size_t want = nkey ? nkey : 1024;
            while (want <= id)
                want *= 2;
            key = xrealloc(key, want * sizeof *key);
            memset(key + nkey, 0, (want - nkey) * sizeof *key);
            nkey = want;
        }
        key[id] = xasprintf("%s:%u:%llx", h, len, va);
    }
    char **lines = NULL;
    size_t nl = 0, lcap = 0;
    for (char *save = NULL, *l = t ? strtok_r(t, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        struct sbuf one = {0};
        if (l[0] == 'T') {
            char **tok = NULL;
            size_t nt = 0, tcap = 0;
            for (char *q = strchr(l, ':'); q; q = strchr(q + 1, ':')) {
                unsigned long long id, cnt;
                int used = 0;
                if (sscanf(q, ":%llu:%llu%n", &id, &cnt, &used) != 2)
                    break;
                if (nt == tcap)
                    tok = xrealloc(tok, (tcap = tcap ? 2 * tcap : 256) * sizeof *tok);
                tok[nt++] = xasprintf("%s=%llu", id < nkey && key[id] ? key[id] : "?", cnt);
                q += used - 1;
            }
            qsort(tok, nt, sizeof *tok, cmp_str);
            for (size_t i = 0; i < nt; i++) {
                sbuf_addf(&one, "%s ", tok[i]);
                free(tok[i]);
            }
            free(tok);
            sbuf_addf(&one, "%s", ""); /* an empty line stays a line */
            if (nl == lcap)
                lines = xrealloc(lines, (lcap = lcap ? 2 * lcap : 256) * sizeof *lines);
            lines[nl++] = one.s ? one.s : xstrdup("");
            continue; /* BBV lines keep their order */
        }
        if (l[0] == '#')
            continue;
        char tag[8] = "", rest[3][32];
        unsigned v;
        int k = !strncmp(l, "end ", 4) ? 4 : 0;
        if (sscanf(l + k, "%u %31s %*s %31s %31s", &v, rest[0], rest[1], rest[2]) == 4) {
            snprintf(tag, sizeof tag, "%s", k ? "end" : "");
            sbuf_addf(&one, "%s %u %s %s %s", tag, v, rest[0], rest[1], rest[2]);
            if (nl == lcap)
                lines = xrealloc(lines, (lcap = lcap ? 2 * lcap : 256) * sizeof *lines);
            lines[nl++] = one.s;
        }
    }
    if (strstr(what, "positions"))
        qsort(lines, nl, sizeof *lines, cmp_str);
    for (size_t i = 0; i < nl; i++) {
        sbuf_addf(&out, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    for (size_t i = 0; i < nkey; i++)
        free(key[i]);
    free(key);
    free(blocks);
    free(t);
    free(bp);
    free(fp);
    return out.s ? out.s : xstrdup("");
}

struct lm {
    unsigned v;
    unsigned long long n, x, p, at, gap;
};

static int cmp_lm(const void *a, const void *b)
{
    const struct lm *x = a, *y = b;
    return x->v != y->v ? (x->v < y->v ? -1 : 1) : x->n < y->n ? -1 : x->n > y->n;
}

static struct lm *read_lm(const char *path, size_t *n)
{
    char *t = read_file(path, NULL);
    struct lm *v = NULL;
    size_t cap = 0;
    *n = 0;
    for (char *sv = NULL, *l = t ? strtok_r(t, "\n", &sv) : NULL; l; l = strtok_r(NULL, "\n", &sv)) {
        struct lm m;
        if (l[0] == '#' || sscanf(l, "%u %llu %llx %llx %llu %llu", &m.v, &m.n, &m.x, &m.p, &m.at, &m.gap) != 6)
            continue;
        if (*n == cap)
            v = xrealloc(v, (cap = cap ? 2 * cap : 1024) * sizeof *v);
        v[(*n)++] = m;
    }
    free(t);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_lm);
    return v;
}

/* The BBV plugin's landmarks on its fast path (blocks watched only shortly
 * before each landmark) against the helper path's (every block seen): the
 * same points, blocks X and P, P's count; P's gap the same or a lower bound
 * of it that still keeps the trigger's window wide (at least a few thousand
 * instructions; the helper path's 0 means P's first run). */
static void compare_landmarks(const char *fast, const char *ref)
{
    size_t nf, nr, same = 0, bound = 0;
    struct lm *f = read_lm(fast, &nf), *r = read_lm(ref, &nr);
    CHECK_MSG(nr > 100 && nf == nr, "landmarks: %zu on the fast path, %zu on the helper path", nf, nr);
    for (size_t i = 0; i < nf && i < nr; i++) {
        const struct lm *a = &f[i], *b = &r[i];
        if (a->v != b->v || a->n != b->n || a->x != b->x || a->p != b->p || a->at != b->at) {
            CHECK_MSG(0, "landmark %zu: fast %u %llu %llx %llx %llu, helper %u %llu %llx %llx %llu", i, a->v, a->n,
                      a->x, a->p, a->at, b->v, b->n, b->x, b->p, b->at);
            break;
        }
        if (a->gap == b->gap)
            same++;
        else if (a->gap >= 4096 && (b->gap == 0 || a->gap < b->gap))
            bound++;
        else {
            CHECK_MSG(0, "landmark %zu (vcpu %u at %llu): gap %llu on the fast path, %llu on the helper path", i, a->v,
                      a->n, a->gap, b->gap);
            break;
        }
    }
    printf("landmarks: %zu, gap the same in %zu, a lower bound in %zu\n", nf, same, bound);
    free(f);
    free(r);
}

/* The per-block count (count=tb: one add per block of user code, the
 * rest taken out again where an exception leaves a block) and the BBV
 * plugin's inline path (no helper call per block) give exactly what the
 * per-instruction count and the helper path give: pairs of the same plugin
 * in ONE run (two processes on two vCPUs, page faults, a disk, system
 * calls), so the machine they watch is the same. The region's xargs
 * starts its commands by vfork: each child returns from clone() before its
 * parent, and its first block counts on both paths (it did not on the
 * helper path, whose decision at the block's start came before the child
 * joined the region). */
static int test_counting(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-it-count-");
    /* QEMU loads a shared object once: each instance its own copy */
    char *src[2] = {xasprintf("%s/plugins/libffwd-bbv.so", FFWD_BUILD_DIR),
                    xasprintf("%s/plugins/libffwd-icount.so", FFWD_BUILD_DIR)};
    int copies = 0;
    /* pairs: [fast, reference = helper per block, count per instruction];
     * bbv filters: none, user code only (own count of all), the region's
     * process (slots set aside at each switch; the dynamic filter's blocks
     * counted per instruction), landmarks (blocks watched shortly before
     * each) without and with the process filter */
    const char *filt[] = {"", ",mode=user", ",mode=user,process=roi", ",mode=user,landmark=100000",
                          ",mode=user,process=roi,landmark=100000"};
    struct sbuf plug = {0};
    for (int k = 0; k < 2; k++)
        for (int f = 0; f < (k ? 2 : 5); f++)
            for (int c = 0; c < 2; c++) {
                char *so = xasprintf("%s/libffwd-%d.so", dir, copies++);
                CHECK(copy_file(src[k], so, 0755) == 0);
                if (k == 0)
                    sbuf_addf(&plug, "%s,out=%s/b%d%d,interval=5000000%s%s\n", so, dir, f, c, filt[f],
                              c ? ",inline=off,count=insn" : "");
                else
                    sbuf_addf(&plug, "%s,out=%s/i%d%d.json%s%s\n", so, dir, f, c, filt[f], c ? ",count=insn" : "");
                free(so);
            }
    plug.s[plug.len - 1] = 0;
    char *rd = xasprintf("%s/run", dir);
    struct sbuf o = {0};
    const char *a[] = {"boot", "--smp", "2", "--run-dir", rd, "--plugin", plug.s, "--cmd",
                       "ffwd-sort 100000 & ffwd-guest roi -- sh -c 'echo 1 2 3 4 5 6 | xargs -n1 xz -V; xz -3 -c /usr/bin/xz | wc -c; "
                       "ffwd-ptrchase 200000'; wait; ls -R /usr /etc > /dev/null",
                       "--timeout", "600", NULL};
    CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
    const char *ext[] = {"0.bb.gz", "1.bb.gz", "positions"};
    for (int f = 0; f < 5; f++)
        for (int e = 0; e < 3; e++) {
            char *p0 = xasprintf("%s/b%d0", dir, f), *p1 = xasprintf("%s/b%d1", dir, f);
            char *t0 = bbv_norm(p0, ext[e]), *t1 = bbv_norm(p1, ext[e]);
            CHECK_MSG(strlen(t0) > 10 && !strchr(t0, '?'), "%s.%s missing, empty or naming unknown blocks", p0,
                      ext[e]);
            CHECK_MSG(!strcmp(t0, t1), "%s.%s and %s.%s differ", p0, ext[e], p1, ext[e]);
            free(t0);
            free(t1);
            free(p0);
            free(p1);
        }
    for (int f = 3; f < 5; f++) {
        char *p0 = xasprintf("%s/b%d0.landmarks", dir, f), *p1 = xasprintf("%s/b%d1.landmarks", dir, f);
        compare_landmarks(p0, p1);
        free(p0);
        free(p1);
    }
    for (int f = 0; f < 2; f++) {
        char *p0 = xasprintf("%s/i%d0.json", dir, f), *p1 = xasprintf("%s/i%d1.json", dir, f);
        char *t0 = read_file(p0, NULL), *t1 = read_file(p1, NULL);
        CHECK_MSG(t0 && t1 && !strcmp(t0, t1), "icount: %s and %s differ: %s / %s", p0, p1, t0 ? t0 : "-",
                  t1 ? t1 : "-");
        printf("icount%s: %s", filt[f], t0 ? t0 : "-\n");
        free(t0);
        free(t1);
        free(p0);
        free(p1);
    }
    /* the teeth: faults were taken out of the count in this run */
    char *lp = xasprintf("%s/qemu.log", rd), *log = read_file(lp, NULL);
    unsigned long long faults = 0;
    const char *at = log ? strstr(log, "ffwd-bbv: ") : NULL;
    CHECK_MSG(at && sscanf(at, "ffwd-bbv: %llu faulting", &faults) == 1 && faults > 100,
              "no faulting instructions were corrected (%llu): %s", faults, log ? log : "-");
    printf("faulting instructions taken out of the count: %llu\n", faults);
    free(log);
    free(lp);
    sbuf_free(&o);
    sbuf_free(&plug);
    free(src[0]);
    free(src[1]);
    free(rd);
    if (!t_fail)
        rm_rf(dir);
    else
        printf("kept %s\n", dir);
    free(dir);
    return test_done();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "process"))
        return test_process();
    if (argc == 2 && !strcmp(argv[1], "counting"))
        return test_counting();
    if (argc != 2 || strcmp(argv[1], "bbv"))
        return 2;
    char *k = guest_path("kernel"), *i = guest_path("initrd");
    char *dir = make_temp_dir("/tmp", "ffwd-it-bbv-");
    char *bb[2] = {0};
    struct sample_positions pos0 = {0};
    for (int r = 0; r < 2; r++) {
        char *prefix = xasprintf("%s/run%d", dir, r);
        char *plug = xasprintf("%s/plugins/libffwd-bbv.so,out=%s,interval=20000000", FFWD_BUILD_DIR, prefix);
        char *rd = xasprintf("%s/rd%d", dir, r);
        struct sbuf o = {0};
        const char *a[] = {"boot", "--deterministic", "--kernel", k, "--initrd", i, "--append", "ffwd.root=none",
                           "--plugin", plug, "--cmd", "ffwd-matmul 128 && ffwd-sort 50000", "--timeout", "300",
                           "--run-dir", rd, NULL};
        CHECK_MSG(ffwd(&o, a) == 0, "%s", o.s);
        /* icount runs count per instruction: ffwd told its plugin so (its
         * arguments hold a path: the plugin is still recognised as ffwd's) */
        char *cl = xasprintf("%s/qemu.cmdline", rd), *cmdline = read_file(cl, NULL);
        CHECK_MSG(cmdline && strstr(cmdline, "interval=20000000,count=insn"), "QEMU ran %s",
                  cmdline ? cmdline : "-");
        free(cmdline), free(cl), free(rd);
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
