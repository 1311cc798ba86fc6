/* ini.c -- see ini.h. */
#include "ini.h"

#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim_spaces(char *s, size_t n)
{
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    return xasprintf("%.*s", (int)n, s);
}

/* Sections are found through a hash index (a checkpoint of 64 CPUs has
 * thousands of sections; a linear search made reading quadratic). Appending
 * keeps the index; inserting in the middle or removing marks it stale and
 * the next lookup rebuilds it. */
static void index_rebuild(struct ini *f)
{
    if (!f->index)
        f->index = g_hash_table_new(g_str_hash, g_str_equal);
    else
        g_hash_table_remove_all(f->index);
    for (size_t i = 0; i < f->n; i++)
        g_hash_table_insert(f->index, f->s[i].name, (gpointer)(uintptr_t)(i + 1));
    f->index_stale = 0;
}

static struct ini_sec *add_at(struct ini *f, size_t pos, const char *name)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->s = xrealloc(f->s, f->cap * sizeof *f->s);
    }
    memmove(f->s + pos + 1, f->s + pos, (f->n - pos) * sizeof *f->s);
    f->n++;
    memset(&f->s[pos], 0, sizeof f->s[pos]);
    f->s[pos].name = xstrdup(name);
    if (pos + 1 == f->n && f->index && !f->index_stale)
        g_hash_table_insert(f->index, f->s[pos].name, (gpointer)(uintptr_t)(pos + 1));
    else
        f->index_stale = 1;
    return &f->s[pos];
}

struct ini_sec *ini_find(const struct ini *cf, const char *name)
{
    struct ini *f = (struct ini *)cf; /* the index is a cache */
    if (!f->index || f->index_stale)
        index_rebuild(f);
    uintptr_t at = (uintptr_t)g_hash_table_lookup(f->index, name);
    return at ? &f->s[at - 1] : NULL;
}

static void kv_append(struct ini_sec *s, char *key, char *val) /* takes ownership */
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->kv = xrealloc(s->kv, s->cap * sizeof *s->kv);
    }
    s->kv[s->n].key = key;
    s->kv[s->n++].val = val;
}

static void kv_put(struct ini_sec *s, char *key, char *val) /* takes ownership */
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->kv[i].key, key)) {
            free(s->kv[i].val);
            s->kv[i].val = val;
            free(key);
            return;
        }
    kv_append(s, key, val);
}

int ini_parse(const char *text, size_t len, const char *what, struct ini *out)
{
    memset(out, 0, sizeof *out);
    struct ini_sec *cur = NULL;
    size_t lineno = 0;
    /* "<section position>\n<key>" -> key position + 1: a section with many
     * keys must not make reading quadratic either */
    GHashTable *keys = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    for (size_t pos = 0; pos < len;) {
        const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - l) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        while (n && (*l == ' ' || *l == '\t'))
            l++, n--;
        if (!n)
            continue;
        if (*l == '[') {
            const char *rb = memchr(l, ']', n);
            if (!rb) {
                ini_free(out);
                g_hash_table_destroy(keys);
                return ffwd_seterr("%s:%zu: section header without ']'", what, lineno);
            }
            char *name = xasprintf("%.*s", (int)(rb - l - 1), l + 1);
            cur = ini_find(out, name);
            if (!cur)
                cur = add_at(out, out->n, name);
            free(name);
            continue;
        }
        if (!cur)
            continue; /* before the first section: ignored, as gem5 does */
        const char *eq = memchr(l, '=', n);
        if (!eq) {
            ffwd_seterr("%s:%zu: line in section [%s] has no '=' (gem5 refuses such a checkpoint)", what, lineno,
                        cur->name);
            ini_free(out);
            g_hash_table_destroy(keys);
            return -1;
        }
        char *key = trim_spaces((char *)l, (size_t)(eq - l)), *val = trim_spaces((char *)eq + 1, n - (size_t)(eq - l) - 1);
        char *hk = xasprintf("%zu\n%s", (size_t)(cur - out->s), key);
        uintptr_t at = (uintptr_t)g_hash_table_lookup(keys, hk);
        if (at) { /* a repeated key: the last one wins, as in gem5 */
            free(cur->kv[at - 1].val);
            cur->kv[at - 1].val = val;
            free(key);
            free(hk);
            continue;
        }
        g_hash_table_insert(keys, hk, (gpointer)(uintptr_t)(cur->n + 1));
        kv_append(cur, key, val);
    }
    g_hash_table_destroy(keys);
    return 0;
}

void ini_free(struct ini *f)
{
    for (size_t i = 0; i < f->n; i++) {
        for (size_t k = 0; k < f->s[i].n; k++) {
            free(f->s[i].kv[k].key);
            free(f->s[i].kv[k].val);
        }
        free(f->s[i].kv);
        free(f->s[i].name);
    }
    free(f->s);
    if (f->index)
        g_hash_table_destroy(f->index);
    memset(f, 0, sizeof *f);
}

struct ini_sec *ini_add(struct ini *f, const char *name, const char *after)
{
    struct ini_sec *s = ini_find(f, name);
    if (s)
        return s;
    size_t pos = f->n;
    if (after) {
        struct ini_sec *a = ini_find(f, after);
        if (a)
            pos = (size_t)(a - f->s) + 1;
    }
    return add_at(f, pos, name);
}

const char *ini_get(const struct ini_sec *s, const char *key)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcmp(s->kv[i].key, key))
            return s->kv[i].val;
    return NULL;
}

void ini_set(struct ini_sec *s, const char *key, const char *val) { kv_put(s, xstrdup(key), xstrdup(val)); }

void ini_setf(struct ini_sec *s, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = xvasprintf(fmt, ap);
    va_end(ap);
    kv_put(s, xstrdup(key), v);
}

void ini_set_u64(struct ini_sec *s, const char *key, uint64_t v) { ini_setf(s, key, "%" PRIu64, v); }
void ini_set_bool(struct ini_sec *s, const char *key, int v) { ini_set(s, key, v ? "true" : "false"); }

static int in_tree(const char *name, const char *root)
{
    size_t l = strlen(root);
    return !strncmp(name, root, l) && (name[l] == 0 || name[l] == '.');
}

void ini_remove_tree(struct ini *f, const char *name)
{
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (in_tree(f->s[i].name, name)) {
            for (size_t k = 0; k < f->s[i].n; k++) {
                free(f->s[i].kv[k].key);
                free(f->s[i].kv[k].val);
            }
            free(f->s[i].kv);
            free(f->s[i].name);
        } else
            f->s[w++] = f->s[i];
    }
    f->n = w;
    f->index_stale = 1;
}

void ini_clone_tree(struct ini *f, const char *from, const char *to)
{
    size_t last = 0, count = 0;
    for (size_t i = 0; i < f->n; i++)
        if (in_tree(f->s[i].name, from))
            last = i, count++;
    if (!count)
        return;
    size_t at = last + 1, nfrom = strlen(from);
    for (size_t i = 0; i <= last; i++) {
        if (!in_tree(f->s[i].name, from))
            continue;
        char *nn = xasprintf("%s%s", to, f->s[i].name + nfrom);
        struct ini_sec *d = add_at(f, at++, nn); /* may move f->s: index again */
        free(nn);
        struct ini_sec *src = &f->s[i];
        for (size_t k = 0; k < src->n; k++)
            kv_put(d, xstrdup(src->kv[k].key), xstrdup(src->kv[k].val));
    }
}

void ini_write(const struct ini *f, const char *header, struct sbuf *out)
{
    if (header)
        sbuf_addf(out, "%s\n\n", header);
    for (size_t i = 0; i < f->n; i++) {
        sbuf_addf(out, "[%s]\n", f->s[i].name);
        for (size_t k = 0; k < f->s[i].n; k++) {
            sbuf_add(out, f->s[i].kv[k].key, strlen(f->s[i].kv[k].key));
            sbuf_addc(out, '=');
            sbuf_add(out, f->s[i].kv[k].val, strlen(f->s[i].kv[k].val));
            sbuf_addc(out, '\n');
        }
        sbuf_addc(out, '\n');
    }
}

int ini_write_file(const struct ini *f, const char *header, const char *path)
{
    struct sbuf o = {0};
    ini_write(f, header, &o);
    int rc = write_file_atomic(path, o.s ? o.s : "", o.len, 0644);
    sbuf_free(&o);
    return rc;
}
