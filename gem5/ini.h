/*
 * ini.h -- gem5's checkpoint INI file (m5.cpt) as an ordered, editable model.
 *
 * Reading follows gem5's IniFile::load (src/base/inifile.cc): line based,
 * leading whitespace skipped, "[name]" opens (or re-opens, merging) a
 * section, text before the first section is ignored, inside a section
 * every non-empty line must contain '=', key and value are trimmed of
 * spaces. Writing produces one "key=value" per line, LF line ends, no
 * comment lines inside sections.
 */
#ifndef FFWD_INI_H
#define FFWD_INI_H

#include <stddef.h>

#include "../common/util.h"

struct ini_kv {
    char *key, *val;
};

struct ini_sec {
    char *name;
    struct ini_kv *kv;
    size_t n, cap;
};

struct ini {
    struct ini_sec *s;
    size_t n, cap;
    void *index;     /* GHashTable: section name -> position + 1 (a cache, rebuilt when stale) */
    int index_stale;
};

/* Parse; errors name `what` and the line. */
int ini_parse(const char *text, size_t len, const char *what, struct ini *out);
void ini_free(struct ini *f);
struct ini_sec *ini_find(const struct ini *f, const char *name);
/* Add a section (empty) right after section `after` (or at the end when NULL
 * or not found); returns it. An existing section of that name is returned as is. */
struct ini_sec *ini_add(struct ini *f, const char *name, const char *after);
const char *ini_get(const struct ini_sec *s, const char *key);
void ini_set(struct ini_sec *s, const char *key, const char *val);
void ini_setf(struct ini_sec *s, const char *key, const char *fmt, ...) FFWD_PRINTF(3, 4);
void ini_set_u64(struct ini_sec *s, const char *key, uint64_t v);
void ini_set_bool(struct ini_sec *s, const char *key, int v);
/* Remove every section whose name equals `name` or starts with `name.` */
void ini_remove_tree(struct ini *f, const char *name);
/* Copy section `from` (and its sub-sections) under the new name prefix `to`,
 * inserted after the last section of the copied tree. */
void ini_clone_tree(struct ini *f, const char *from, const char *to);
void ini_write(const struct ini *f, const char *header, struct sbuf *out);
/* ini_write into the file path, atomically (mode 0644). */
int ini_write_file(const struct ini *f, const char *header, const char *path);

#endif
