/*
 * landmarks.h -- where a rerun stops so that two reruns stop at the same
 * instruction (the BBV plugin's PREFIX.landmarks, qemu/plugins/bbv.c).
 *
 * The counts of two runs of the same workload drift by a few instructions
 * (a store-exclusive retried after an interrupt, a program that reads the
 * clock), so a stop at the N-th counted instruction falls on different
 * instructions in two reruns. The profile records, every FFWD_LANDMARK_STEP
 * counted instructions and at every interval start, the block P that ran
 * just before that point and how long before P had last run; the trigger
 * then holds the run of P nearest to the profile's (within half its period)
 * and the machine stops where P ends: the profile's point, at the same PC
 * in every rerun.
 */
#ifndef FFWD_LANDMARKS_H
#define FFWD_LANDMARKS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Landmark spacing in counted instructions (an interval when shorter): a
 * warm-up is rounded to the nearest landmark before the interval start. */
#define FFWD_LANDMARK_STEP 100000ULL
/* A P whose previous run was at least this long before (the BBV plugin's
 * LANDMARK_MIN_GAP): easy to find again; landmarks_near prefers these. */
#define FFWD_LANDMARK_MIN_GAP 2048ULL
/* How far from the profile's run of P a rerun looks for it at most (either
 * way; past that the stop is taken by count). */
#define FFWD_LANDMARK_MARGIN 32768ULL

struct landmark {
    uint64_t n;          /* counted before X, the first block of the point */
    uint64_t x_pc, p_pc; /* X's and P's virtual addresses */
    uint64_t p_at, gap;  /* counted before P's run; since its run before (0: its first) */
};

struct landmarks {
    uint64_t step;
    size_t n;
    struct landmark *v; /* of one vCPU, by n */
};

/* Read the landmarks of vCPU `vcpu` from PATH. A missing file (a profile of
 * an older ffwd) is not an error: *out is empty and 0 is returned. */
int landmarks_read(const char *path, unsigned vcpu, struct landmarks *out);
void landmarks_free(struct landmarks *l);

/* The landmark nearest to `target` that is not after `limit`, and no farther
 * than one step from target -- the nearest with a gap of at least
 * FFWD_LANDMARK_MIN_GAP if there is one; NULL if none. */
const struct landmark *landmarks_near(const struct landmarks *l, uint64_t target, uint64_t limit);

/* Where the trigger looks for P, in counted instructions: from half P's
 * period before the profile's run of P to as far after it (at most
 * FFWD_LANDMARK_MARGIN either way; that for P's first run). */
void landmark_window(const struct landmark *m, uint64_t *lo, uint64_t *hi);

/* Is a stop at pc at the code of a landmark's X (expected)? At expected, or
 * at its offset in another page: a landmark's addresses are those its blocks
 * were translated at, and QEMU keys AArch64 blocks by physical page
 * (CF_PCREL), so a block translated in one process serves every mapping of
 * the page -- a shared library's code at another base in another process
 * (seen: libc 1 MiB apart in two programs of one profile, ASLR off). */
bool landmark_same_code(uint64_t pc, uint64_t expected);

#endif
