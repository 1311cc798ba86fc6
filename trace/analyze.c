/*
 * analyze.c -- trace statistics. Reuse distances are exact: a Fenwick tree
 * over access times marks each line's most recent access; the distance of a
 * re-reference is the number of marks after its previous access. When the
 * time axis fills up, the live marks are renumbered densely, so memory is
 * proportional to the number of distinct lines, not to the trace length.
 */
#define _GNU_SOURCE
#include "analyze.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/util.h"
#include "trace.h"

struct fenwick {
    uint64_t n;
    uint32_t *t;
};

static void fw_add(struct fenwick *f, uint64_t i, int d)
{
    for (; i <= f->n; i += i & -i)
        f->t[i] += (uint32_t)d;
}

static uint64_t fw_sum(const struct fenwick *f, uint64_t i)
{
    uint64_t s = 0;
    for (; i; i -= i & -i)
        s += f->t[i];
    return s;
}

struct live {
    uint64_t line, time;
};

static int cmp_time(const void *a, const void *b)
{
    const struct live *x = a, *y = b;
    return x->time < y->time ? -1 : x->time > y->time;
}

/* Renumber the live marks 1..D in time order; returns the next free time. */
static uint64_t compact(GHashTable *last, struct fenwick *f)
{
    guint n = g_hash_table_size(last);
    struct live *v = xmalloc((n ? n : 1) * sizeof *v);
    GHashTableIter it;
    gpointer k, val;
    guint i = 0;
    g_hash_table_iter_init(&it, last);
    while (g_hash_table_iter_next(&it, &k, &val)) {
        v[i].line = *(uint64_t *)k;
        v[i++].time = *(uint64_t *)val;
    }
    qsort(v, n, sizeof *v, cmp_time);
    uint64_t cap = (uint64_t)n * 2 > (1u << 20) ? (uint64_t)n * 2 : (1u << 20);
    free(f->t);
    f->n = cap;
    f->t = xcalloc(cap + 1, sizeof *f->t);
    for (i = 0; i < n; i++) {
        uint64_t *tp = g_hash_table_lookup(last, &v[i].line);
        *tp = i + 1;
        fw_add(f, i + 1, 1);
    }
    free(v);
    return (uint64_t)n + 1;
}

int trace_analyze(const char *path, unsigned line, struct trace_stats *st)
{
    memset(st, 0, sizeof *st);
    double t0 = now_sec();
    unsigned lshift = 0;
    line = line ? line : 64;
    while ((1u << lshift) < line)
        lshift++;
    struct trace_reader r;
    if (trace_open_read(&r, path) < 0)
        return ffwd_seterr("%s", r.err);
    GHashTable *last = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    GHashTable *pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    struct fenwick f = {0};
    uint64_t now = compact(last, &f);
    struct trace_rec rec;
    int rc;
    while ((rc = trace_next(&r, &rec)) == 1) {
        if (!st->records)
            st->first_icount = rec.icount;
        st->last_icount = rec.icount;
        st->records++;
        rec.store ? st->stores++ : st->loads++;
        unsigned sz = 0;
        while ((1u << sz) < rec.size && sz < 7)
            sz++;
        st->by_size[sz]++;
        uint64_t pg = rec.paddr >> 12;
        if (!g_hash_table_contains(pages, &pg))
            g_hash_table_add(pages, g_memdup2(&pg, sizeof pg));
        uint64_t ln = rec.paddr >> lshift;
        if (((rec.paddr + rec.size - 1) >> lshift) != ln)
            st->crossing++;
        if (now > f.n)
            now = compact(last, &f);
        uint64_t *prev = g_hash_table_lookup(last, &ln);
        if (prev) {
            uint64_t d = fw_sum(&f, now - 1) - fw_sum(&f, *prev);
            unsigned b = 0;
            while (b + 1 < REUSE_BUCKETS && (1ULL << b) <= d)
                b++;
            st->reuse[b]++;
            fw_add(&f, *prev, -1);
            *prev = now;
        } else {
            st->cold++;
            uint64_t *t = g_new(uint64_t, 1);
            *t = now;
            g_hash_table_insert(last, g_memdup2(&ln, sizeof ln), t);
        }
        fw_add(&f, now, 1);
        now++;
    }
    if (rc < 0)
        ffwd_seterr("%s: %s", path, r.err);
    st->lines = g_hash_table_size(last);
    st->pages = g_hash_table_size(pages);
    g_hash_table_destroy(last);
    g_hash_table_destroy(pages);
    free(f.t);
    trace_close_read(&r);
    st->seconds = now_sec() - t0;
    return rc < 0 ? -1 : 0;
}

double trace_lru_miss_ratio(const struct trace_stats *st, uint64_t lines)
{
    if (!st->records)
        return 0;
    /* bucket b holds distances in [2^(b-1), 2^b): a hit iff distance < lines;
     * lines is taken as a power of two, so buckets split exactly */
    uint64_t miss = st->cold;
    for (unsigned b = 0; b < REUSE_BUCKETS; b++) {
        uint64_t lo = b ? 1ULL << (b - 1) : 0;
        if (lo >= lines)
            miss += st->reuse[b];
    }
    return (double)miss / (double)st->records;
}
