/*
 * estimate.h -- a linear CPI model from event counts:
 *
 *     CPI_i = sum_j w_j * e_ij / insns_i,    w_j >= 0
 *
 * with e_i0 = insns_i (the base CPI). The weights are fitted by
 * non-negative least squares (Lawson-Hanson) on intervals whose CPI was
 * measured in gem5, then applied to every interval of a run.
 */
#ifndef FFWD_MODEL_ESTIMATE_H
#define FFWD_MODEL_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

#define EST_MAXF 16

struct est_row {
    uint64_t interval, insns;
    double x[EST_MAXF]; /* events per instruction; x[0] = 1 */
    double cpi;         /* measured (calibration rows), else 0 */
};

struct est_features {
    unsigned n;
    char name[EST_MAXF][24];
};

/* Read PREFIX.<vcpu>.model.csv of the memory plugin: one row per interval,
 * features = base, muldiv, fpsimd, load, store, branch and the misses of
 * each modelled structure (per instruction). Errors name file and line. */
int est_read_csv(const char *path, struct est_features *f, struct est_row **rows, size_t *n);

/* Non-negative least squares: min |A w - b|, w >= 0 (A: m x n, row-major). */
int est_nnls(const double *A, const double *b, size_t m, unsigned n, double *w);

/* Fit w on rows (their cpi). Returns 0; *rms = RMS CPI error on the rows. */
int est_fit(const struct est_row *rows, size_t n, unsigned nf, double *w, double *rms);
double est_cpi(const struct est_row *r, unsigned nf, const double *w);
/* Leave-one-out: mean absolute relative CPI error of each row predicted by
 * a fit on all the others. */
double est_loocv(const struct est_row *rows, size_t n, unsigned nf);

#endif
