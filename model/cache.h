/*
 * cache.h -- set-associative cache and TLB models for the online model of
 * the memory plugin (qemu/plugins/mem.c) and for trace replay. Plain C, no
 * dependencies, so the same code runs inside a QEMU plugin and in ffwd.
 *
 * A cache: size, line size (a power of two) and associativity (0 = fully
 * associative; size / line / assoc must be a power of two: 48K:3:64 works), LRU or random replacement, write-allocate (a
 * store that misses fills the line, as gem5's classic caches do). A TLB is
 * the same structure with the page size as its "line". An access returns
 * 1 on a hit, 0 on a miss.
 */
#ifndef FFWD_MODEL_CACHE_H
#define FFWD_MODEL_CACHE_H

#include <stdbool.h>
#include <stdint.h>

enum cache_repl { CACHE_LRU, CACHE_RANDOM };

struct cache_cfg {
    uint64_t size;      /* bytes (for a TLB: entries x page size) */
    unsigned line;      /* bytes per line (TLB: page size) */
    unsigned assoc;     /* ways; 0 = fully associative */
    enum cache_repl repl;
};

struct cache {
    struct cache_cfg cfg;
    unsigned sets, ways, line_shift;
    uint64_t set_mask;
    uint64_t *tag;      /* sets x ways; 0 = invalid (tags stored +1) */
    uint64_t *stamp;    /* LRU: last use */
    uint64_t clock, rng;
    uint64_t mru_line;  /* last line accessed (+1; 0: none) and its slot: a repeat is a hit */
    uint64_t mru_slot;
    uint64_t accesses, misses;
    /* Highly associative (more than CACHE_INDEX_WAYS ways, e.g. a fully
     * associative TLB): a hash index tag -> slot, so a hit costs one probe
     * instead of a scan of every way. Linear probing, entries slot + 1
     * (0: empty), keys read from tag[]. With LRU, each set also keeps its
     * lines in order of use (a circular doubly-linked list through lru_prev/
     * lru_next: nodes 0..lines-1 are the slots, node lines + s is set s's
     * head), so a miss takes the list's last line instead of scanning the
     * stamps: the same victim as the scan (the least recent; among invalid
     * lines the lowest way, as the lists start in that order). */
    uint32_t *index;
    uint64_t index_mask;
    unsigned index_shift;
    uint32_t *lru_prev, *lru_next;
};

#define CACHE_INDEX_WAYS 8

/* Parse "SIZE:ASSOC:LINE[:lru|random]" (SIZE with K/M/G; ASSOC 0 = full). */
int cache_parse(const char *spec, struct cache_cfg *cfg, char *err, unsigned errlen);
/* Parse "ENTRIES:ASSOC[:PAGE]" (4 KiB pages by default) as a cache whose
 * lines are pages. */
int cache_parse_tlb(const char *spec, struct cache_cfg *cfg, char *err, unsigned errlen);
/* Parse a cache (tlb false) or TLB spec and check that its geometry works. */
int cache_parse_checked(const char *spec, bool tlb, struct cache_cfg *cfg, char *err, unsigned errlen);
int cache_init(struct cache *c, const struct cache_cfg *cfg, char *err, unsigned errlen);
/* cache_init with the hash index on (use_index) or off whatever the ways: the
 * unit test checks both give the same hits and misses. */
int cache_init_indexed(struct cache *c, const struct cache_cfg *cfg, bool use_index, char *err, unsigned errlen);
void cache_free(struct cache *c);
/* Look up (and on a miss fill) the line holding addr. 1: hit, 0: miss. */
int cache_access_slow(struct cache *c, uint64_t addr);
static inline int cache_access(struct cache *c, uint64_t addr)
{
    /* the line just used is still there: a hit (exact for both policies;
     * an LRU list already has it first). Inline: most accesses end here
     * (the instruction fetches of a block, the next access to a page). */
    if ((addr >> c->line_shift) + 1 == c->mru_line) {
        c->accesses++;
        c->stamp[c->mru_slot] = ++c->clock;
        return 1;
    }
    return cache_access_slow(c, addr);
}
/* An access of `size` bytes at addr: as cachegrind, one access that looks up
 * both lines when it crosses a line boundary and misses if either misses.
 * *missed (may be NULL) gets the line address(es) that missed (0, 1 or 2). */
int cache_access_crossing(struct cache *c, uint64_t addr, unsigned size, uint64_t missed[2], unsigned *nmissed);
static inline int cache_access_range(struct cache *c, uint64_t addr, unsigned size, uint64_t missed[2],
                                     unsigned *nmissed)
{
    if ((addr + (size ? size : 1) - 1) >> c->line_shift != addr >> c->line_shift)
        return cache_access_crossing(c, addr, size, missed, nmissed); /* two lines */
    int h = cache_access(c, addr);
    unsigned nm = 0;
    if (!h && missed)
        missed[nm++] = addr;
    if (nmissed)
        *nmissed = nm;
    return h;
}

#endif
