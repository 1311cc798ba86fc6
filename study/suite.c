/* suite.c -- benchmark suites: the suite file, its disk, its guest command; see suite.h. */
#define _GNU_SOURCE
#include "suite.h"

#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/paths.h"
#include "../common/util.h"
#include "../image/guest_image.h"

#define SUITE_FORMAT 1
#define SUITE_DISK_FORMAT "ffwd-suite-disk 1"
/* on every suite disk (package libfaketime): the clock the programs see, frozen */
#define SUITE_FAKETIME "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1"

const char *const suite_size_names[SUITE_NSIZES] = {"test", "ref"};

int suite_size_parse(const char *s, enum suite_size *out)
{
    for (int i = 0; i < SUITE_NSIZES; i++)
        if (!strcmp(s, suite_size_names[i])) {
            *out = (enum suite_size)i;
            return 0;
        }
    return ffwd_seterr("size '%s': must be test or ref", s);
}

/* ---- the suite file ---- */

/* A name that is a file name and a shell word: [A-Za-z0-9][A-Za-z0-9._-]*. */
static bool plain_name(const char *s)
{
    if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._-", *s)))
            return false;
    return true;
}

/* A relative path below the benchmark's folder: plain names joined by '/'. */
static bool rel_path(const char *s)
{
    if (!*s || strlen(s) > 200)
        return false;
    char *c = xstrdup(s);
    bool ok = true;
    for (char *save = NULL, *t = strtok_r(c, "/", &save); t && ok; t = strtok_r(NULL, "/", &save))
        ok = plain_name(t) && strcmp(t, "..") && strcmp(t, ".");
    ok = ok && s[0] != '/' && s[strlen(s) - 1] != '/' && !strstr(s, "//");
    free(c);
    return ok;
}

static bool sha_hex(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

struct ctx {
    const char *file;
    char where[160];
};

static int bad(const struct ctx *c, const char *field, const char *what)
{
    return ffwd_seterr("suite file %s: %s%s%s: %s", c->file, c->where, *c->where ? "." : "", field, what);
}

static const char *get_str(const struct ctx *c, json_t *o, const char *field, bool required, int *err)
{
    json_t *v = json_object_get(o, field);
    if (!v) {
        if (required)
            *err = bad(c, field, "missing (a string)");
        return NULL;
    }
    if (!json_is_string(v) || !*json_string_value(v)) {
        *err = bad(c, field, "must be a non-empty string");
        return NULL;
    }
    return json_string_value(v);
}

/* "field": {"test": X, "ref": Y} with both sizes. */
static json_t *get_sizes(const struct ctx *c, json_t *o, const char *field, int *err)
{
    json_t *v = json_object_get(o, field);
    if (!json_is_object(v)) {
        *err = bad(c, field, "must be an object {\"test\": ..., \"ref\": ...}");
        return NULL;
    }
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        enum suite_size sz;
        if (suite_size_parse(k, &sz) < 0) {
            char *m = xasprintf("unknown size '%.40s' (test, ref)", k);
            *err = bad(c, field, m);
            free(m);
            return NULL;
        }
    }
    for (int i = 0; i < SUITE_NSIZES; i++)
        if (!json_object_get(v, suite_size_names[i])) {
            char *m = xasprintf("size '%s' missing", suite_size_names[i]);
            *err = bad(c, field, m);
            free(m);
            return NULL;
        }
    return v;
}

static int check_keys(const struct ctx *c, json_t *o, const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        const char *const *p = known;
        while (*p && strcmp(*p, k))
            p++;
        if (!*p) {
            char *m = xasprintf("unknown field '%.60s'", k);
            int r = ffwd_seterr("suite file %s: %s%s%s", c->file, c->where, *c->where ? ": " : "", m);
            free(m);
            return r;
        }
    }
    return 0;
}

#define MAX_INPUT_BYTES (64ULL << 30)

static char *subst(const struct suite_bench *b, enum suite_size size, const char *text, const char *what);

static int parse_bench(const char *file, size_t idx, json_t *o, struct suite_bench *b)
{
    struct ctx c = {.file = file};
    snprintf(c.where, sizeof c.where, "benchmarks[%zu]", idx);
    if (!json_is_object(o))
        return ffwd_seterr("suite file %s: %s: must be an object", file, c.where);
    int err = 0;
    const char *name = get_str(&c, o, "name", true, &err);
    if (err)
        return -1;
    if (!plain_name(name) || strlen(name) > 40)
        return bad(&c, "name", "letters, digits, '.', '_' and '-' only, at most 40, starting with a letter or digit");
    b->name = xstrdup(name);
    snprintf(c.where, sizeof c.where, "benchmarks[%zu] (\"%s\")", idx, name);
    static const char *const known[] = {"name",   "kind",   "description", "packages", "files", "inputs",
                                        "params", "command", "output",     "expect",   "instructions", NULL};
    if (check_keys(&c, o, known) < 0)
        return -1;
    const char *kind = get_str(&c, o, "kind", false, &err), *desc = get_str(&c, o, "description", false, &err);
    const char *cmd = get_str(&c, o, "command", true, &err), *out = get_str(&c, o, "output", false, &err);
    if (err)
        return -1;
    b->kind = xstrdup(kind ? kind : "other");
    b->description = xstrdup(desc ? desc : "");
    b->command = xstrdup(cmd);
    b->output = xstrdup(out ? out : "stdout");
    if (strcmp(b->output, "stdout") && !rel_path(b->output))
        return bad(&c, "output", "\"stdout\" or a relative path below the benchmark's folder");

    json_t *pk = json_object_get(o, "packages");
    if (!json_is_array(pk) || !json_array_size(pk))
        return bad(&c, "packages", "must be a non-empty array of Debian package names");
    size_t i;
    json_t *v;
    json_array_foreach(pk, i, v) {
        if (!json_is_string(v))
            return bad(&c, "packages", "must hold strings");
        deb_list_add(&b->packages, json_string_value(v));
    }

    json_t *files = json_object_get(o, "files");
    if (files && !json_is_array(files))
        return bad(&c, "files", "must be an array of {\"path\", \"text\"}");
    b->files = xcalloc(json_array_size(files) + 1, sizeof *b->files);
    json_array_foreach(files, i, v) {
        struct ctx fc = c;
        snprintf(fc.where, sizeof fc.where, "benchmarks[%zu] (\"%s\").files[%zu]", idx, name, i);
        const char *p = json_is_object(v) ? get_str(&fc, v, "path", true, &err) : NULL;
        const char *t = json_is_object(v) ? json_string_value(json_object_get(v, "text")) : NULL;
        if (err)
            return -1;
        if (!p || !t)
            return ffwd_seterr("suite file %s: %s: must be {\"path\": ..., \"text\": ...}", file, fc.where);
        if (!rel_path(p))
            return bad(&fc, "path", "a relative path below the benchmark's folder");
        b->files[b->nfiles++] = (struct suite_file){xstrdup(p), xstrdup(t)};
    }

    json_t *ins = json_object_get(o, "inputs");
    if (ins && !json_is_array(ins))
        return bad(&c, "inputs", "must be an array of {\"path\", \"generator\", \"seed\", \"bytes\"}");
    b->inputs = xcalloc(json_array_size(ins) + 1, sizeof *b->inputs);
    json_array_foreach(ins, i, v) {
        struct ctx ic = c;
        snprintf(ic.where, sizeof ic.where, "benchmarks[%zu] (\"%s\").inputs[%zu]", idx, name, i);
        if (!json_is_object(v))
            return ffwd_seterr("suite file %s: %s: must be an object", file, ic.where);
        static const char *const iknown[] = {"path", "generator", "seed", "bytes", NULL};
        if (check_keys(&ic, v, iknown) < 0)
            return -1;
        const char *p = get_str(&ic, v, "path", true, &err), *g = get_str(&ic, v, "generator", true, &err);
        if (err)
            return -1;
        if (!rel_path(p))
            return bad(&ic, "path", "a relative path below the benchmark's folder");
        if (strcmp(g, "text") && strcmp(g, "random") && strcmp(g, "csource"))
            return bad(&ic, "generator", "text, random or csource");
        json_t *seed = json_object_get(v, "seed");
        if (!json_is_integer(seed) || json_integer_value(seed) < 0)
            return bad(&ic, "seed", "must be an integer >= 0");
        json_t *by = get_sizes(&ic, v, "bytes", &err);
        if (!by)
            return -1;
        struct suite_input *in = &b->inputs[b->ninputs++];
        in->path = xstrdup(p);
        in->generator = xstrdup(g);
        in->seed = (uint64_t)json_integer_value(seed);
        for (int s = 0; s < SUITE_NSIZES; s++) {
            json_t *n = json_object_get(by, suite_size_names[s]);
            if (!json_is_integer(n) || json_integer_value(n) < 1 ||
                (uint64_t)json_integer_value(n) > MAX_INPUT_BYTES)
                return bad(&ic, "bytes", "sizes must be integers from 1 to 64 GiB");
            in->bytes[s] = (uint64_t)json_integer_value(n);
        }
    }

    if (json_object_get(o, "params")) {
        json_t *pr = get_sizes(&c, o, "params", &err);
        if (!pr)
            return -1;
        for (int s = 0; s < SUITE_NSIZES; s++) {
            json_t *vars = json_object_get(pr, suite_size_names[s]);
            if (!json_is_object(vars))
                return bad(&c, "params", "each size must be an object of variables");
            b->params[s] = xcalloc(json_object_size(vars) + 1, sizeof **b->params);
            const char *k;
            json_t *x;
            json_object_foreach(vars, k, x) {
                if (!plain_name(k) || strchr(k, '.') || strchr(k, '-') || !strcmp(k, "SIZE"))
                    return bad(&c, "params", "variable names are letters, digits and '_' (SIZE is ffwd's own)");
                char *val = json_is_string(x)    ? xstrdup(json_string_value(x))
                            : json_is_integer(x) ? xasprintf("%lld", (long long)json_integer_value(x))
                                                 : NULL;
                if (!val)
                    return bad(&c, "params", "values must be strings or integers");
                b->params[s][b->nparams[s]++] = (struct suite_var){xstrdup(k), val};
            }
        }
    }

    if (json_object_get(o, "expect")) {
        json_t *ex = get_sizes(&c, o, "expect", &err);
        if (!ex)
            return -1;
        for (int s = 0; s < SUITE_NSIZES; s++) {
            json_t *h = json_object_get(ex, suite_size_names[s]);
            if (json_is_null(h))
                continue;
            if (!json_is_string(h) || !sha_hex(json_string_value(h)))
                return bad(&c, "expect", "sha256 values: 64 lower-case hex digits (or null: unchecked)");
            b->expect[s] = xstrdup(json_string_value(h));
        }
    }
    if (json_object_get(o, "instructions")) {
        json_t *in = get_sizes(&c, o, "instructions", &err);
        if (!in)
            return -1;
        for (int s = 0; s < SUITE_NSIZES; s++) {
            json_t *n = json_object_get(in, suite_size_names[s]);
            if (json_is_null(n))
                continue;
            if (!json_is_integer(n) || json_integer_value(n) <= 0)
                return bad(&c, "instructions", "positive integers (or null: not known)");
            b->instructions[s] = (uint64_t)json_integer_value(n);
        }
    }
    /* every ${VAR} must be defined at every size: found now, not after a download */
    for (int z = 0; z < SUITE_NSIZES; z++) {
        char *t = subst(b, (enum suite_size)z, b->command, "command");
        for (size_t k = 0; t && k < b->nfiles; k++) {
            free(t);
            char *what = xasprintf("files[%zu] (%s)", k, b->files[k].path);
            t = subst(b, (enum suite_size)z, b->files[k].text, what);
            free(what);
        }
        if (!t)
            return ffwd_preerr("suite file %s", file);
        free(t);
    }
    /* what goes onto the disk: everything but the expected checksums and sizes */
    json_t *d = json_deep_copy(o);
    json_object_del(d, "expect");
    json_object_del(d, "instructions");
    b->canon = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    return 0;
}

static char *suites_dir(void)
{
    char *d = ffwd_data_dir();
    char *s = xasprintf("%s/suites", d);
    free(d);
    return s;
}

char **suite_builtin_names(void)
{
    char *d = suites_dir();
    DIR *dir = opendir(d);
    free(d);
    size_t n = 0;
    char **v = xcalloc(1, sizeof *v);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json")) {
            v = xrealloc(v, (n + 2) * sizeof *v);
            v[n++] = xasprintf("%.*s", (int)(l - 5), e->d_name);
            v[n] = NULL;
        }
    }
    if (dir)
        closedir(dir);
    return v;
}

void suite_names_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

int suite_load(const char *spec, struct suite *s)
{
    memset(s, 0, sizeof *s);
    char *path;
    if (strchr(spec, '/') || (strlen(spec) > 5 && !strcmp(spec + strlen(spec) - 5, ".json")))
        path = xstrdup(spec);
    else {
        char *d = suites_dir();
        path = xasprintf("%s/%s.json", d, spec);
        free(d);
        if (!path_exists(path)) {
            char **names = suite_builtin_names();
            struct sbuf l = {0};
            for (char **p = names; *p; p++)
                sbuf_addf(&l, "%s%s", p == names ? "" : ", ", *p);
            int r = ffwd_seterr("no suite '%s': give a suite file's path, or a built-in suite (%s)", spec,
                                l.s ? l.s : "none installed");
            sbuf_free(&l);
            suite_names_free(names);
            free(path);
            return r;
        }
    }
    s->path = path;
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        ffwd_seterr("suite file %s: line %d: %s", path, je.line, je.text);
        free(path);
        s->path = NULL;
        return -1;
    }
    struct ctx c = {.file = path};
    int err = 0, r = -1;
    json_t *fmt = json_object_get(j, "ffwd_suite");
    if (!json_is_object(j))
        ffwd_seterr("suite file %s: must be a JSON object", path);
    else if (!json_is_integer(fmt) || json_integer_value(fmt) != SUITE_FORMAT)
        ffwd_seterr("suite file %s: ffwd_suite: must be %d (this ffwd's suite format)", path, SUITE_FORMAT);
    else if (check_keys(&c, j, (const char *const[]){"ffwd_suite", "name", "description", "benchmarks", NULL}) == 0) {
        const char *name = get_str(&c, j, "name", true, &err);
        const char *desc = get_str(&c, j, "description", false, &err);
        json_t *bs = json_object_get(j, "benchmarks");
        if (err)
            goto out;
        if (!plain_name(name))
            bad(&c, "name", "letters, digits, '.', '_' and '-' only");
        else if (!json_is_array(bs) || !json_array_size(bs))
            bad(&c, "benchmarks", "must be a non-empty array");
        else {
            s->name = xstrdup(name);
            s->description = xstrdup(desc ? desc : "");
            s->b = xcalloc(json_array_size(bs), sizeof *s->b);
            size_t i;
            json_t *v;
            r = 0;
            json_array_foreach(bs, i, v) {
                s->n = i + 1;
                if (parse_bench(path, i, v, &s->b[i]) < 0) {
                    r = -1;
                    break;
                }
                for (size_t k = 0; k < i; k++)
                    if (!strcmp(s->b[k].name, s->b[i].name)) {
                        r = ffwd_seterr("suite file %s: benchmarks[%zu]: name \"%s\" is used twice", path, i,
                                        s->b[i].name);
                        break;
                    }
                if (r < 0)
                    break;
            }
        }
    }
out:
    json_decref(j);
    if (r < 0) {
        char *keep = xstrdup(ffwd_errmsg());
        suite_free(s);
        ffwd_seterr("%s", keep);
        free(keep);
    }
    return r;
}

void suite_free(struct suite *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct suite_bench *b = &s->b[i];
        free(b->name);
        free(b->kind);
        free(b->description);
        deb_list_free(&b->packages);
        for (size_t k = 0; k < b->nfiles; k++) {
            free(b->files[k].path);
            free(b->files[k].text);
        }
        free(b->files);
        for (size_t k = 0; k < b->ninputs; k++) {
            free(b->inputs[k].path);
            free(b->inputs[k].generator);
        }
        free(b->inputs);
        for (int z = 0; z < SUITE_NSIZES; z++) {
            for (size_t k = 0; k < b->nparams[z]; k++) {
                free(b->params[z][k].name);
                free(b->params[z][k].value);
            }
            free(b->params[z]);
            free(b->expect[z]);
        }
        free(b->command);
        free(b->output);
        free(b->canon);
    }
    free(s->b);
    free(s->name);
    free(s->path);
    free(s->description);
    memset(s, 0, sizeof *s);
}

const struct suite_bench *suite_find(const struct suite *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->b[i].name, name))
            return &s->b[i];
    return NULL;
}

int suite_select(const struct suite *s, const char *only, bool *sel)
{
    for (size_t i = 0; i < s->n; i++)
        sel[i] = !only;
    if (!only)
        return 0;
    char *copy = xstrdup(only);
    int r = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && r == 0; t = strtok_r(NULL, ",", &save)) {
        const struct suite_bench *b = suite_find(s, t);
        if (b)
            sel[b - s->b] = true;
        else
            r = ffwd_seterr("--bench: suite %s has no benchmark '%s' (ffwd suite list %s)", s->name, t, s->name);
    }
    free(copy);
    return r;
}

/* ---- the disk ---- */

/* TEXT with ${VAR} replaced by B's params at SIZE (and ${SIZE}); an unknown
 * variable is an error naming it. */
static char *subst(const struct suite_bench *b, enum suite_size size, const char *text, const char *what)
{
    struct sbuf o = {0};
    for (const char *p = text; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *e = strchr(p + 2, '}');
            if (!e) {
                sbuf_free(&o);
                ffwd_seterr("benchmark %s: %s: '${' without '}'", b->name, what);
                return NULL;
            }
            size_t n = (size_t)(e - p - 2);
            const char *val = NULL;
            if (n == 4 && !strncmp(p + 2, "SIZE", 4))
                val = suite_size_names[size];
            for (size_t k = 0; k < b->nparams[size] && !val; k++)
                if (strlen(b->params[size][k].name) == n && !strncmp(b->params[size][k].name, p + 2, n))
                    val = b->params[size][k].value;
            if (!val) {
                sbuf_free(&o);
                ffwd_seterr("benchmark %s: %s: no variable ${%.*s} in params.%s", b->name, what, (int)n, p + 2,
                            suite_size_names[size]);
                return NULL;
            }
            sbuf_addf(&o, "%s", val);
            p = e + 1;
        } else
            sbuf_addc(&o, *p++);
    }
    if (!o.s)
        sbuf_addf(&o, "%s", "");
    return o.s;
}

static uint64_t tree_bytes;
static int tree_walk(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)p;
    (void)flag;
    (void)ftw;
    tree_bytes += (uint64_t)sb->st_blocks * 512 + 4096;
    return 0;
}

/* Put benchmark B (its run.sh, files and inputs at SIZE) into ROOT/bench/NAME. */
static int populate_bench(const struct suite_bench *b, enum suite_size size, const char *root)
{
    char *dir = xasprintf("%s/bench/%s", root, b->name);
    int r = mkdir_p(dir, 0755);
    for (size_t i = 0; i < b->nfiles && r == 0; i++) {
        char *what = xasprintf("files[%zu] (%s)", i, b->files[i].path);
        char *t = subst(b, size, b->files[i].text, what);
        free(what);
        char *p = xasprintf("%s/%s", dir, b->files[i].path);
        char *pd = xstrdup(p);
        *strrchr(pd, '/') = 0;
        r = t ? mkdir_p(pd, 0755) : -1;
        if (r == 0)
            r = write_file_atomic(p, t, strlen(t), 0644);
        free(pd);
        free(p);
        free(t);
    }
    for (size_t i = 0; i < b->ninputs && r == 0; i++) {
        char *p = xasprintf("%s/%s", dir, b->inputs[i].path);
        char *pd = xstrdup(p);
        *strrchr(pd, '/') = 0;
        r = mkdir_p(pd, 0755);
        if (r == 0)
            r = suite_input_write(&b->inputs[i], size, p);
        free(pd);
        free(p);
    }
    if (r == 0) {
        char *cmd = subst(b, size, b->command, "command");
        if (!cmd)
            r = -1;
        else {
            char *sh = xasprintf("#!/bin/sh\n# benchmark %s (%s size), made by ffwd from its suite file\n%s\n",
                                 b->name, suite_size_names[size], cmd);
            char *p = xasprintf("%s/run.sh", dir);
            r = write_file_atomic(p, sh, strlen(sh), 0755);
            if (r == 0)
                chmod(p, 0755);
            free(p);
            free(sh);
            free(cmd);
        }
    }
    free(dir);
    return r;
}

static int build_disk(const struct suite *s, enum suite_size size, const struct deb_list *pk, const char *tmp,
                      const char *bindir)
{
    char *debs = xasprintf("%s/debs", tmp), *root = xasprintf("%s/root", tmp);
    char *busybox = NULL;
    int r = img_deb_download(pk, debs);
    if (r == 0)
        r = (busybox = img_find_deb(debs, "busybox-static")) ? 0 : -1;
    if (r == 0)
        r = guest_image_base_root(root, bindir, busybox, s->name);
    for (size_t i = 0; i < pk->n && r == 0; i++) {
        if (!strcmp(pk->name[i], "busybox-static"))
            continue;
        char *deb = img_find_deb(debs, pk->name[i]);
        r = deb ? img_extract(deb, root) : -1;
        free(deb);
    }
    rm_rf(debs);
    for (size_t i = 0; i < s->n && r == 0; i++)
        r = populate_bench(&s->b[i], size, root);
    if (r == 0) {
        tree_bytes = 0;
        nftw(root, tree_walk, 32, FTW_PHYS);
        /* room for the benchmarks' own output files and ext4's metadata */
        uint64_t mib = tree_bytes * 5 / 4 / (1 << 20) + 256;
        char *sz = xasprintf("%lluM", (unsigned long long)mib), *img = xasprintf("%s/disk.img", tmp);
        r = img_mke2fs(root, img, sz, "ffwd-suite");
        free(sz);
        free(img);
    }
    rm_rf(root);
    free(busybox);
    free(debs);
    free(root);
    return r;
}

int suite_disk(const struct suite *s, enum suite_size size, const char *cache_dir, bool quiet, char **disk)
{
    *disk = NULL;
    struct deb_list roots = {0}, pk = {0};
    char *who = xasprintf("suite file %s", s->path);
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->b[i].packages.n; k++)
            deb_list_add(&roots, s->b[i].packages.name[k]);
    deb_list_add(&roots, "libc6");
    deb_list_add(&roots, "libfaketime");
    int r = img_deb_closure(&roots, who, &pk);
    free(who);
    deb_list_free(&roots);
    if (r == 0) {
        deb_list_add(&pk, "busybox-static");
        r = img_deb_versions(&pk);
    }
    char *gbin = ffwd_guest_bin_dir(), *root = img_cache_root(cache_dir), *final = NULL, *tmp = NULL;
    struct sbuf key = {0};
    if (r < 0)
        goto out;
    sbuf_addf(&key, "%s\nsize=%s\n", SUITE_DISK_FORMAT, suite_size_names[size]);
    for (size_t i = 0; i < pk.n; i++)
        sbuf_addf(&key, "%s=%s\n", pk.name[i], pk.version[i]);
    char *g = xasprintf("%s/ffwd-guest", gbin);
    char h[65];
    r = sha256_file(g, h);
    free(g);
    if (r < 0)
        goto out;
    sbuf_addf(&key, "ffwd-guest=%s\n", h);
    for (size_t i = 0; i < s->n; i++)
        sbuf_addf(&key, "%s\n", s->b[i].canon);
    sha256_data(key.s, key.len, h);
    h[16] = 0;
    final = xasprintf("%s/suite-%s-%s-%s", root, s->name, suite_size_names[size], h);
    char *ready = xasprintf("%s/suite.json", final);
    bool have = path_exists(ready);
    free(ready);
    if (!have) {
        if (!quiet)
            ffwd_progress("building the disk of suite %s (%s size: %zu benchmarks, %zu Debian arm64 packages) into %s",
                          s->name, suite_size_names[size], s->n, pk.n, final);
        r = -1;
        if (mkdir_p(root, 0755) < 0 || !(tmp = make_temp_dir(root, "tmp-suite-")))
            goto out;
        if (build_disk(s, size, &pk, tmp, gbin) < 0)
            goto out;
        json_t *man = json_object(), *pv = json_object(), *bn = json_array();
        for (size_t i = 0; i < pk.n; i++)
            json_object_set_new(pv, pk.name[i], json_string(pk.version[i]));
        for (size_t i = 0; i < s->n; i++)
            json_array_append_new(bn, json_string(s->b[i].name));
        json_object_set_new(man, "format", json_string(SUITE_DISK_FORMAT));
        json_object_set_new(man, "suite", json_string(s->name));
        json_object_set_new(man, "suite_file", json_string(s->path));
        json_object_set_new(man, "size", json_string(suite_size_names[size]));
        json_object_set_new(man, "key", json_string(h));
        json_object_set_new(man, "benchmarks", bn);
        json_object_set_new(man, "debian_arm64_packages", pv);
        char *js = json_dumps(man, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(man);
        char *mp = xasprintf("%s/suite.json", tmp);
        r = write_file_atomic(mp, js, strlen(js), 0644); /* written last: marks the folder complete */
        free(mp);
        free(js);
        if (r < 0)
            goto out;
        if (rename(tmp, final) < 0 && !path_exists(final)) {
            r = ffwd_seterr_errno("cannot rename %s to %s", tmp, final);
            goto out;
        }
        rm_rf(tmp); /* a concurrent build that won leaves ours behind */
        free(tmp);
        tmp = NULL;
    }
    *disk = xasprintf("%s/disk.img", final);
    r = 0;
out:
    if (tmp) {
        rm_rf(tmp);
        free(tmp);
    }
    sbuf_free(&key);
    deb_list_free(&pk);
    free(gbin);
    free(root);
    free(final);
    return r;
}

/* ---- running a benchmark ---- */

char *suite_guest_cmd(const struct suite_bench *b)
{
    /* What programs seed themselves from is fixed, so that two runs of a
     * benchmark execute the same instructions (a rerun of `ffwd sample` must
     * meet the profile's intervals): address-space randomisation off, the
     * clock frozen at a fixed date for the program (libfaketime, Debian's,
     * preloaded: the guest's own clock follows the host's and ticks on at
     * host-timed moments), the hash seeds of Python and Perl fixed. Found by
     * the landing check: Lua 5.4 seeds its string hash with time(NULL) and
     * addresses; with ASLR on 3 of lua's 29 points landed 0.10-0.25 away
     * from their profiled intervals, and with only the date set before the
     * run, 6 of 29 when the host was loaded (a second ticked over between
     * the profile's time() and the rerun's). The output's checksum is taken
     * after the region (sha256sum is not part of the benchmark); stdout goes
     * to tmpfs, not to the disk. */
    const char *out = strcmp(b->output, "stdout") ? b->output : "/tmp/ffwd-suite.out";
    return xasprintf("echo 0 > /proc/sys/kernel/randomize_va_space; date -s '2025-01-01 00:00:00' > /dev/null; "
                     "export PYTHONHASHSEED=0 PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 "
                     "LD_PRELOAD=" SUITE_FAKETIME " FAKETIME='2025-01-01 00:00:00'; "
                     "cd /bench/%s && /bin/ffwd-guest roi -- /bin/sh ./run.sh > /tmp/ffwd-suite.out; st=$?; "
                     "echo \"@ffwd-suite %s $st $(sha256sum < %s | cut -d' ' -f1) $(wc -c < %s)\"; exit $st",
                     b->name, b->name, out, out);
}

int suite_parse_result(const char *console, const char *name, int *status, char sha[65], uint64_t *bytes)
{
    char *tag = xasprintf("@ffwd-suite %s ", name);
    const char *last = NULL;
    for (const char *p = console; (p = strstr(p, tag)); p++)
        last = p;
    int r = -1;
    if (last) {
        char h[80];
        unsigned long long n;
        if (sscanf(last + strlen(tag), "%d %79s %llu", status, h, &n) == 3 && sha_hex(h)) {
            memcpy(sha, h, 65);
            *bytes = n;
            r = 0;
        }
    }
    free(tag);
    return r;
}
