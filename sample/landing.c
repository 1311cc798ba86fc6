/*
 * landing.c -- compare a rerun's intervals with the profile's (landing.h).
 */
#define _GNU_SOURCE
#include "landing.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/util.h"
#include "sample.h"
#include "simpoint.h"

void landing_vec_free(struct landing_vec *v)
{
    free(v->key);
    free(v->w);
    memset(v, 0, sizeof *v);
}

/* PREFIX.blocks: "<id> <length> <hash hex> <vaddr hex>" -> id -> hash */
static int load_blocks(const char *path, GHashTable *ids)
{
    char *text = read_text_file(path, NULL);
    if (!text)
        return -1;
    unsigned long lineno = 0;
    int rc = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (l[0] == '#')
            continue;
        unsigned long long id, hash, va;
        unsigned len;
        if (sscanf(l, "%llu %u %llx %llx", &id, &len, &hash, &va) != 4 || !id) {
            rc = ffwd_seterr("%s:%lu: expected \"<id> <length> <code hash> <vaddr>\"", path, lineno);
            break;
        }
        uint64_t *k = g_new(uint64_t, 2);
        k[0] = id;
        k[1] = hash ^ ((uint64_t)len << 56); /* the length is part of the key */
        g_hash_table_replace(ids, k, k + 1);
    }
    free(text);
    return rc;
}

struct load_ctx {
    const char *path;
    GHashTable *ids;
    GHashTable *wanted; /* interval -> GHashTable* (hash -> count) */
};

static int on_line(size_t iv, const char *line, void *vctx)
{
    struct load_ctx *c = vctx;
    gint64 k = (gint64)iv;
    GHashTable *acc = g_hash_table_lookup(c->wanted, &k);
    if (!acc)
        return 0;
    for (const char *q = strchr(line, ':'); q;) {
        unsigned long long id, cnt;
        int used = 0;
        if (sscanf(q, ":%llu:%llu%n", &id, &cnt, &used) != 2)
            return ffwd_seterr("%s: interval %zu: malformed id:count pair", c->path, iv);
        uint64_t key = id;
        uint64_t *h = g_hash_table_lookup(c->ids, &key);
        if (!h)
            return ffwd_seterr("%s: interval %zu: block id %llu is not in the blocks file", c->path, iv, id);
        gpointer old = g_hash_table_lookup(acc, h);
        uint64_t *v = old ? old : g_new0(uint64_t, 1);
        *v += cnt;
        if (!old)
            g_hash_table_insert(acc, h, v);
        q = strchr(q + used, ':');
    }
    return 0;
}

static gboolean u64_equal(gconstpointer a, gconstpointer b) { return *(const uint64_t *)a == *(const uint64_t *)b; }
static guint u64_hash(gconstpointer a)
{
    uint64_t x = *(const uint64_t *)a;
    return (guint)(x ^ (x >> 32));
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int landing_load(const char *prefix, unsigned vcpu, const size_t *want, size_t n, struct landing_vec *out)
{
    memset(out, 0, n * sizeof *out);
    char *bp = xasprintf("%s.blocks", prefix), *vp = xasprintf("%s.%u.bb.gz", prefix, vcpu);
    GHashTable *ids = g_hash_table_new_full(u64_hash, u64_equal, g_free, NULL);
    GHashTable *wanted = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                               (GDestroyNotify)g_hash_table_destroy);
    for (size_t i = 0; i < n; i++) {
        gint64 k = (gint64)want[i];
        if (!g_hash_table_contains(wanted, &k)) {
            gint64 *kk = g_new(gint64, 1);
            *kk = k;
            g_hash_table_insert(wanted, kk, g_hash_table_new_full(u64_hash, u64_equal, NULL, g_free));
        }
    }
    struct load_ctx c = {vp, ids, wanted};
    int rc = load_blocks(bp, ids);
    if (rc == 0)
        rc = bbv_each_line(vp, on_line, &c);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        gint64 k = (gint64)want[i];
        GHashTable *acc = g_hash_table_lookup(wanted, &k);
        struct landing_vec *v = &out[i];
        v->n = g_hash_table_size(acc);
        v->key = xmalloc((v->n ? v->n : 1) * sizeof *v->key);
        v->w = xmalloc((v->n ? v->n : 1) * sizeof *v->w);
        GHashTableIter it;
        gpointer hk, hv;
        size_t j = 0;
        g_hash_table_iter_init(&it, acc);
        while (g_hash_table_iter_next(&it, &hk, &hv))
            v->key[j++] = *(uint64_t *)hk;
        qsort(v->key, v->n, sizeof *v->key, cmp_key);
        for (j = 0; j < v->n; j++) {
            uint64_t cnt = *(uint64_t *)g_hash_table_lookup(acc, &v->key[j]);
            v->w[j] = (double)cnt;
            v->insns += cnt;
        }
        for (j = 0; j < v->n; j++)
            v->w[j] /= (double)v->insns;
    }
    g_hash_table_destroy(wanted);
    g_hash_table_destroy(ids);
    free(bp);
    free(vp);
    if (rc < 0)
        for (size_t i = 0; i < n; i++)
            landing_vec_free(&out[i]);
    return rc;
}

double landing_distance(const struct landing_vec *a, const struct landing_vec *b)
{
    if (!a->n || !b->n)
        return a->n == b->n ? 0.0 : 2.0;
    double d = 0;
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        if (j == b->n || (i < a->n && a->key[i] < b->key[j]))
            d += a->w[i++];
        else if (i == a->n || b->key[j] < a->key[i])
            d += b->w[j++];
        else
            d += fabs(a->w[i++] - b->w[j++]);
    }
    return d;
}

void landing_report_free(struct landing_report *r)
{
    free(r->distance);
    free(r->all_offset);
    memset(r, 0, sizeof *r);
}

/* The counted count of a run at its all-instruction count `all` (this
 * vCPU), interpolated between the run's interval starts. */
static double counted_at(const struct sample_positions *p, unsigned v, uint64_t all)
{
    size_t n = p->n[v];
    if (!n || all <= p->self[v][0])
        return n ? (double)p->counted[v][0] : 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (all < p->self[v][i + 1]) {
            double f = (double)(all - p->self[v][i]) / (double)(p->self[v][i + 1] - p->self[v][i]);
            return (double)p->counted[v][i] + f * (double)(p->counted[v][i + 1] - p->counted[v][i]);
        }
    return (double)p->counted[v][n - 1];
}

int landing_compare(const char *profile, const char *rerun, unsigned vcpu, struct landing_report *r)
{
    memset(r, 0, sizeof *r);
    struct sample_positions a = {0}, b = {0};
    char *pa = xasprintf("%s.positions", profile), *pb = xasprintf("%s.positions", rerun);
    int rc = -1;
    size_t n = 0, *want = NULL;
    struct landing_vec *va = NULL, *vb = NULL;
    if (sample_positions_read(pa, &a) < 0 || sample_positions_read(pb, &b) < 0)
        goto out;
    if (vcpu >= a.nvcpus || vcpu >= b.nvcpus) {
        ffwd_seterr("%s or %s: no intervals of vCPU %u", pa, pb, vcpu);
        goto out;
    }
    n = a.n[vcpu] < b.n[vcpu] ? a.n[vcpu] : b.n[vcpu];
    want = xmalloc((n ? n : 1) * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = i;
    va = xcalloc(n ? n : 1, sizeof *va);
    vb = xcalloc(n ? n : 1, sizeof *vb);
    if (landing_load(profile, vcpu, want, n, va) < 0 || landing_load(rerun, vcpu, want, n, vb) < 0)
        goto out;
    r->n = n;
    r->distance = xmalloc((n ? n : 1) * sizeof *r->distance);
    r->all_offset = xmalloc((n ? n : 1) * sizeof *r->all_offset);
    double iv = a.interval ? (double)a.interval : 1;
    for (size_t i = 0; i < n; i++) {
        r->distance[i] = landing_distance(&va[i], &vb[i]);
        r->all_offset[i] = fabs(counted_at(&b, vcpu, a.self[vcpu][i]) - (double)a.counted[vcpu][i]) / iv;
    }
    rc = 0;
out:
    for (size_t i = 0; va && i < n; i++)
        landing_vec_free(&va[i]), landing_vec_free(&vb[i]);
    free(va);
    free(vb);
    free(want);
    free(pa);
    free(pb);
    sample_positions_free(&a);
    sample_positions_free(&b);
    if (rc < 0)
        landing_report_free(r);
    return rc;
}
