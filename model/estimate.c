/* estimate.c -- linear CPI model, NNLS fit (see estimate.h). */
#define _GNU_SOURCE
#include "estimate.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/util.h"

/* Least squares on the columns in `set` (normal equations, Cholesky on the
 * column-scaled system with a tiny ridge for rank deficiency). */
static int ls_subset(const double *A, const double *b, size_t m, unsigned n, const int *set, double *z)
{
    unsigned k = 0, idx[EST_MAXF];
    for (unsigned j = 0; j < n; j++)
        if (set[j])
            idx[k++] = j;
    memset(z, 0, n * sizeof *z);
    if (!k)
        return 0;
    double G[EST_MAXF * EST_MAXF] = {0}, h[EST_MAXF] = {0}, sc[EST_MAXF];
    for (unsigned p = 0; p < k; p++) {
        double s = 0;
        for (size_t i = 0; i < m; i++)
            s += A[i * n + idx[p]] * A[i * n + idx[p]];
        sc[p] = s > 0 ? 1.0 / sqrt(s) : 1.0;
    }
    for (unsigned p = 0; p < k; p++) {
        for (unsigned q = 0; q <= p; q++) {
            double s = 0;
            for (size_t i = 0; i < m; i++)
                s += A[i * n + idx[p]] * A[i * n + idx[q]];
            G[p * k + q] = G[q * k + p] = s * sc[p] * sc[q];
        }
        double s = 0;
        for (size_t i = 0; i < m; i++)
            s += A[i * n + idx[p]] * b[i];
        h[p] = s * sc[p];
        G[p * k + p] += 1e-12;
    }
    /* Cholesky G = L L^T in place (lower triangle) */
    for (unsigned p = 0; p < k; p++) {
        for (unsigned q = 0; q <= p; q++) {
            double s = G[p * k + q];
            for (unsigned r = 0; r < q; r++)
                s -= G[p * k + r] * G[q * k + r];
            if (p == q) {
                if (s <= 0)
                    return -1;
                G[p * k + p] = sqrt(s);
            } else
                G[p * k + q] = s / G[q * k + q];
        }
    }
    double y[EST_MAXF];
    for (unsigned p = 0; p < k; p++) {
        double s = h[p];
        for (unsigned r = 0; r < p; r++)
            s -= G[p * k + r] * y[r];
        y[p] = s / G[p * k + p];
    }
    for (int p = (int)k - 1; p >= 0; p--) {
        double s = y[p];
        for (unsigned r = (unsigned)p + 1; r < k; r++)
            s -= G[r * k + (unsigned)p] * y[r];
        y[p] = s / G[p * k + (unsigned)p];
    }
    for (unsigned p = 0; p < k; p++)
        z[idx[p]] = y[p] * sc[p];
    return 0;
}

int est_nnls(const double *A, const double *b, size_t m, unsigned n, double *w)
{
    if (n == 0 || n > EST_MAXF)
        return ffwd_seterr("NNLS: 1..%d features (got %u)", EST_MAXF, n);
    int P[EST_MAXF] = {0};
    double z[EST_MAXF], g[EST_MAXF];
    memset(w, 0, n * sizeof *w);
    double bn = 0;
    for (size_t i = 0; i < m; i++)
        bn += b[i] * b[i];
    double tol = 1e-10 * (sqrt(bn) + 1);
    for (unsigned outer = 0; outer < 3 * n + 3; outer++) {
        /* gradient g = A^T (b - A w) */
        for (unsigned j = 0; j < n; j++) {
            double s = 0;
            for (size_t i = 0; i < m; i++) {
                double r = b[i];
                for (unsigned q = 0; q < n; q++)
                    r -= A[i * n + q] * w[q];
                s += A[i * n + j] * r;
            }
            g[j] = s;
        }
        int t = -1;
        for (unsigned j = 0; j < n; j++)
            if (!P[j] && g[j] > tol && (t < 0 || g[j] > g[t]))
                t = (int)j;
        if (t < 0)
            break;
        P[t] = 1;
        for (unsigned inner = 0; inner < 3 * n + 3; inner++) {
            if (ls_subset(A, b, m, n, P, z) < 0)
                return ffwd_seterr("NNLS: singular system");
            bool ok = true;
            for (unsigned j = 0; j < n; j++)
                if (P[j] && z[j] <= 0)
                    ok = false;
            if (ok) {
                memcpy(w, z, n * sizeof *w);
                break;
            }
            double alpha = 1;
            for (unsigned j = 0; j < n; j++)
                if (P[j] && z[j] <= 0 && w[j] - z[j] > 0)
                    alpha = fmin(alpha, w[j] / (w[j] - z[j]));
            for (unsigned j = 0; j < n; j++) {
                w[j] += alpha * (z[j] - w[j]);
                if (P[j] && w[j] <= 1e-15)
                    P[j] = 0, w[j] = 0;
            }
        }
    }
    return 0;
}

double est_cpi(const struct est_row *r, unsigned nf, const double *w)
{
    double c = 0;
    for (unsigned j = 0; j < nf; j++)
        c += w[j] * r->x[j];
    return c;
}

int est_fit(const struct est_row *rows, size_t n, unsigned nf, double *w, double *rms)
{
    if (!n)
        return ffwd_seterr("no calibration intervals to fit");
    double *A = xmalloc(n * nf * sizeof *A), *b = xmalloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        memcpy(A + i * nf, rows[i].x, nf * sizeof *A);
        b[i] = rows[i].cpi;
    }
    int rc = est_nnls(A, b, n, nf, w);
    if (rc == 0 && rms) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            double d = est_cpi(&rows[i], nf, w) - rows[i].cpi;
            s += d * d;
        }
        *rms = sqrt(s / (double)n);
    }
    free(A);
    free(b);
    return rc;
}

double est_loocv(const struct est_row *rows, size_t n, unsigned nf)
{
    if (n < 2)
        return NAN;
    struct est_row *rest = xmalloc((n - 1) * sizeof *rest);
    double err = 0, w[EST_MAXF];
    for (size_t k = 0; k < n; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (i != k)
                rest[m++] = rows[i];
        if (est_fit(rest, m, nf, w, NULL) < 0) {
            free(rest);
            return NAN;
        }
        err += fabs(est_cpi(&rows[k], nf, w) - rows[k].cpi) / rows[k].cpi;
    }
    free(rest);
    return err / (double)n;
}

int est_read_csv(const char *path, struct est_features *f, struct est_row **rows, size_t *n)
{
    static const char *const cols[] = {"muldiv",   "fpsimd",   "load",      "store",     "branch",   "l1i_miss",
                                       "l1d_miss", "l2_miss",  "llc_miss",  "itlb_miss", "dtlb_miss"};
    const unsigned ncols = sizeof cols / sizeof *cols;
    char *text = read_file(path, NULL);
    *rows = NULL;
    *n = 0;
    if (!text)
        return ffwd_preerr("%s", path);
    memset(f, 0, sizeof *f);
    int pos[EST_MAXF], ipos = -1, ivpos = -1, hdr_n = 0;
    size_t cap = 0;
    unsigned long lineno = 0;
    int rc = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *fields[64];
        int nfld = 0;
        for (char *s2 = NULL, *t = strtok_r(l, ",", &s2); t && nfld < 64; t = strtok_r(NULL, ",", &s2))
            fields[nfld++] = t;
        if (lineno == 1) {
            hdr_n = nfld;
            snprintf(f->name[f->n++], sizeof f->name[0], "base");
            for (int i = 0; i < nfld; i++) {
                if (!strcmp(fields[i], "insns"))
                    ipos = i;
                if (!strcmp(fields[i], "interval"))
                    ivpos = i;
            }
            for (unsigned c = 0; c < ncols; c++)
                for (int i = 0; i < nfld; i++)
                    if (!strcmp(fields[i], cols[c]) && f->n < EST_MAXF) {
                        pos[f->n] = i;
                        snprintf(f->name[f->n++], sizeof f->name[0], "%s", cols[c]);
                    }
            if (ipos < 0 || ivpos < 0 || f->n < 2) {
                rc = ffwd_seterr("%s:1: not a model CSV of ffwd's memory plugin (columns interval, insns, "
                                 "and event counts)",
                                 path);
                break;
            }
            continue;
        }
        if (nfld != hdr_n) {
            rc = ffwd_seterr("%s:%lu: %d fields, the header has %d", path, lineno, nfld, hdr_n);
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            *rows = xrealloc(*rows, cap * sizeof **rows);
        }
        struct est_row *r = &(*rows)[*n];
        memset(r, 0, sizeof *r);
        uint64_t v;
        if (parse_u64(fields[ipos], &r->insns) < 0 || !r->insns || parse_u64(fields[ivpos], &r->interval) < 0) {
            rc = ffwd_seterr("%s:%lu: field insns or interval is not a positive count", path, lineno);
            break;
        }
        r->x[0] = 1.0;
        for (unsigned j = 1; j < f->n; j++) {
            if (parse_u64(fields[pos[j]], &v) < 0) {
                rc = ffwd_seterr("%s:%lu: field %s is not a count", path, lineno, f->name[j]);
                break;
            }
            r->x[j] = (double)v / (double)r->insns;
        }
        if (rc < 0)
            break;
        (*n)++;
    }
    free(text);
    if (rc == 0 && *n == 0)
        rc = ffwd_seterr("%s: no intervals", path);
    if (rc < 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}
