/*
 * simpoint.c -- SimPoint 3.2's clustering of basic-block vectors (see
 * simpoint.h for the method and where we differ on purpose).
 */
#define _GNU_SOURCE
#include "simpoint.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/err.h"
#include "../common/util.h"

/* ---- random numbers ---------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *s) { return mix64(*s += 0x9e3779b97f4a7c15ULL); }

/* uniform in [0, 1) */
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

/* ---- reading BBVs ------------------------------------------------------ */

void bbv_free(struct bbv_data *d)
{
    free(d->x);
    free(d->w);
    free(d->insns);
    memset(d, 0, sizeof *d);
}

/* A line reader over gzread: gzgets cannot tell a NUL byte from the end of
 * a line, and a BBV with a NUL in it is not a BBV. */
struct gz_lines {
    gzFile f;
    char in[1 << 15]; /* with zlib's buffers (gzbuffer below) each under 128 KiB: cheap to allocate per file */
    size_t pos, len;
    bool eof;
};

/* Read one line (any length) into *buf. Returns its length, 0 at EOF, -1 on
 * error (message set, naming `path`). */
static long gz_line(struct gz_lines *g, const char *path, char **buf, size_t *cap)
{
    size_t len = 0;
    if (!*buf) {
        *cap = 1 << 16;
        *buf = xmalloc(*cap);
    }
    for (;;) {
        if (g->pos == g->len) {
            if (g->eof)
                break;
            int n = gzread(g->f, g->in, sizeof g->in);
            if (n <= 0) {
                g->eof = true;
                if (gz_check_end(g->f, path) < 0)
                    return -1;
                break;
            }
            g->pos = 0;
            g->len = (size_t)n;
        }
        /* copy up to and including the next newline of the buffered input */
        const char *from = g->in + g->pos, *nl = memchr(from, '\n', g->len - g->pos);
        size_t take = nl ? (size_t)(nl - from) + 1 : g->len - g->pos;
        if (memchr(from, 0, take))
            return ffwd_seterr("%s: a NUL byte (not a text file)", path);
        while (len + take + 1 > *cap) {
            *cap *= 2;
            *buf = xrealloc(*buf, *cap);
        }
        memcpy(*buf + len, from, take);
        len += take;
        g->pos += take;
        if (nl)
            break;
    }
    (*buf)[len] = 0;
    return (long)len;
}

static struct gz_lines *gz_lines_open(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        ffwd_seterr_errno("%s", path);
        return NULL;
    }
    gzbuffer(f, 1 << 15);
    struct gz_lines *gl = xcalloc(1, sizeof *gl);
    gl->f = f;
    return gl;
}

static void gz_lines_close(struct gz_lines *gl)
{
    gzclose(gl->f);
    free(gl);
}

int bbv_each_line(const char *path, int (*fn)(size_t interval, const char *line, void *ctx), void *ctx)
{
    struct gz_lines *gl = gz_lines_open(path);
    if (!gl)
        return -1;
    char *line = NULL;
    size_t cap = 0, iv = 0;
    int rc = 0;
    for (;;) {
        long len = gz_line(gl, path, &line, &cap);
        if (len <= 0) {
            rc = len < 0 ? -1 : 0;
            break;
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (*p == '\n' || *p == 0 || *p == '#')
            continue;
        if ((rc = fn(iv++, p, ctx)) < 0)
            break;
    }
    free(line);
    gz_lines_close(gl);
    return rc;
}

int bbv_load(const char *path, unsigned dim, uint64_t seed, bool fixed_length, struct bbv_data *out)
{
    memset(out, 0, sizeof *out);
    if (dim == 0 || dim > 1000)
        return ffwd_seterr("projection dimensions must be 1..1000 (got %u)", dim);
    struct gz_lines *gl = gz_lines_open(path);
    if (!gl)
        return -1;
    size_t cap_rows = 1024, cap = 0;
    char *line = NULL;
    out->dim = dim;
    out->x = xmalloc(cap_rows * dim * sizeof *out->x);
    out->insns = xmalloc(cap_rows * sizeof *out->insns);
    int rc = 0;
    unsigned long lineno = 0;
    for (;;) {
        long len = gz_line(gl, path, &line, &cap);
        if (len < 0) {
            char *m = xstrdup(ffwd_errmsg());
            rc = ffwd_seterr("%s (after line %lu)", m, lineno);
            free(m);
            break;
        }
        if (len == 0)
            break;
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (*p == '\n' || *p == 0 || *p == '#')
            continue; /* blank lines and comments carry no interval */
        if (*p != 'T') {
            rc = ffwd_seterr("%s:%lu: a BBV line starts with 'T' (SimPoint format \"T:id:count :id:count ...\")",
                             path, lineno);
            break;
        }
        p++;
        if (out->n == cap_rows) {
            cap_rows *= 2;
            out->x = xrealloc(out->x, cap_rows * dim * sizeof *out->x);
            out->insns = xrealloc(out->insns, cap_rows * sizeof *out->insns);
        }
        double *row = out->x + out->n * dim;
        memset(row, 0, dim * sizeof *row);
        uint64_t total = 0;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
            if (*p == '\n' || *p == 0)
                break;
            char *end;
            if (*p != ':')
                goto bad;
            errno = 0;
            unsigned long long id = strtoull(p + 1, &end, 10);
            if (end == p + 1 || *end != ':' || id == 0 || errno)
                goto bad;
            p = end;
            unsigned long long cnt = strtoull(p + 1, &end, 10);
            if (end == p + 1 || errno)
                goto bad;
            p = end;
            if (cnt == 0)
                continue;
            if (total + cnt < total) {
                rc = ffwd_seterr("%s:%lu: counts overflow 64 bits", path, lineno);
                goto out;
            }
            total += cnt;
            if (id > out->max_id)
                out->max_id = id;
            out->entries++;
            /* this block's row of the (virtual) projection matrix */
            uint64_t s = mix64(seed ^ mix64(id));
            double c = (double)cnt;
            for (unsigned j = 0; j < dim; j++)
                row[j] += c * (rng_unit(&s) * 2.0 - 1.0);
            continue;
        bad:
            rc = ffwd_seterr("%s:%lu:%ld: expected \":id:count\" with id >= 1", path, lineno, (long)(p - line) + 1);
            goto out;
        }
        if (total == 0) {
            rc = ffwd_seterr("%s:%lu: an interval without instructions", path, lineno);
            break;
        }
        for (unsigned j = 0; j < dim; j++)
            row[j] /= (double)total; /* projection of the normalised vector */
        out->insns[out->n++] = total;
    }
out:
    gz_lines_close(gl);
    free(line);
    if (rc == 0 && out->n == 0)
        rc = ffwd_seterr("%s: no intervals (no lines starting with 'T')", path);
    if (rc < 0) {
        bbv_free(out);
        return -1;
    }
    out->w = xmalloc(out->n * sizeof *out->w);
    double all = 0;
    for (size_t i = 0; i < out->n; i++)
        all += (double)out->insns[i];
    for (size_t i = 0; i < out->n; i++)
        out->w[i] = fixed_length ? 1.0 / (double)out->n : (double)out->insns[i] / all;
    return 0;
}

/* ---- k-means ------------------------------------------------------------ */

static double dist2(const double *a, const double *b, unsigned dim, double bound)
{
    double s = 0;
    for (unsigned j = 0; j < dim && s < bound; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

static unsigned nearest(const double *x, const double *centers, unsigned k, unsigned dim, double *d2out)
{
    unsigned best = 0;
    double bd = DBL_MAX;
    for (unsigned c = 0; c < k; c++) {
        double d = dist2(x, centers + (size_t)c * dim, dim, bd); /* partial distance search */
        if (d < bd)
            bd = d, best = c;
    }
    if (d2out)
        *d2out = bd;
    return best;
}

/*
 * Lloyd's k-means, as SimPoint, with Hamerly's bounds (SDM 2010) to skip the
 * search for most intervals: per interval an upper bound u on the distance to
 * its centre and a lower bound l on the distance to any other; per centre
 * half the distance s to its nearest other centre. When u < max(s, l) the
 * centre cannot have changed and the k distances are not computed; after
 * each step u grows by how far its centre moved and l shrinks by the
 * farthest move. Written by hand because it must give Lloyd's result bit
 * for bit (the tests compare): an interval is skipped only when its centre
 * is the strict nearest with a margin (1e-9 relative) that covers the
 * rounding of the bounds, so a tie or a near-tie is searched as Lloyd's
 * search does (the first nearest centre), and the centres are summed in the
 * same order.
 */
#define HAMERLY_MARGIN 1e-9

/* The nearest centre (the first of equal ones) and the distance to the second. */
static unsigned nearest2(const double *x, const double *centers, unsigned k, unsigned dim, double *d1, double *d2)
{
    unsigned best = 0;
    double b1 = DBL_MAX, b2 = DBL_MAX;
    for (unsigned c = 0; c < k; c++) {
        double d = dist2(x, centers + (size_t)c * dim, dim, b2); /* >= b2 when cut short: neither bound moves */
        if (d < b1)
            b2 = b1, b1 = d, best = c;
        else if (d < b2)
            b2 = d;
    }
    *d1 = b1, *d2 = b2;
    return best;
}

unsigned simpoint_kmeans(const struct bbv_data *d, unsigned k, double *centers, double *cw, unsigned iters)
{
    unsigned dim = d->dim, it;
    size_t n = d->n;
    double *next = xmalloc((size_t)k * dim * sizeof *next);
    unsigned *a = xmalloc(n * sizeof *a);
    double *u = xmalloc(n * sizeof *u), *l = xmalloc(n * sizeof *l), *s = xmalloc(k * sizeof *s),
           *mv = xmalloc(k * sizeof *mv);
    for (it = 0; it < iters; it++) {
        memset(next, 0, (size_t)k * dim * sizeof *next);
        memset(cw, 0, k * sizeof *cw);
        for (unsigned c = 0; c < k; c++) { /* half the distance to the nearest other centre */
            double m = DBL_MAX;
            for (unsigned q = 0; q < k; q++)
                if (q != c)
                    m = fmin(m, dist2(centers + (size_t)c * dim, centers + (size_t)q * dim, dim, m));
            s[c] = k > 1 ? sqrt(m) / 2 : DBL_MAX;
        }
        for (size_t i = 0; i < n; i++) {
            const double *x = d->x + i * dim;
            unsigned c;
            double m = it ? fmax(s[a[i]], l[i]) : 0;
            if (it && u[i] * (1 + HAMERLY_MARGIN) < m * (1 - HAMERLY_MARGIN))
                c = a[i]; /* its centre is still the strict nearest */
            else {
                bool tight = false;
                if (it) { /* tighten u first: often that is enough */
                    u[i] = sqrt(dist2(x, centers + (size_t)a[i] * dim, dim, DBL_MAX));
                    tight = u[i] * (1 + HAMERLY_MARGIN) < m * (1 - HAMERLY_MARGIN);
                }
                if (tight)
                    c = a[i];
                else {
                    double d1, d2;
                    c = nearest2(x, centers, k, dim, &d1, &d2);
                    a[i] = c, u[i] = sqrt(d1), l[i] = k > 1 ? sqrt(d2) : DBL_MAX;
                }
            }
            double w = d->w[i];
            for (unsigned j = 0; j < dim; j++)
                next[(size_t)c * dim + j] += w * x[j];
            cw[c] += w;
        }
        for (unsigned c = 0; c < k; c++) {
            if (cw[c] > 0)
                for (unsigned j = 0; j < dim; j++)
                    next[(size_t)c * dim + j] /= cw[c];
            else /* empty: keeps its centre */
                memcpy(next + (size_t)c * dim, centers + (size_t)c * dim, dim * sizeof *next);
        }
        bool same = !memcmp(next, centers, (size_t)k * dim * sizeof *next);
        /* how far each centre moved: the bounds follow */
        double far1 = 0, far2 = 0;
        unsigned farc = 0;
        for (unsigned c = 0; c < k; c++) {
            mv[c] = sqrt(dist2(next + (size_t)c * dim, centers + (size_t)c * dim, dim, DBL_MAX));
            if (mv[c] > far1)
                far2 = far1, far1 = mv[c], farc = c;
            else if (mv[c] > far2)
                far2 = mv[c];
        }
        for (size_t i = 0; i < n; i++) {
            u[i] += mv[a[i]];
            l[i] -= a[i] == farc ? far2 : far1;
        }
        memcpy(centers, next, (size_t)k * dim * sizeof *next);
        if (same)
            break;
    }
    free(next);
    free(a), free(u), free(l), free(s), free(mv);
    return it;
}

double simpoint_bic(const struct bbv_data *d, unsigned k, const double *centers)
{
    unsigned dim = d->dim;
    size_t n = d->n;
    double *cw = xcalloc(k, sizeof *cw);
    unsigned *lab = xmalloc(n * sizeof *lab);
    double distortion = 0, total_w = 0;
    for (size_t i = 0; i < n; i++) {
        double d2;
        lab[i] = nearest(d->x + i * dim, centers, k, dim, &d2);
        distortion += d->w[i] * d2;
        cw[lab[i]] += d->w[i];
        total_w += d->w[i];
    }
    /* as SimPoint: distortion in units of the average weight, one shared
     * spherical variance, log-likelihood of the weighted points */
    double avg_w = total_w / (double)n;
    distortion /= avg_w;
    double sigma2 = distortion / ((double)dim * (double)n);
    if (sigma2 < 1e-300)
        sigma2 = 1e-300; /* identical points: the fit is perfect, not undefined */
    double ll = -(double)dim * (log(2.0 * M_PI * sigma2) + 1.0) / 2.0 - log(total_w);
    for (size_t i = 0; i < n; i++)
        if (cw[lab[i]] > 0)
            ll += log(cw[lab[i]] / total_w) * d->w[i] / total_w;
    ll *= (double)n;
    double params = (double)(k - 1) + (double)k * dim + 1.0;
    free(cw);
    free(lab);
    return ll - params / 2.0 * log((double)n);
}

static void init_centers(const struct bbv_data *d, unsigned k, bool ff, uint64_t seed, double *centers)
{
    unsigned dim = d->dim;
    size_t n = d->n;
    uint64_t s = seed;
    if (!ff) {
        /* random sample of k intervals, distinct while there are enough */
        size_t *pick = xmalloc(k * sizeof *pick);
        for (unsigned c = 0; c < k; c++) {
            size_t idx;
            bool dup;
            unsigned tries = 0;
            do {
                idx = (size_t)(rng_next(&s) % n);
                dup = false;
                for (unsigned q = 0; q < c; q++)
                    dup |= pick[q] == idx;
            } while (dup && n >= k && ++tries < 1000);
            pick[c] = idx;
            memcpy(centers + (size_t)c * dim, d->x + idx * dim, dim * sizeof *centers);
        }
        free(pick);
        return;
    }
    /* furthest first: a random first centre, then each time the interval
     * furthest from all centres chosen so far */
    double *best = xmalloc(n * sizeof *best);
    size_t idx = (size_t)(rng_next(&s) % n);
    memcpy(centers, d->x + idx * dim, dim * sizeof *centers);
    for (unsigned c = 1; c < k; c++) {
        size_t far = 0;
        for (size_t i = 0; i < n; i++) {
            double d2 = dist2(d->x + i * dim, centers + (size_t)(c - 1) * dim, dim, DBL_MAX);
            if (c == 1 || d2 < best[i])
                best[i] = d2;
            if (best[i] > best[far])
                far = i;
        }
        memcpy(centers + (size_t)c * dim, d->x + far * dim, dim * sizeof *centers);
    }
    free(best);
}

/*
 * The k-means runs of a batch of k values -- `seeds` initialisations each --
 * are independent of one another: they run at once, one per thread (a job
 * counter hands them out), and the best run of each k is then chosen in the
 * same order as one after the other would (the first of equal BICs), so the
 * result does not depend on the number of threads. SimPoint's search needs
 * k = 1, maxk and their middle before it can go on: that first batch is
 * 3 x seeds runs, the later ones `seeds` each.
 */
struct kjob {
    unsigned k, t;
    double *centers, bic;
};

struct kpool {
    const struct bbv_data *d;
    const struct simpoint_opts *o;
    struct kjob *jobs;
    size_t n;
    atomic_size_t next;
};

static void *kworker(void *arg)
{
    struct kpool *p = arg;
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;) {
        struct kjob *j = &p->jobs[i];
        double *cw = xmalloc(j->k * sizeof *cw);
        init_centers(p->d, j->k, p->o->furthest_first, mix64(p->o->seed ^ mix64(((uint64_t)j->k << 32) | j->t)),
                     j->centers);
        simpoint_kmeans(p->d, j->k, j->centers, cw, p->o->iters);
        j->bic = simpoint_bic(p->d, j->k, j->centers);
        free(cw);
    }
    return NULL;
}

static unsigned pool_threads(const struct simpoint_opts *o, size_t jobs)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t t = o->threads ? o->threads : cpus > 0 ? (size_t)cpus : 1;
    return (unsigned)(t < jobs ? t : jobs ? jobs : 1);
}

/* For each ks[i] not yet in cents[]: the best of `seeds` runs by BIC into cents[k], bics[k]. */
static void cluster_ks(const struct bbv_data *d, const struct simpoint_opts *o, const unsigned *ks, unsigned nks,
                       double **cents, double *bics)
{
    unsigned seeds = o->seeds ? o->seeds : 1, dim = d->dim;
    struct kpool p = {.d = d, .o = o, .jobs = xcalloc((size_t)nks * seeds, sizeof *p.jobs)};
    for (unsigned i = 0; i < nks; i++) {
        bool dup = cents[ks[i]] != NULL;
        for (unsigned q = 0; q < i; q++)
            dup |= ks[q] == ks[i];
        for (unsigned t = 0; t < seeds && !dup; t++)
            p.jobs[p.n++] = (struct kjob){.k = ks[i], .t = t, .centers = xmalloc((size_t)ks[i] * dim * sizeof(double))};
    }
    atomic_init(&p.next, 0);
    unsigned nt = pool_threads(o, p.n);
    pthread_t *th = xcalloc(nt, sizeof *th);
    bool *started = xcalloc(nt, sizeof *started);
    for (unsigned i = 1; i < nt; i++)
        started[i] = pthread_create(&th[i], NULL, kworker, &p) == 0; /* a thread that cannot start: fewer run */
    kworker(&p);
    for (unsigned i = 1; i < nt; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    /* the best of each k, in run order: the first of equal BICs, as one after the other */
    for (size_t i = 0; i < p.n; i++) {
        struct kjob *j = &p.jobs[i];
        if (j->t == 0 || j->bic > bics[j->k]) {
            bics[j->k] = j->bic;
            free(cents[j->k]);
            cents[j->k] = j->centers;
        } else
            free(j->centers);
    }
    free(started);
    free(th);
    free(p.jobs);
}

void simpoint_default_opts(struct simpoint_opts *o)
{
    *o = (struct simpoint_opts){.maxk = 30, .seeds = 5, .iters = 100, .bic_threshold = 0.9, .seed = 493575226};
}

void simpoint_result_free(struct simpoint_result *r)
{
    free(r->labels);
    free(r->dist);
    free(r->points);
    memset(r, 0, sizeof *r);
}

int simpoint_cluster(const struct bbv_data *d, const struct simpoint_opts *o, struct simpoint_result *r)
{
    memset(r, 0, sizeof *r);
    unsigned dim = d->dim;
    unsigned maxk = o->k ? o->k : o->maxk;
    if (maxk == 0)
        return ffwd_seterr("maxk must be at least 1");
    if (maxk > d->n)
        maxk = (unsigned)d->n; /* no more clusters than intervals */
    if (o->bic_threshold < 0 || o->bic_threshold > 1)
        return ffwd_seterr("the BIC threshold must be in [0, 1] (got %g)", o->bic_threshold);
    /* centres and BIC of every k tried, kept so the chosen one need not be rerun */
    double **cents = xcalloc(maxk + 1, sizeof *cents), *bics = xcalloc(maxk + 1, sizeof *bics);
    unsigned best_k;
    if (o->k) {
        cluster_ks(d, o, &maxk, 1, cents, bics);
        r->tried_bic[0] = bics[maxk];
        r->tried_k[0] = maxk;
        r->ntried = 1;
        best_k = maxk;
    } else {
        /* SimPoint's binary search: k = 1, maxk, middle, then halve the window
         * on the side where the BIC is still below the threshold */
        unsigned lo = 1, hi = maxk, next[3] = {1, maxk, (1 + maxk) / 2};
        unsigned queued = maxk == 1 ? 1 : maxk == 2 ? 2 : 3;
        size_t imin = 0, imax = 0;
        cluster_ks(d, o, next, queued, cents, bics); /* the first three at once */
        for (unsigned run = 0; run < queued && r->ntried < 64; run++) {
            unsigned k = next[run < 3 ? run : 2];
            cluster_ks(d, o, &k, 1, cents, bics);
            r->tried_bic[r->ntried] = bics[k];
            r->tried_k[r->ntried] = k;
            size_t cur = r->ntried++;
            if (r->tried_bic[cur] > r->tried_bic[imax])
                imax = cur;
            if (r->tried_bic[cur] < r->tried_bic[imin])
                imin = cur;
            if (run < 2)
                continue;
            double thr = r->tried_bic[imin] + (r->tried_bic[imax] - r->tried_bic[imin]) * o->bic_threshold;
            bool upper = imax > imin ? r->tried_bic[cur] < thr : false;
            unsigned nk;
            if (upper)
                nk = (k + hi) / 2, lo = k;
            else
                nk = (k + lo) / 2, hi = k;
            if (hi - lo > 1) {
                next[2] = nk;
                queued++;
            }
        }
        /* the smallest k whose BIC reaches the threshold */
        double mn = r->tried_bic[0], mx = r->tried_bic[0];
        for (unsigned i = 1; i < r->ntried; i++) {
            mn = fmin(mn, r->tried_bic[i]);
            mx = fmax(mx, r->tried_bic[i]);
        }
        double thr = mn + (mx - mn) * o->bic_threshold;
        best_k = 0;
        for (unsigned i = 0; i < r->ntried; i++)
            if (r->tried_bic[i] >= thr && (!best_k || r->tried_k[i] < best_k))
                best_k = r->tried_k[i];
    }
    r->k = best_k;
    double *centers = cents[best_k];
    r->labels = xmalloc(d->n * sizeof *r->labels);
    r->dist = xmalloc(d->n * sizeof *r->dist);
    double *cw = xcalloc(best_k, sizeof *cw);
    size_t *rep = xmalloc(best_k * sizeof *rep);
    for (unsigned c = 0; c < best_k; c++)
        rep[c] = SIZE_MAX;
    for (size_t i = 0; i < d->n; i++) {
        double d2;
        unsigned c = nearest(d->x + i * dim, centers, best_k, dim, &d2);
        r->labels[i] = (int)c;
        r->dist[i] = sqrt(d2);
        cw[c] += d->w[i];
        if (rep[c] == SIZE_MAX || r->dist[i] < r->dist[rep[c]])
            rep[c] = i;
    }
    double sum = 0;
    for (unsigned c = 0; c < best_k; c++)
        if (rep[c] != SIZE_MAX)
            sum += cw[c];
    r->points = xcalloc(best_k, sizeof *r->points);
    for (unsigned c = 0; c < best_k; c++)
        if (rep[c] != SIZE_MAX)
            r->points[r->npoints++] = (struct simpoint_point){rep[c], c, cw[c] / sum};
    free(cw);
    free(rep);
    for (unsigned k = 0; k <= maxk; k++)
        free(cents[k]);
    free(cents);
    free(bics);
    return 0;
}

/* ---- files -------------------------------------------------------------- */

static int write_text(const char *path, const struct sbuf *b)
{
    if (write_file_atomic(path, b->s ? b->s : "", b->len, 0644) < 0)
        return ffwd_preerr("%s", path);
    return 0;
}

int simpoint_write(const char *prefix, const struct bbv_data *d, const struct simpoint_result *r)
{
    struct sbuf sp = {0}, wt = {0}, lb = {0};
    for (size_t i = 0; i < r->npoints; i++) {
        sbuf_addf(&sp, "%zu %u\n", r->points[i].interval, r->points[i].cluster);
        sbuf_addf(&wt, "%.17g %u\n", r->points[i].weight, r->points[i].cluster);
    }
    for (size_t i = 0; i < d->n; i++)
        sbuf_addf(&lb, "%d %.9g\n", r->labels[i], r->dist[i]);
    char *p1 = xasprintf("%s.simpoints", prefix), *p2 = xasprintf("%s.weights", prefix),
         *p3 = xasprintf("%s.labels", prefix);
    int rc = write_text(p1, &sp) < 0 || write_text(p2, &wt) < 0 || write_text(p3, &lb) < 0 ? -1 : 0;
    free(p1);
    free(p2);
    free(p3);
    sbuf_free(&sp);
    sbuf_free(&wt);
    sbuf_free(&lb);
    return rc;
}

/* Lines of "<number> <cluster>": values[cluster] = number. */
static int read_pairs(const char *path, bool real, double **vals, unsigned char **have, unsigned *ncl)
{
    char *text = read_text_file(path, NULL);
    if (!text)
        return -1;
    unsigned cap = 0;
    *vals = NULL;
    *have = NULL;
    *ncl = 0;
    unsigned long lineno = 0;
    int rc = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        while (*l == ' ' || *l == '\t')
            l++;
        if (!*l || *l == '#' || *l == '\r')
            continue;
        char *end;
        errno = 0;
        double v;
        if (real)
            v = strtod(l, &end);
        else if (*l < '0' || *l > '9') { /* strtoull would take "-4" as 2^64-4 */
            rc = ffwd_seterr("%s:%lu: interval '%.*s' is not a whole number >= 0", path, lineno,
                             (int)strcspn(l, " \t\r"), l);
            break;
        } else {
            unsigned long long iv = strtoull(l, &end, 10);
            if (errno || iv > (1ULL << 52)) { /* kept exactly in a double */
                rc = ffwd_seterr("%s:%lu: interval %.*s is out of range", path, lineno, (int)strcspn(l, " \t\r"), l);
                break;
            }
            v = (double)iv;
        }
        if (end == l || errno || (real && !(v >= 0 && v <= 1)) || (*end != ' ' && *end != '\t')) {
            rc = ffwd_seterr("%s:%lu: expected \"<%s> <cluster>\"%s", path, lineno, real ? "weight" : "interval",
                             real && end != l && !errno ? " with a weight from 0 to 1" : "");
            break;
        }
        char *e2;
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end < '0' || *end > '9') {
            rc = ffwd_seterr("%s:%lu: cluster '%.*s' is not a whole number >= 0", path, lineno,
                             (int)strcspn(end, " \t\r"), end);
            break;
        }
        unsigned long c = strtoul(end, &e2, 10);
        while (*e2 == ' ' || *e2 == '\t' || *e2 == '\r')
            e2++;
        if (e2 == end || *e2 || c > 100000) {
            rc = ffwd_seterr("%s:%lu: expected \"<%s> <cluster>\"", path, lineno, real ? "weight" : "interval");
            break;
        }
        if (c >= cap) {
            unsigned nc = (unsigned)c + 16;
            *vals = xrealloc(*vals, nc * sizeof **vals);
            *have = xrealloc(*have, nc);
            memset(*have + cap, 0, nc - cap);
            cap = nc;
        }
        if ((*have)[c]) {
            rc = ffwd_seterr("%s:%lu: cluster %lu appears twice", path, lineno, c);
            break;
        }
        (*have)[c] = 1;
        (*vals)[c] = v;
        if (c + 1 > *ncl)
            *ncl = (unsigned)c + 1;
    }
    free(text);
    if (rc == 0 && *ncl == 0)
        rc = ffwd_seterr("%s: no entries", path);
    if (rc < 0) {
        free(*vals);
        free(*have);
        *vals = NULL;
        *have = NULL;
    }
    return rc;
}

int simpoint_read(const char *simpoints, const char *weights, struct simpoint_point **pts, size_t *n)
{
    double *iv = NULL, *wv = NULL;
    unsigned char *hi = NULL, *hw = NULL;
    unsigned ni = 0, nw = 0;
    *pts = NULL;
    *n = 0;
    if (read_pairs(simpoints, false, &iv, &hi, &ni) < 0)
        return -1;
    if (read_pairs(weights, true, &wv, &hw, &nw) < 0) {
        free(iv);
        free(hi);
        return -1;
    }
    int rc = 0;
    double sum = 0;
    *pts = xcalloc(ni > nw ? ni : nw, sizeof **pts);
    for (unsigned c = 0; c < (ni > nw ? ni : nw); c++) {
        bool a = c < ni && hi[c], b = c < nw && hw[c];
        if (a != b) {
            rc = ffwd_seterr("cluster %u is in %s but not in %s", c, a ? simpoints : weights, a ? weights : simpoints);
            break;
        }
        if (a) {
            (*pts)[(*n)++] = (struct simpoint_point){(size_t)iv[c], c, wv[c]};
            sum += wv[c];
        }
    }
    if (rc == 0 && fabs(sum - 1.0) > 1e-3)
        rc = ffwd_seterr("%s: the weights add up to %g, not 1", weights, sum);
    free(iv);
    free(hi);
    free(wv);
    free(hw);
    if (rc < 0) {
        free(*pts);
        *pts = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- phase plot ------------------------------------------------------------ */

int simpoint_svg(const char *path, const struct bbv_data *d, const struct simpoint_result *r, const char *title)
{
    static const char *pal[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                "#7f7f7f", "#bcbd22", "#17becf"};
    const double W = 960, left = 70, right = 20, top = 40, row = 22;
    unsigned k = r->k;
    double H = top + row * k + 60, plotw = W - left - right;
    struct sbuf s = {0};
    sbuf_addf(&s,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
              "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
              W, H);
    sbuf_addf(&s, "<text x=\"%.0f\" y=\"20\" font-size=\"14\">", left);
    for (const char *t = title ? title : ""; *t; t++) /* escape for XML */
        if (*t == '<')
            sbuf_addf(&s, "&lt;");
        else if (*t == '&')
            sbuf_addf(&s, "&amp;");
        else
            sbuf_addc(&s, *t);
    sbuf_addf(&s, " (k = %u, %zu intervals)</text>\n", k, d->n);
    double cw[256] = {0};
    for (size_t i = 0; i < r->npoints; i++)
        if (r->points[i].cluster < 256)
            cw[r->points[i].cluster] = r->points[i].weight;
    for (unsigned c = 0; c < k; c++)
        sbuf_addf(&s, "<text x=\"4\" y=\"%.1f\">%u (%.0f%%)</text>\n", top + row * c + row * 0.7, c,
                  c < 256 ? cw[c] * 100 : 0.0);
    double bw = plotw / (double)d->n;
    for (size_t i = 0; i < d->n; i++) {
        int c = r->labels[i];
        sbuf_addf(&s, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n",
                  left + bw * (double)i, top + row * c + 2, bw > 1 ? bw : 1, row - 4, pal[c % 10]);
    }
    for (size_t i = 0; i < r->npoints; i++) { /* simulation points: a black marker */
        double x = left + bw * ((double)r->points[i].interval + 0.5);
        double y = top + row * r->points[i].cluster;
        sbuf_addf(&s, "<path d=\"M%.2f %.1f l-5 -8 h10 z\" fill=\"black\"/>\n", x, y + 2);
    }
    double ybase = top + row * k + 10;
    sbuf_addf(&s, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, ybase,
              left + plotw, ybase);
    for (int t = 0; t <= 4; t++)
        sbuf_addf(&s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>\n", left + plotw * t / 4,
                  ybase + 16, (size_t)((double)d->n * t / 4));
    sbuf_addf(&s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">interval (cluster per row, "
                  "&#9660; = simulation point)</text>\n</svg>\n",
              left + plotw / 2, ybase + 36);
    int rc = write_text(path, &s);
    sbuf_free(&s);
    return rc;
}
