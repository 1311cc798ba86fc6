/*
 * landing.h -- proof that a simulation point is where the profile meant.
 *
 * A rerun that captures simulation points also records its own BBV (the
 * same plugin, filters and interval as the profile). Landing right means
 * the rerun's interval i is the profile's interval i: the same code in the
 * same proportions. Block ids differ between runs (they follow the order of
 * first execution and physical pages), so both BBVs are keyed by the code
 * hash of PREFIX.blocks (bbv.c) before they are compared.
 *
 * The distance is SimPoint's: the Manhattan distance of the two vectors,
 * each normalised to sum 1 -- 0 for the same interval, 2 for disjoint code.
 */
#ifndef FFWD_LANDING_H
#define FFWD_LANDING_H

#include <stddef.h>
#include <stdint.h>

/* One interval's BBV keyed by code hash, sorted by key, normalised. */
struct landing_vec {
    size_t n;
    uint64_t *key;
    double *w;
    uint64_t insns; /* sum of its counts before normalising */
};

/* Load intervals `want[0..n)` (any order, repeats allowed) of vCPU `vcpu`
 * from PREFIX.<vcpu>.bb.gz and PREFIX.blocks into out[0..n). An interval
 * beyond the file gets an empty vector. Errors name the file. */
int landing_load(const char *prefix, unsigned vcpu, const size_t *want, size_t n, struct landing_vec *out);
double landing_distance(const struct landing_vec *a, const struct landing_vec *b);
void landing_vec_free(struct landing_vec *v);

/* Every interval of a profile against the same interval of a rerun
 * (`ffwd sample` keeps its rerun's BBV in DIR/landing/rerun): the landing
 * distance of each, and where a rerun that stopped at the profile's count
 * of EVERY instruction (what ffwd did before it counted what the profile
 * counts) would have landed, in intervals of the profile's counted grid. */
struct landing_report {
    size_t n;           /* intervals compared */
    double *distance;   /* per interval */
    double *all_offset; /* per interval: |landing of an all-instruction stop - start| / interval */
};
int landing_compare(const char *profile, const char *rerun, unsigned vcpu, struct landing_report *r);
void landing_report_free(struct landing_report *r);

/* Default threshold: the same interval of a rerun measures ~0.00x; two
 * different phases of one program are typically 0.3 .. 2. */
#define LANDING_MAX_DISTANCE 0.1

#endif
