/*
 * analyze.h -- statistics of a memory-access trace: counts, footprint and
 * the reuse-distance (LRU stack distance) histogram, in cache lines.
 */
#ifndef FFWD_TRACE_ANALYZE_H
#define FFWD_TRACE_ANALYZE_H

#include <stdint.h>

#define REUSE_BUCKETS 40 /* bucket b: distance in [2^(b-1), 2^b), bucket 0: distance 0 */

struct trace_stats {
    uint64_t records, loads, stores, by_size[8];
    uint64_t first_icount, last_icount;
    uint64_t lines, pages;           /* distinct 64-byte lines / 4 KiB pages (physical) */
    uint64_t reuse[REUSE_BUCKETS];   /* re-references by stack distance */
    uint64_t cold;                   /* first references */
    uint64_t crossing;               /* accesses that cross a line boundary (counted on their first line) */
    double seconds;
};

/* line: bytes per line for footprint and reuse (64 if 0). */
int trace_analyze(const char *path, unsigned line, struct trace_stats *st);
/* Miss ratio of a fully associative LRU cache of `lines` lines, from the
 * histogram (cold misses included). */
double trace_lru_miss_ratio(const struct trace_stats *st, uint64_t lines);

#endif
