/* gem5src.c -- see gem5src.h. */
#include "gem5src.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

struct owned {
    char **enums, **keys;
    size_t n;
    struct gem5_reg_map *map;
    size_t nmap;
    char *mh, *mc;
};

/* Remove C comments in place. */
static void strip_comments(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '/' && r[1] == '/') {
            while (*r && *r != '\n')
                r++;
        } else if (r[0] == '/' && r[1] == '*') {
            r += 2;
            while (*r && !(r[0] == '*' && r[1] == '/'))
                r++;
            if (*r)
                r += 2;
        } else if (*r == '"') { /* keep string literals intact */
            *w++ = *r++;
            while (*r && *r != '"') {
                if (*r == '\\' && r[1])
                    *w++ = *r++;
                *w++ = *r++;
            }
            if (*r)
                *w++ = *r++;
        } else
            *w++ = *r++;
    }
    *w = 0;
}

static long find_enum(struct owned *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->enums[i], name))
            return (long)i;
    return -1;
}

/* gem5Version from src/base/version.cc: `const char *gem5Version = "24.0.0.1";` */
static char *source_version(const char *src)
{
    char *p = xasprintf("%s/src/base/version.cc", src);
    size_t n;
    char *text = read_file(p, &n);
    free(p);
    const char *v = text ? strstr(text, "gem5Version") : NULL;
    v = v ? strchr(v, '"') : NULL;
    const char *e = v ? strchr(v + 1, '"') : NULL;
    char *r = e ? xasprintf("%.*s", (int)(e - v - 1), v + 1) : xstrdup("unknown");
    free(text);
    return r;
}

int gem5_miscregs_parse(const char *src, struct gem5_miscregs *out)
{
    memset(out, 0, sizeof *out);
    struct owned *o = xcalloc(1, sizeof *o);
    char *hp = xasprintf("%s/src/arch/arm/regs/misc.hh", src), *cp = xasprintf("%s/src/arch/arm/regs/misc.cc", src);
    o->mh = read_file(hp, NULL);
    o->mc = o->mh ? read_file(cp, NULL) : NULL;
    int rc = -1;
    if (!o->mh || !o->mc)
        goto out;
    strip_comments(o->mh);
    strip_comments(o->mc);
    /* enum MiscRegIndex { ... } */
    char *e = strstr(o->mh, "enum MiscRegIndex");
    char *b = e ? strchr(e, '{') : NULL, *end = b ? strchr(b, '}') : NULL;
    if (!b || !end) {
        ffwd_seterr("%s: no 'enum MiscRegIndex { ... }'", hp);
        goto out;
    }
    *end = 0;
    size_t nphys = 0;
    for (char *save = NULL, *t = strtok_r(b + 1, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*t))
            t++;
        size_t l = strcspn(t, " \t\n=");
        if (!l)
            continue;
        o->enums = xrealloc(o->enums, (o->n + 1) * sizeof(char *));
        o->enums[o->n] = xasprintf("%.*s", (int)l, t);
        if (!strcmp(o->enums[o->n], "NUM_PHYS_MISCREGS"))
            nphys = o->n;
        o->n++;
    }
    /* miscRegName[] = { "cpsr", ... } */
    char *nm = strstr(end + 1, "miscRegName[]");
    char *nb = nm ? strchr(nm, '{') : NULL, *ne = nb ? strstr(nb, "};") : NULL;
    if (!nb || !ne || !nphys) {
        ffwd_seterr("%s: no miscRegName[] table or no NUM_PHYS_MISCREGS", hp);
        goto out;
    }
    size_t nk = 0;
    o->keys = xcalloc(o->n + 1, sizeof(char *));
    for (char *p = nb; p < ne;) {
        char *q = strchr(p, '"');
        if (!q || q > ne)
            break;
        char *q2 = strchr(q + 1, '"');
        if (!q2)
            break;
        if (nk < o->n)
            o->keys[nk] = xasprintf("%.*s", (int)(q2 - q - 1), q + 1);
        nk++;
        p = q2 + 1;
    }
    if (nk != o->n - 1 && nk != o->n) { /* NUM_MISCREGS itself has no name */
        ffwd_seterr("%s: miscRegName has %zu names for %zu enum entries", hp, nk, o->n);
        goto out;
    }
    /* misc.cc: InitReg(MISCREG_X) ... ; */
    struct blk {
        long idx, map_lo, map_hi;
        int banked64;
    } *blks = NULL;
    size_t nb2 = 0;
    for (char *p = o->mc; (p = strstr(p, "InitReg(")) != NULL;) {
        p += 8;
        size_t l = strcspn(p, ")");
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(l < 127 ? l : 127), p);
        char *semi = strchr(p, ';');
        if (!semi)
            break;
        *semi = 0;
        struct blk bl = {find_enum(o, name), -1, -1, strstr(p, ".banked64()") != NULL};
        char *mt = strstr(p, ".mapsTo(");
        if (mt) {
            mt += 8;
            char args[256];
            snprintf(args, sizeof args, "%.*s", (int)strcspn(mt, ")"), mt);
            char *comma = strchr(args, ',');
            if (comma) {
                *comma = 0;
                char *u = comma + 1;
                while (isspace((unsigned char)*u))
                    u++;
                u[strcspn(u, " \t\n")] = 0;
                bl.map_hi = find_enum(o, u);
            }
            char *a = args;
            while (isspace((unsigned char)*a))
                a++;
            a[strcspn(a, " \t\n")] = 0;
            bl.map_lo = find_enum(o, a);
        }
        *semi = ';';
        p = semi + 1;
        if (bl.idx < 0)
            continue;
        blks = xrealloc(blks, (nb2 + 1) * sizeof *blks);
        blks[nb2++] = bl;
    }
    /* resolve every AArch64 register (name ends in _ELn) */
    for (size_t i = 0; i < nb2; i++) {
        const char *en = o->enums[blks[i].idx];
        const char *el = NULL;
        for (const char *f = strstr(en, "_EL"); f; f = strstr(f + 1, "_EL"))
            el = f; /* the last "_EL": ELR_EL1 */
        if (strncmp(en, "MISCREG_", 8) || !el || !isdigit((unsigned char)el[3]) || el[4])
            continue;
        long cur = blks[i].idx, lo = -1, hi = -1;
        for (int depth = 0; depth < 4; depth++) {
            struct blk *bk = NULL;
            for (size_t k = 0; k < nb2; k++)
                if (blks[k].idx == cur)
                    bk = &blks[k];
            if (bk && bk->banked64 && (size_t)cur + 1 < o->n) {
                cur = cur + 1;
                continue;
            }
            if (bk && bk->map_lo >= 0) {
                lo = bk->map_lo;
                hi = bk->map_hi;
            } else
                lo = cur;
            break;
        }
        if (lo < 0 || (size_t)lo >= nphys || (hi >= 0 && (size_t)hi >= nphys))
            continue; /* not serialised (dummy registers) */
        o->map = xrealloc(o->map, (o->nmap + 1) * sizeof *o->map);
        o->map[o->nmap++] = (struct gem5_reg_map){xstrdup(en + 8), o->keys[lo], hi >= 0 ? o->keys[hi] : NULL};
    }
    free(blks);
    out->version = xstrdup(src);
    out->gem5_version = source_version(src);
    out->nphys = nphys;
    out->keys = (const char *const *)o->keys;
    out->nmap = o->nmap;
    out->map = o->map;
    out->owned = o;
    rc = 0;
out:
    free(hp);
    free(cp);
    if (rc < 0) {
        out->owned = o;
        gem5_miscregs_free(out);
    }
    return rc;
}

void gem5_miscregs_free(struct gem5_miscregs *m)
{
    struct owned *o = m->owned;
    if (o) {
        for (size_t i = 0; i < o->n; i++) {
            free(o->enums ? o->enums[i] : NULL);
            free(o->keys ? o->keys[i] : NULL);
        }
        for (size_t i = 0; i < o->nmap; i++)
            free((char *)o->map[i].reg);
        free(o->enums);
        free(o->keys);
        free(o->map);
        free(o->mh);
        free(o->mc);
        free(o);
        free((char *)m->version);
        free((char *)m->gem5_version);
    }
    memset(m, 0, sizeof *m);
}

const struct gem5_reg_map *gem5_miscregs_find(const struct gem5_miscregs *m, const char *reg)
{
    for (size_t i = 0; i < m->nmap; i++)
        if (!strcmp(m->map[i].reg, reg))
            return &m->map[i];
    return NULL;
}

int gem5_miscregs_has_key(const struct gem5_miscregs *m, const char *key)
{
    for (size_t i = 0; i < m->nphys; i++)
        if (!strcmp(m->keys[i], key))
            return 1;
    return 0;
}

void gem5_miscregs_emit_c(const struct gem5_miscregs *m, FILE *f)
{
    fprintf(f, "/* Generated by `ffwd gem5-table --gem5-src DIR` from gem5 v24.0.0.1\n"
               " * (src/arch/arm/regs/misc.hh and misc.cc). Register names and the\n"
               " * storage keys gem5 uses for them: data, not gem5 code. */\n"
               "#include \"gem5src.h\"\n\n"
               "static const char *const keys_v24[] = {\n");
    for (size_t i = 0; i < m->nphys; i++)
        fprintf(f, "    \"%s\",\n", m->keys[i]);
    fprintf(f, "};\n\nstatic const struct gem5_reg_map map_v24[] = {\n");
    for (size_t i = 0; i < m->nmap; i++)
        fprintf(f, "    {\"%s\", \"%s\", %s%s%s},\n", m->map[i].reg, m->map[i].lo, m->map[i].hi ? "\"" : "",
                m->map[i].hi ? m->map[i].hi : "NULL", m->map[i].hi ? "\"" : "");
    fprintf(f, "};\n\nconst struct gem5_miscregs *gem5_miscregs_v24(void)\n{\n"
               "    static const struct gem5_miscregs t = {\"v24.0 (built in)\", sizeof keys_v24 / sizeof *keys_v24,\n"
               "                                           keys_v24, sizeof map_v24 / sizeof *map_v24, map_v24, NULL,\n"
               "                                           \"24.0.0.1\"};\n"
               "    return &t;\n}\n");
}
