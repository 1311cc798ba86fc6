/*
 * test_flow.c -- `ffwd flow` on the real demo guest.
 *
 *   calls    ffwd-sort: per-function call counts against valgrind's callgrind
 *            on the host build of the same source, system calls against
 *            strace of it; the files (JSON, folded stacks, SVG) and the report
 *   faults   exact counts when a block is left early: the same loop with and
 *            without a page fault at every page (memtouch MIB faults)
 *   loops    matmul's loop nests: executions, iterations and trip counts
 *            exactly as the source has them
 *   roi      --process roi: only the region's tasks, with the same counts
 *   dynamic  a Debian program from the disk (xz, dynamically linked, behind a
 *            pipe from another process): libraries found through its
 *            mappings, functions named from their dynamic symbols
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "flow/elfsym.h"
#include "helpers.h"

static json_t *proc_named(json_t *flow, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(flow, "processes"), i, p) if (!strcmp(
        json_string_value(json_object_get(p, "name")) ? json_string_value(json_object_get(p, "name")) : "", name)) return p;
    return NULL;
}

static json_t *entry_named(json_t *proc, const char *table, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(proc, table), i, f)
    {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && !strcmp(n, name))
            return f;
    }
    return NULL;
}

static long long num(json_t *o, const char *k) { return o ? (long long)json_integer_value(json_object_get(o, k)) : -1; }

/* Calls per callee in a callgrind file ("cfn=(id) name" then "calls=N ..."). */
static long long callgrind_calls(const char *path, const char *fn)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL, **names = NULL;
    size_t cap = 0, nn = 0;
    long long total = 0;
    bool in = false;
    while (getline(&line, &cap, f) > 0) {
        unsigned id;
        int off = 0;
        bool cfn = !strncmp(line, "cfn=(", 5);
        if ((cfn || !strncmp(line, "fn=(", 4)) && sscanf(line + (cfn ? 5 : 4), "%u)%n", &id, &off) == 1) {
            char *nm = line + (cfn ? 5 : 4) + off;
            nm += strspn(nm, " ");
            nm[strcspn(nm, "\n")] = 0;
            if (id >= nn) {
                names = xrealloc(names, (id + 1) * sizeof *names);
                for (size_t k = nn; k <= id; k++)
                    names[k] = NULL;
                nn = id + 1;
            }
            if (*nm && !names[id])
                names[id] = xstrdup(nm);
            in = cfn && names[id] && !strcmp(names[id], fn);
            continue;
        }
        if (!strncmp(line, "calls=", 6)) {
            if (in)
                total += atoll(line + 6);
            in = false;
        }
    }
    for (size_t k = 0; k < nn; k++)
        free(names[k]);
    free(names);
    free(line);
    fclose(f);
    return total;
}

static long long count_lines_starting(const char *text, const char *prefix)
{
    long long n = 0;
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, prefix, strlen(prefix)))
            n++;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return n;
}

static int t_calls(const char *dir)
{
    char *prefix = xasprintf("%s/sort", dir);
    const char *a[] = {"flow", "record", "--out", prefix, "--json", "--cmd", "ffwd-sort 20000", NULL};
    int rc;
    json_t *j = ffwd_json(a, &rc);
    CHECK(rc == 0 && j);
    json_t *p = proc_named(j, "ffwd-sort");
    CHECK_MSG(p, "no process ffwd-sort");
    /* the host build of the same source under callgrind and strace */
    char *host = xasprintf("%s/host_sort", HOST_BIN_DIR), *cg = xasprintf("%s/cg.out", dir),
         *cgo = xasprintf("--callgrind-out-file=%s", cg), *st = xasprintf("%s/strace.out", dir);
    char *va[] = {"valgrind", "--tool=callgrind", "--separate-recs=1", cgo, host, "20000", NULL};
    CHECK_MSG(run_cmd(va, &(struct run_opts){.quiet = true}) == 0, "valgrind (scripts/install-deps.sh installs it)");
    char *sa[] = {"strace", "-f", "-o", st, "-e", "trace=write,exit_group", host, "20000", NULL};
    CHECK_MSG(run_cmd(sa, &(struct run_opts){.quiet = true}) == 0, "strace (scripts/install-deps.sh installs it)");
    /* per-function call counts: the functions of the workload and of the C
     * library both builds call the same way. (gcc for arm64 turns the merge's
     * copy loops into memcpy calls, gcc for x86-64 does not: memcpy differs,
     * and merge_sort, called once, is inlined into main by both) */
    const char *same[] = {"quick_sort", "printf", NULL};
    for (const char *const *f = same; *f; f++) {
        long long want = callgrind_calls(cg, *f), got = num(entry_named(p, "functions", *f), "calls");
        printf("calls of %s: ffwd flow %lld, callgrind %lld\n", *f, got, want);
        CHECK_MSG(want > 0 && got == want, "%s: ffwd flow %lld calls, callgrind %lld", *f, got, want);
    }
    char *trace = read_file(st, NULL);
    long long writes = count_lines_starting(trace, "write("), exits = count_lines_starting(trace, "exit_group(");
    if (!writes) { /* strace -f prefixes the pid */
        for (const char *q = trace; q && (q = strstr(q, " write(")); q++)
            writes++;
        for (const char *q = trace; q && (q = strstr(q, " exit_group(")); q++)
            exits++;
    }
    long long fw = num(entry_named(p, "syscalls", "write"), "count"), fe = num(entry_named(p, "syscalls", "exit_group"), "count");
    printf("write: ffwd flow %lld, strace %lld; exit_group: %lld, %lld\n", fw, writes, fe, exits);
    CHECK(writes > 0 && fw == writes);
    CHECK(exits == 1 && fe == 1);
    json_t *w = entry_named(p, "syscalls", "write");
    CHECK(num(w, "kernel_instructions") > 0 && json_array_size(json_object_get(w, "instructions_log2")) > 0);
    /* the quick sort's recursion is a loop of calls; its inner loops iterate */
    json_t *qs = entry_named(p, "functions", "quick_sort");
    CHECK(num(qs, "inclusive") > 1000000 && num(qs, "exclusive") <= num(qs, "inclusive"));
    size_t i;
    json_t *l;
    long long qs_loops = 0;
    json_array_foreach(json_object_get(p, "loops"), i, l)
    {
        const char *fn = json_string_value(json_object_get(l, "function"));
        if (fn && !strcmp(fn, "quick_sort") && num(l, "iterations") >= num(l, "executions") && num(l, "executions") > 0)
            qs_loops++;
    }
    CHECK_MSG(qs_loops >= 3, "quick_sort has %lld loops", qs_loops);
    /* the files: folded stacks name the path to quick_sort; the SVG has it */
    char *fo = xasprintf("%s.folded", prefix), *sv = xasprintf("%s.svg", prefix);
    char *folded = read_file(fo, NULL), *svg = read_file(sv, NULL);
    CHECK_STR_HAS(folded, ";quick_sort;quick_sort");
    CHECK_STR_HAS(svg, "<svg");
    CHECK_STR_HAS(svg, "quick_sort");
    /* the report names it again from the raw file */
    struct sbuf o = {0};
    const char *ra[] = {"flow", "report", prefix, "--top", "5", NULL};
    CHECK_MSG(ffwd(&o, ra) == 0, "%s", o.s);
    CHECK_STR_HAS(o.s, "quick_sort");
    CHECK_STR_HAS(o.s, "== ffwd-sort");
    /* a cut-short file is refused, naming it */
    char *raw = xasprintf("%s.flow.raw", prefix), *bad = xasprintf("%s/cut", dir), *badraw = xasprintf("%s.flow.raw", bad);
    size_t len = 0;
    char *text = read_file(raw, &len);
    CHECK(text && write_file_atomic(badraw, text, len / 2, 0644) == 0);
    const char *ba[] = {"flow", "report", bad, NULL};
    CHECK(ffwd(&o, ba) == 1);
    CHECK_STR_HAS(o.s, "cut.flow.raw"); /* the message names the file */
    free(text), free(raw), free(bad), free(badraw);
    sbuf_free(&o);
    free(folded), free(svg), free(fo), free(sv), free(trace);
    free(host), free(cg), free(cgo), free(st), free(prefix);
    json_decref(j);
    return 0;
}

static int t_faults(const char *dir)
{
    char *prefix = xasprintf("%s/mt", dir);
    const unsigned mib = 8;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "ffwd-memtouch %u faults", mib);
    const char *a[] = {"flow", "record", "--out", prefix, "--json", "--no-loops", "--cmd", cmd, NULL};
    int rc;
    json_t *j = ffwd_json(a, &rc);
    CHECK(rc == 0 && j);
    json_t *p = proc_named(j, "ffwd-memtouch");
    long long cold = num(entry_named(p, "functions", "touch_cold"), "inclusive"),
              warm = num(entry_named(p, "functions", "touch_warm"), "inclusive");
    long long faults = num(j, "faulting_instructions_uncounted");
    /* the two functions are the same loop; the compiler may pad one (a nop
     * executed once): the difference of their sizes in instructions */
    char *un = xasprintf("%s/guest/unstripped", FFWD_BUILD_DIR);
    struct elf_files fs = {.guest_unstripped = un};
    const struct elf_file *ef = elf_files_get(&fs, "/bin/ffwd-memtouch");
    long long sz_cold = -1, sz_warm = -1;
    for (size_t i = 0; ef && i < ef->nsyms; i++) {
        if (!strcmp(ef->syms[i].name, "touch_cold"))
            sz_cold = (long long)ef->syms[i].size / 4;
        if (!strcmp(ef->syms[i].name, "touch_warm"))
            sz_warm = (long long)ef->syms[i].size / 4;
    }
    printf("touch_cold %lld, touch_warm %lld instructions (sizes %lld, %lld); %lld faulting instructions uncounted\n",
           cold, warm, sz_cold, sz_warm, faults);
    CHECK(faults >= 256LL * mib); /* every page of the buffer faulted once, mid-block */
    CHECK(cold > 2048LL * mib * 5);
    CHECK_MSG(sz_cold > 0 && warm - cold == sz_warm - sz_cold,
              "touch_cold %lld vs touch_warm %lld instructions: the faults moved the count", cold, warm);
    elf_files_free(&fs);
    free(un), free(prefix);
    json_decref(j);
    return 0;
}

static int t_dynamic(const char *dir)
{
    char *prefix = xasprintf("%s/xz", dir);
    const char *a[] = {"flow", "record", "--out", prefix, "--json", "--cmd",
                       "head -c 300000 /data/input.txt | /usr/bin/xz -c > /tmp/o.xz", NULL};
    int rc;
    json_t *j = ffwd_json(a, &rc);
    CHECK(rc == 0 && j);
    json_t *p = proc_named(j, "xz");
    CHECK_MSG(p, "no process xz");
    CHECK_STR_HAS(json_string_value(json_object_get(p, "path")), "/usr/bin/xz");
    /* liblzma was found through xz's own mappings, on the disk, and names its code */
    json_t *lc = entry_named(p, "functions", "lzma_code");
    CHECK(num(lc, "calls") >= 1 && num(lc, "inclusive") > 1000000);
    CHECK_STR_HAS(json_string_value(json_object_get(lc, "file")), "liblzma.so");
    CHECK(num(entry_named(p, "functions", "__libc_start_main"), "calls") == 1);
    CHECK(num(entry_named(p, "syscalls", "read"), "count") >= 10);
    CHECK(num(entry_named(p, "syscalls", "write"), "count") >= 1);
    CHECK(num(entry_named(p, "syscalls", "openat"), "count") >= 2);
    char *txt = json_dumps(json_object_get(p, "symbol_files"), 0);
    CHECK_STR_HAS(txt, "libc.so.6");
    free(txt);
    free(prefix);
    json_decref(j);
    return 0;
}

/* Loops with known trip counts: matmul N's nests (guest/workloads/matmul.c),
 * each loop's executions and iterations from the source. */
static int t_loops(const char *dir)
{
    char *prefix = xasprintf("%s/mm", dir);
    const long long n = 64, bs = 32, rows = n / 4, nb = n / bs;
    const char *a[] = {"flow", "record", "--out", prefix, "--json", "--cmd", "ffwd-matmul 64", NULL};
    int rc;
    json_t *j = ffwd_json(a, &rc);
    CHECK(rc == 0 && j);
    /* {executions, iterations}: init and reduce; naive i, j, k; blocked ii, kk, jj, i, k, j */
    long long want[][2] = {{1, n * n},
                           {1, n * n},
                           {1, rows},
                           {rows, rows * n},
                           {rows * n, rows * n * n},
                           {1, nb},
                           {nb, nb * nb},
                           {nb * nb, nb * nb * nb},
                           {nb * nb * nb, nb * nb * nb * bs},
                           {nb * nb * nb * bs, nb * nb * nb * bs * bs},
                           {nb * nb * nb * bs * bs, nb * nb * nb * bs * bs * bs}};
    size_t nw = sizeof want / sizeof *want;
    bool *found = xcalloc(nw, sizeof *found);
    size_t i, nmain = 0;
    json_t *l;
    json_array_foreach(json_object_get(proc_named(j, "ffwd-matmul"), "loops"), i, l)
    {
        const char *fn = json_string_value(json_object_get(l, "function"));
        if (!fn || strcmp(fn, "main"))
            continue;
        nmain++;
        long long e = num(l, "executions"), it = num(l, "iterations");
        size_t k;
        for (k = 0; k < nw; k++)
            if (!found[k] && want[k][0] == e && want[k][1] == it)
                break;
        CHECK_MSG(k < nw, "loop %s of main: %lld executions, %lld iterations: not one of matmul's",
                  json_string_value(json_object_get(l, "branch")), e, it);
        if (k < nw) {
            found[k] = true;
            /* every execution has the same trip count: one bin of the histogram */
            json_t *h = json_object_get(l, "trips_log2");
            long long tr = it / e, bin = 0;
            while (tr)
                tr >>= 1, bin++;
            CHECK((long long)json_integer_value(json_array_get(h, (size_t)bin)) == e);
        }
    }
    CHECK_MSG(nmain == nw, "main has %zu loops, matmul.c %zu", nmain, nw);
    free(found), free(prefix);
    json_decref(j);
    return 0;
}

/* --process roi: only the region's tasks (ffwd-guest roi -- CMD), the same counts */
static int t_roi(const char *dir)
{
    char *prefix = xasprintf("%s/roi", dir);
    const char *a[] = {"flow", "record", "--out", prefix, "--json", "--process", "roi", "--cmd",
                       "ffwd-sort 3000; ffwd-guest roi -- ffwd-sort 20000", NULL};
    int rc;
    json_t *j = ffwd_json(a, &rc);
    CHECK(rc == 0 && j);
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(json_object_get(j, "processes"), i, p)
    {
        const char *nm = json_string_value(json_object_get(p, "name"));
        CHECK_MSG(nm && (!strcmp(nm, "ffwd-guest") || !strcmp(nm, "ffwd-sort")), "process %s is not the region's",
                  nm ? nm : "?");
        n += nm && !strcmp(nm, "ffwd-sort");
    }
    CHECK(n == 1); /* the first ffwd-sort ran outside the region */
    char *host = xasprintf("%s/host_sort", HOST_BIN_DIR), *cg = xasprintf("%s/cg.out", dir),
         *cgo = xasprintf("--callgrind-out-file=%s", cg);
    char *va[] = {"valgrind", "--tool=callgrind", "--separate-recs=1", cgo, host, "20000", NULL};
    CHECK(run_cmd(va, &(struct run_opts){.quiet = true}) == 0);
    long long want = callgrind_calls(cg, "quick_sort"),
              got = num(entry_named(proc_named(j, "ffwd-sort"), "functions", "quick_sort"), "calls");
    CHECK_MSG(want > 0 && got == want, "quick_sort: %lld calls in the region, callgrind %lld", got, want);
    free(host), free(cg), free(cgo), free(prefix);
    json_decref(j);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char *dir = make_temp_dir("/tmp", "ffwd-it-flow-");
    if (!strcmp(argv[1], "calls"))
        t_calls(dir);
    else if (!strcmp(argv[1], "faults"))
        t_faults(dir);
    else if (!strcmp(argv[1], "dynamic"))
        t_dynamic(dir);
    else if (!strcmp(argv[1], "roi"))
        t_roi(dir);
    else if (!strcmp(argv[1], "loops"))
        t_loops(dir);
    else
        return 2;
    int r = test_done();
    if (!r)
        rm_rf(dir);
    free(dir);
    return r;
}
