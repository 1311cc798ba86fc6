/*
 * The cache model against a trusted reference: valgrind's cachegrind.
 *
 * The host builds of the demo workloads run twice under valgrind: lackey
 * prints every data access (address, size), which we replay through ffwd's
 * cache model; cachegrind simulates the same D1 geometry on the same
 * program. Valgrind runs a program deterministically, so both see the same
 * addresses, and the D1 miss counts must agree (they are equal but for the
 * few instructions lackey and cachegrind instrument differently).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "model/cache.h"
#include "tests/test.h"

/* Our replay of lackey's access list: data references and D1 misses. */
static int replay(const char *prog, const char *arg, const char *spec, unsigned long long *refs,
                  unsigned long long *misses)
{
    /* started exactly as cachegrind is below (same environment, so the same stack addresses) */
    char *log = xasprintf("/tmp/ffwd-lackey-%d.txt", (int)getpid()), *lf = xasprintf("--log-file=%s", log);
    char *argv[] = {"valgrind", "--tool=lackey", "--trace-mem=yes", lf, (char *)prog, (char *)arg, NULL};
    int st = run_cmd(argv, &(struct run_opts){.quiet = true});
    FILE *p = st == 0 ? fopen(log, "r") : NULL;
    free(lf);
    struct cache_cfg cfg;
    struct cache c;
    char err[200], line[256];
    if (!p || cache_parse(spec, &cfg, err, sizeof err) < 0 || cache_init(&c, &cfg, err, sizeof err) < 0) {
        if (p)
            fclose(p);
        unlink(log);
        free(log);
        return -1;
    }
    while (fgets(line, sizeof line, p)) {
        unsigned long long a;
        unsigned sz;
        char k;
        /* " L addr,size", " S ...", " M ..." (modify: one reference, as cachegrind); "I" lines are fetches */
        if (line[0] != ' ' || sscanf(line + 1, "%c %llx,%u", &k, &a, &sz) != 3 || (k != 'L' && k != 'S' && k != 'M'))
            continue;
        cache_access_range(&c, a, sz, NULL, NULL);
    }
    fclose(p);
    unlink(log);
    free(log);
    *refs = c.accesses;
    *misses = c.misses;
    cache_free(&c);
    return 0;
}

static unsigned long long number_after(const char *s, const char *key)
{
    const char *p = s ? strstr(s, key) : NULL;
    if (!p)
        return 0;
    p += strlen(key);
    unsigned long long v = 0;
    for (; *p && *p != '('; p++)
        if (*p >= '0' && *p <= '9')
            v = v * 10 + (unsigned long long)(*p - '0');
    return v;
}

/* cachegrind's D refs and D1 misses for one D1 geometry "size,assoc,line". */
static int cachegrind(const char *prog, const char *arg, const char *geom, unsigned long long *refs,
                      unsigned long long *misses)
{
    char *d1 = xasprintf("--D1=%s", geom);
    char *argv[] = {"valgrind", "--tool=cachegrind", "--cache-sim=yes", d1, "--I1=32768,2,64",
                    "--LL=8388608,16,64", "--cachegrind-out-file=/dev/null", (char *)prog, (char *)arg, NULL};
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
    *refs = number_after(o.s, "D   refs:");
    *misses = number_after(o.s, "D1  misses:");
    sbuf_free(&o);
    free(d1);
    return st == 0 && *refs ? 0 : -1;
}

int main(void)
{
    if (!have_program("valgrind")) {
        /* scripts/install-deps.sh installs it: a missing valgrind is a broken setup, not a pass */
        fprintf(stderr, "valgrind is not installed (scripts/install-deps.sh installs it)\n");
        return 1;
    }
    struct {
        const char *prog, *arg;
    } progs[] = {{"matmul", "48"}, {"sort", "5000"}, {"ptrchase", "20000"}};
    struct {
        const char *ours, *cg;
    } geoms[] = {{"32K:2:64", "32768,2,64"}, {"8K:1:64", "8192,1,64"}, {"16K:4:32", "16384,4,32"}};
    int exact = 0, cases = 0;
    for (size_t i = 0; i < sizeof progs / sizeof *progs; i++) {
        char *prog = xasprintf("%s/host_%s", HOST_BIN_DIR, progs[i].prog);
        for (size_t g = 0; g < sizeof geoms / sizeof *geoms; g++) {
            unsigned long long r1 = 0, m1 = 0, r2 = 0, m2 = 0;
            CHECK(replay(prog, progs[i].arg, geoms[g].ours, &r1, &m1) == 0);
            CHECK(cachegrind(prog, progs[i].arg, geoms[g].cg, &r2, &m2) == 0);
            printf("%-8s D1 %-9s refs ffwd %llu cachegrind %llu; misses ffwd %llu cachegrind %llu\n", progs[i].prog,
                   geoms[g].ours, r1, r2, m1, m2);
            /* equal, but for a handful: lackey and cachegrind instrument a few instructions (string and
             * vector operations) differently -- seen once: 58,990 vs 58,988 with another build of sort */
            unsigned long long d = m1 > m2 ? m1 - m2 : m2 - m1;
            CHECK_MSG(m1 > 0 && d <= 4 + m2 / 10000, "%s %s: %llu misses, cachegrind %llu", progs[i].prog,
                      geoms[g].ours, m1, m2);
            exact += d == 0;
            cases++;
            /* lackey and cachegrind count a handful of references differently at start-up */
            CHECK_MSG(r1 + r1 / 1000 >= r2 && r2 + r2 / 1000 >= r1, "refs %llu vs %llu", r1, r2);
        }
        free(prog);
    }
    printf("D1 misses equal to cachegrind's in %d of %d cases\n", exact, cases);
    return test_done();
}
