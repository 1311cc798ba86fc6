/*
 * simpoint.h -- SimPoint 3.2's clustering method, in C, for basic-block
 * vectors (BBVs) in SimPoint's text format.
 *
 * The method (Hamerly, Perelman, Lau, Calder: "SimPoint 3.0: Faster and
 * More Flexible Program Analysis", JILP 2005):
 *   1. every interval's frequency vector is normalised to sum 1 and randomly
 *      projected to `dim` (15) dimensions; projection entries are uniform in
 *      [-1, 1);
 *   2. weighted k-means (weights: the interval's share of all instructions,
 *      or 1/n with fixed_length), initialised by random sampling ("samp") or
 *      furthest-first ("ff"), `seeds` initialisations per k, at most `iters`
 *      iterations each; the best BIC of the seeds is kept;
 *   3. k is chosen by SimPoint's binary search over 1..maxk: the smallest k
 *      whose BIC reaches min + threshold * (max - min) of the BICs seen;
 *   4. per non-empty cluster the simulation point is the interval closest to
 *      its centroid, its weight the cluster's share of the weight.
 *
 * Differences from SimPoint 3.2's program, deliberately: the projection
 * matrix is not stored but derived from a hash of (seed, block id, column),
 * so memory does not grow with the number of distinct blocks (input is read
 * in one streaming pass: memory = intervals x dim doubles); the random
 * number generator is splitmix64 (so exact picks differ from the original
 * program for the same seed); an empty cluster keeps its previous centre.
 */
#ifndef FFWD_SIMPOINT_H
#define FFWD_SIMPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bbv_data {
    size_t n;          /* intervals */
    unsigned dim;      /* projected dimensions */
    double *x;         /* n * dim, row-major */
    double *w;         /* interval weights, sum 1 */
    uint64_t *insns;   /* instructions in each interval (sum of its counts) */
    uint64_t max_id;   /* largest block id seen */
    uint64_t entries;  /* id:count pairs read */
};

/* Read a BBV file (gzip'd or plain), project it. fixed_length: weights 1/n
 * instead of instruction shares. Errors name the file, line and column. */
int bbv_load(const char *path, unsigned dim, uint64_t seed, bool fixed_length, struct bbv_data *out);
void bbv_free(struct bbv_data *d);

/* Stream a BBV file's interval lines ("T:id:count ...", blank lines and
 * comments skipped): fn(interval index, line, ctx) for each; fn returns <0
 * to stop with an error. A truncated or corrupt gzip is an error naming the file. */
int bbv_each_line(const char *path, int (*fn)(size_t interval, const char *line, void *ctx), void *ctx);

struct simpoint_opts {
    unsigned maxk;         /* search 1..maxk (binary search) */
    unsigned k;            /* if non-zero: exactly this k, no search */
    unsigned seeds;        /* initialisations per k (SimPoint: 5) */
    unsigned iters;        /* k-means iterations at most (SimPoint: 100) */
    double bic_threshold;  /* SimPoint: 0.9 */
    bool furthest_first;   /* "ff" initialisation instead of "samp" */
    uint64_t seed;         /* k-means initialisation seed */
    unsigned threads;      /* k-means runs at once (0: one per online CPU); the result is the same for any */
};

struct simpoint_point {
    size_t interval;   /* 0-based interval index */
    unsigned cluster;  /* cluster label */
    double weight;     /* share of the run it represents */
};

struct simpoint_result {
    unsigned k;                 /* chosen k (clusters, some possibly empty) */
    int *labels;                /* n */
    double *dist;               /* n: Euclidean distance to its centre */
    size_t npoints;             /* non-empty clusters */
    struct simpoint_point *points; /* sorted by cluster */
    unsigned ntried;
    unsigned tried_k[64];
    double tried_bic[64];
};

void simpoint_default_opts(struct simpoint_opts *o);
int simpoint_cluster(const struct bbv_data *d, const struct simpoint_opts *o, struct simpoint_result *r);
void simpoint_result_free(struct simpoint_result *r);

/* k-means and BIC on their own (tests, benchmarks). centers: k * dim in/out;
 * cw: k cluster weights out. Returns the number of iterations run. */
unsigned simpoint_kmeans(const struct bbv_data *d, unsigned k, double *centers, double *cw, unsigned iters);
double simpoint_bic(const struct bbv_data *d, unsigned k, const double *centers);

/* SimPoint's files: PREFIX.simpoints ("<interval> <cluster>"), PREFIX.weights
 * ("<weight> <cluster>"), PREFIX.labels ("<cluster> <distance>"), each
 * written to a temporary name and renamed. */
int simpoint_write(const char *prefix, const struct bbv_data *d, const struct simpoint_result *r);
/* Read a .simpoints/.weights pair (matched by cluster). */
int simpoint_read(const char *simpoints, const char *weights, struct simpoint_point **pts, size_t *n);

/* Phase plot: interval -> cluster over the run, simulation points marked. */
int simpoint_svg(const char *path, const struct bbv_data *d, const struct simpoint_result *r, const char *title);

#endif
