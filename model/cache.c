/* cache.c -- set-associative cache / TLB model (see cache.h). */
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool pow2(uint64_t v) { return v && !(v & (v - 1)); }

int cache_parse(const char *spec, struct cache_cfg *cfg, char *err, unsigned errlen)
{
    char *end;
    memset(cfg, 0, sizeof *cfg);
    unsigned long long size = strtoull(spec, &end, 10);
    if (end == spec)
        goto bad;
    if (*end == 'K' || *end == 'k')
        size <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        size <<= 20, end++;
    else if (*end == 'G' || *end == 'g')
        size <<= 30, end++;
    if (*end != ':')
        goto bad;
    const char *p = end + 1;
    unsigned long assoc = strtoul(p, &end, 10);
    if (end == p || *end != ':')
        goto bad;
    p = end + 1;
    unsigned long line = strtoul(p, &end, 10);
    if (end == p)
        goto bad;
    cfg->repl = CACHE_LRU;
    if (*end == ':') {
        if (!strcasecmp(end + 1, "lru"))
            cfg->repl = CACHE_LRU;
        else if (!strcasecmp(end + 1, "random"))
            cfg->repl = CACHE_RANDOM;
        else
            goto bad;
    } else if (*end)
        goto bad;
    cfg->size = size;
    cfg->assoc = (unsigned)assoc;
    cfg->line = (unsigned)line;
    return 0;
bad:
    snprintf(err, errlen, "'%s' is not SIZE:ASSOC:LINE[:lru|random] (e.g. 32K:2:64)", spec);
    return -1;
}

int cache_parse_tlb(const char *spec, struct cache_cfg *cfg, char *err, unsigned errlen)
{
    unsigned long e, a, page = 4096;
    char tail[16] = "";
    int n = sscanf(spec, "%lu:%lu:%lu%15s", &e, &a, &page, tail);
    memset(cfg, 0, sizeof *cfg);
    if ((n != 2 && n != 3) || !e) {
        snprintf(err, errlen, "'%s' is not ENTRIES:ASSOC[:PAGE] (e.g. 64:0)", spec);
        return -1;
    }
    cfg->size = (uint64_t)e * page;
    cfg->line = (unsigned)page;
    cfg->assoc = (unsigned)a;
    cfg->repl = CACHE_LRU;
    return 0;
}

int cache_parse_checked(const char *spec, bool tlb, struct cache_cfg *cfg, char *err, unsigned errlen)
{
    struct cache probe;
    if ((tlb ? cache_parse_tlb(spec, cfg, err, errlen) : cache_parse(spec, cfg, err, errlen)) < 0 ||
        cache_init(&probe, cfg, err, errlen) < 0)
        return -1;
    cache_free(&probe);
    return 0;
}

int cache_init(struct cache *c, const struct cache_cfg *cfg, char *err, unsigned errlen)
{
    uint64_t lines = cfg->line ? cfg->size / cfg->line : 0;
    unsigned ways = cfg->assoc ? cfg->assoc : (unsigned)lines;
    return cache_init_indexed(c, cfg, ways > CACHE_INDEX_WAYS, err, errlen);
}

int cache_init_indexed(struct cache *c, const struct cache_cfg *cfg, bool use_index, char *err, unsigned errlen)
{
    memset(c, 0, sizeof *c);
    if (!pow2(cfg->line) || cfg->size < cfg->line || cfg->size % cfg->line) {
        snprintf(err, errlen, "line %u must be a power of two and divide the size %llu", cfg->line,
                 (unsigned long long)cfg->size);
        return -1;
    }
    uint64_t lines = cfg->size / cfg->line;
    unsigned ways = cfg->assoc ? cfg->assoc : (unsigned)lines;
    if (ways > lines || lines % ways || !pow2(lines / ways) || lines > (1u << 26)) {
        snprintf(err, errlen, "%llu lines in %u ways do not give a power-of-two number of sets (at most 2^26 lines)",
                 (unsigned long long)lines, ways);
        return -1;
    }
    c->cfg = *cfg;
    c->ways = ways;
    c->sets = (unsigned)(lines / ways);
    c->set_mask = c->sets - 1;
    while ((1u << c->line_shift) < cfg->line)
        c->line_shift++;
    c->tag = calloc(lines, sizeof *c->tag);
    c->stamp = calloc(lines, sizeof *c->stamp);
    c->rng = 0x853c49e6748fea9bULL;
    if (use_index) { /* at most half full: short probe runs */
        unsigned bits = 1;
        while ((1ULL << bits) < 2 * lines)
            bits++;
        c->index_mask = (1ULL << bits) - 1;
        c->index_shift = 64 - bits;
        c->index = calloc((size_t)1 << bits, sizeof *c->index);
        if (cfg->repl == CACHE_LRU) {
            c->lru_prev = calloc(lines + c->sets, sizeof *c->lru_prev);
            c->lru_next = calloc(lines + c->sets, sizeof *c->lru_next);
        }
        if (!c->index || (cfg->repl == CACHE_LRU && (!c->lru_prev || !c->lru_next))) {
            cache_free(c);
            snprintf(err, errlen, "out of memory for the index of %llu lines", (unsigned long long)lines);
            return -1;
        }
        /* each set's list, first to last: ways-1 .. 0 (way 0 is the first
         * victim, as the scan's first invalid way) */
        for (uint64_t set = 0; c->lru_prev && set < c->sets; set++) {
            uint32_t h = (uint32_t)(lines + set), prev = h;
            for (unsigned w = ways; w-- > 0;) {
                uint32_t n = (uint32_t)(set * ways + w);
                c->lru_next[prev] = n;
                c->lru_prev[n] = prev;
                prev = n;
            }
            c->lru_next[prev] = h;
            c->lru_prev[h] = prev;
        }
    }
    if (!c->tag || !c->stamp) {
        cache_free(c);
        snprintf(err, errlen, "out of memory for %llu lines", (unsigned long long)lines);
        return -1;
    }
    return 0;
}

void cache_free(struct cache *c)
{
    free(c->tag);
    free(c->stamp);
    free(c->index);
    free(c->lru_prev);
    free(c->lru_next);
    c->tag = c->stamp = NULL;
    c->index = c->lru_prev = c->lru_next = NULL;
}

/* ---- the hash index (highly associative caches) ---- */

static uint64_t index_home(const struct cache *c, uint64_t t)
{
    return (t * 0x9E3779B97F4A7C15ULL) >> c->index_shift; /* Fibonacci hashing: the top bits */
}

/* The slot holding tag t, or -1. */
static int64_t index_find(const struct cache *c, uint64_t t)
{
    for (uint64_t i = index_home(c, t);; i = (i + 1) & c->index_mask) {
        uint32_t e = c->index[i];
        if (!e)
            return -1;
        if (c->tag[e - 1] == t)
            return (int64_t)e - 1;
    }
}

static void index_put(struct cache *c, uint64_t t, uint64_t slot)
{
    uint64_t i = index_home(c, t);
    while (c->index[i])
        i = (i + 1) & c->index_mask;
    c->index[i] = (uint32_t)(slot + 1);
}

/* Remove tag t (present), shifting the run after it back so that every
 * entry stays reachable from its home without tombstones. */
static void index_del(struct cache *c, uint64_t t)
{
    uint64_t i = index_home(c, t);
    while (c->tag[c->index[i] - 1] != t)
        i = (i + 1) & c->index_mask;
    for (uint64_t j = i;;) {
        j = (j + 1) & c->index_mask;
        uint32_t e = c->index[j];
        if (!e)
            break;
        uint64_t k = index_home(c, c->tag[e - 1]);
        /* e may move to the hole at i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (!stays) {
            c->index[i] = e;
            i = j;
        }
    }
    c->index[i] = 0;
}

/* Make slot n the first (most recent) of its set's list. */
static void lru_touch(struct cache *c, uint64_t n, uint64_t set)
{
    uint32_t h = (uint32_t)(c->sets * (uint64_t)c->ways + set), p = c->lru_prev[n], x = c->lru_next[n];
    if (p == h)
        return;
    c->lru_next[p] = x;
    c->lru_prev[x] = p;
    uint32_t first = c->lru_next[h];
    c->lru_next[h] = (uint32_t)n;
    c->lru_prev[n] = h;
    c->lru_next[n] = first;
    c->lru_prev[first] = (uint32_t)n;
}

int cache_access_slow(struct cache *c, uint64_t addr)
{
    uint64_t ln = addr >> c->line_shift;
    uint64_t set = ln & c->set_mask, t = ln + 1; /* the whole line number as tag (0 = invalid) */
    c->accesses++;
    c->clock++;
    if (t == c->mru_line) { /* see cache_access */
        c->stamp[c->mru_slot] = c->clock;
        return 1;
    }
    uint64_t *tg = c->tag + set * c->ways, *st = c->stamp + set * c->ways;
    unsigned victim = 0;
    if (c->index) {
        int64_t slot = index_find(c, t);
        if (slot >= 0) { /* (an indexed cache's order is its list: no stamp) */
            if (c->lru_prev)
                lru_touch(c, (uint64_t)slot, set);
            c->mru_line = t;
            c->mru_slot = (uint64_t)slot;
            return 1;
        }
        if (c->lru_prev) /* a miss: the least recent, last in the list */
            victim = (unsigned)(c->lru_prev[c->sets * (uint64_t)c->ways + set] - set * c->ways);
    } else {
        for (unsigned w = 0; w < c->ways; w++) {
            if (tg[w] == t) {
                st[w] = c->clock;
                c->mru_line = t;
                c->mru_slot = set * c->ways + w;
                return 1;
            }
            if (st[w] < st[victim])
                victim = w; /* least recently used (invalid lines have stamp 0) */
        }
    }
    c->misses++;
    if (c->cfg.repl == CACHE_RANDOM) {
        unsigned free_way = c->ways;
        for (unsigned w = 0; w < c->ways && free_way == c->ways; w++)
            if (!tg[w])
                free_way = w;
        if (free_way < c->ways)
            victim = free_way;
        else {
            c->rng ^= c->rng << 13, c->rng ^= c->rng >> 7, c->rng ^= c->rng << 17;
            victim = (unsigned)(c->rng % c->ways);
        }
    }
    if (c->index) {
        if (tg[victim])
            index_del(c, tg[victim]);
        index_put(c, t, set * c->ways + victim);
        if (c->lru_prev)
            lru_touch(c, set * c->ways + victim, set);
    }
    tg[victim] = t;
    st[victim] = c->clock;
    c->mru_line = t;
    c->mru_slot = set * c->ways + victim;
    return 0;
}

int cache_access_crossing(struct cache *c, uint64_t addr, unsigned size, uint64_t missed[2], unsigned *nmissed)
{
    uint64_t last = (addr + (size ? size : 1) - 1) >> c->line_shift;
    unsigned nm = 0;
    uint64_t acc = c->accesses, mis = c->misses, second = last << c->line_shift;
    int h1 = cache_access(c, addr), h2 = cache_access(c, second);
    if (!h1 && missed)
        missed[nm++] = addr;
    if (!h2 && missed)
        missed[nm++] = second;
    c->accesses = acc + 1;
    c->misses = mis + (h1 && h2 ? 0 : 1);
    if (nmissed)
        *nmissed = nm;
    return h1 && h2;
}
