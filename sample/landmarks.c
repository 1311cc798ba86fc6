/* landmarks.c -- see landmarks.h. */
#include "landmarks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/util.h"

int landmarks_read(const char *path, unsigned vcpu, struct landmarks *out)
{
    memset(out, 0, sizeof *out);
    if (!path_exists(path))
        return 0;
    char *text = read_text_file(path, NULL);
    if (!text)
        return -1;
    size_t cap = 0;
    unsigned long lineno = 0;
    int rc = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (l[0] == '#') {
            const char *st = strstr(l, "step=");
            if (st)
                out->step = strtoull(st + 5, NULL, 10);
            continue;
        }
        unsigned v;
        unsigned long long n, x, p, at, gap;
        char extra;
        if (sscanf(l, "%u %llu %llx %llx %llu %llu %c", &v, &n, &x, &p, &at, &gap, &extra) != 6) {
            rc = ffwd_seterr("%s:%lu: expected \"<vcpu> <counted> <x vaddr> <p vaddr> <counted before p> <gap>\"",
                             path, lineno);
            break;
        }
        if (v != vcpu)
            continue;
        if (at > n || (out->n && n < out->v[out->n - 1].n)) {
            rc = ffwd_seterr("%s:%lu: landmark at %llu out of order (block P at %llu)", path, lineno, n, at);
            break;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 1024;
            out->v = xrealloc(out->v, cap * sizeof *out->v);
        }
        out->v[out->n++] = (struct landmark){.n = n, .x_pc = x, .p_pc = p, .p_at = at, .gap = gap};
    }
    free(text);
    if (rc == 0 && out->n && !out->step)
        rc = ffwd_seterr("%s: no step= in the header", path);
    if (rc < 0)
        landmarks_free(out);
    return rc;
}

void landmarks_free(struct landmarks *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

const struct landmark *landmarks_near(const struct landmarks *l, uint64_t target, uint64_t limit)
{
    /* the first landmark at or after target - step (binary search) */
    uint64_t from = target > l->step ? target - l->step : 0;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid].n < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* the nearest within a step and not after limit; one whose P is easy to
     * find again first (a gap of FFWD_LANDMARK_MIN_GAP or more: not a tight
     * loop's block, which a rerun that drifted by half the loop's few
     * instructions takes in another iteration) */
    const struct landmark *best = NULL, *strong = NULL;
    uint64_t bestd = UINT64_MAX, strongd = UINT64_MAX;
    for (size_t i = lo; i < l->n && l->v[i].n <= target + l->step; i++) {
        const struct landmark *m = &l->v[i];
        uint64_t d = m->n > target ? m->n - target : target - m->n;
        if (m->n > limit)
            continue;
        if (d < bestd)
            best = m, bestd = d;
        if (m->gap >= FFWD_LANDMARK_MIN_GAP && d < strongd)
            strong = m, strongd = d;
    }
    return strong ? strong : best;
}

void landmark_window(const struct landmark *m, uint64_t *lo, uint64_t *hi)
{
    uint64_t margin = m->gap ? m->gap / 2 : FFWD_LANDMARK_MARGIN;
    if (margin > FFWD_LANDMARK_MARGIN)
        margin = FFWD_LANDMARK_MARGIN;
    *lo = m->p_at > margin ? m->p_at - margin : 0;
    *hi = m->p_at + margin;
}

bool landmark_same_code(uint64_t pc, uint64_t expected)
{
    return pc == expected || ((pc & 0xfff) == (expected & 0xfff) && (pc >> 48) == (expected >> 48));
}
