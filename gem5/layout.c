/* layout.c -- object paths of the configuration that restores a checkpoint (layout.h). */
#include "layout.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/util.h"

char *gem5_list_name(const char *base, unsigned i, unsigned n)
{
    /* src/python/m5/params.py, SimObjectVector.set_parent */
    if (n == 1)
        return xstrdup(base);
    int w = 0;
    for (unsigned v = n - 1; v; v /= 10)
        w++;
    return xasprintf("%s%0*u", base, w, i);
}

void gem5_layout_free(struct gem5_layout *l)
{
    if (!l)
        return;
    for (unsigned i = 0; l->cpus && i < l->ncpu; i++)
        free(l->cpus[i]);
    free(l->cpus);
    free(l->name);
    free(l->system);
    free(l->platform);
    memset(l, 0, sizeof *l);
}

static void builtin(struct gem5_layout *l, const char *name, const char *sys, const char *plat, const char *cpu_base,
                    const char *cpu_tail, unsigned ncpu)
{
    l->name = xstrdup(name);
    l->system = xstrdup(sys);
    l->platform = xstrdup(plat);
    l->ncpu = ncpu;
    l->cpus = xcalloc(ncpu, sizeof *l->cpus);
    for (unsigned i = 0; i < ncpu; i++) {
        char *b = gem5_list_name(cpu_base, i, ncpu);
        l->cpus[i] = xasprintf("%s%s", b, cpu_tail);
        free(b);
    }
}

static int load_config(const char *path, struct ini *cfg)
{
    size_t n;
    char *text = read_file_gz(path, &n); /* plain or gzip */
    if (!text)
        return -1;
    int r = ini_parse(text, n, path, cfg);
    free(text);
    return r;
}

struct cpu_ref {
    long id;
    const char *path;
};

static int by_id(const void *a, const void *b)
{
    long x = ((const struct cpu_ref *)a)->id, y = ((const struct cpu_ref *)b)->id;
    return (x > y) - (x < y);
}

/* a section of config.ini is a CPU when it has the parameters every BaseCPU has */
static bool is_cpu(const struct ini_sec *s)
{
    return ini_get(s, "cpu_id") && ini_get(s, "switched_out") && ini_get(s, "isa");
}

static int from_config(const char *path, unsigned ncpu, int gicv, struct gem5_layout *l)
{
    struct ini cfg;
    if (load_config(path, &cfg) < 0)
        return -1;
    int rc = -1;
    const char *sys = NULL, *gic = NULL;
    struct cpu_ref *cpus = xcalloc(cfg.n + 1, sizeof *cpus);
    size_t nc = 0;
    const char *gic_type = gicv == 3 ? "Gicv3" : "GicV2";
    for (size_t i = 0; i < cfg.n; i++) {
        struct ini_sec *s = &cfg.s[i];
        const char *type = ini_get(s, "type");
        if (type && !strcmp(type, "ArmSystem")) {
            if (sys) {
                ffwd_seterr("%s: two ArmSystem objects ([%s], [%s]); ffwd restores one system", path, sys, s->name);
                goto out;
            }
            sys = s->name;
        }
        if (type && (!strcmp(type, "Gicv3") || !strcmp(type, "GicV2"))) {
            if (strcmp(type, gic_type)) {
                ffwd_seterr("%s: [%s] is a %s, the checkpoint is of a GICv%d platform (%s)", path, s->name, type, gicv,
                            gic_type);
                goto out;
            }
            gic = s->name;
        }
        if (is_cpu(s)) {
            const char *so = ini_get(s, "switched_out");
            if (!strcmp(so, "false")) {
                cpus[nc].id = strtol(ini_get(s, "cpu_id"), NULL, 10);
                cpus[nc].path = s->name;
                nc++;
            }
        }
    }
    if (!sys) {
        ffwd_seterr("%s: no ArmSystem object (is this the config.ini of an ARM full-system configuration?)", path);
        goto out;
    }
    if (!gic) {
        ffwd_seterr("%s: no %s object; the checkpoint's platform has a GICv%d", path, gic_type, gicv);
        goto out;
    }
    size_t gl = strlen(gic);
    if (gl < 5 || strcmp(gic + gl - 4, ".gic")) {
        ffwd_seterr("%s: the GIC is [%s]; ffwd's platform keeps it as `gic` beside uart, rtc, generic_timer, "
                    "sys_counter and vio (gem5/ffwd_board.py, QemuVirt)",
                    path, gic);
        goto out;
    }
    if (nc != ncpu) {
        ffwd_seterr("%s: %zu CPU%s switched in at the start (switched_out=false), the checkpoint has %u", path, nc,
                    nc == 1 ? "" : "s", ncpu);
        goto out;
    }
    qsort(cpus, nc, sizeof *cpus, by_id);
    for (size_t i = 0; i < nc; i++)
        if (cpus[i].id != (long)i) {
            ffwd_seterr("%s: the switched-in CPUs' cpu_id are not 0..%u ([%s] has %ld)", path, ncpu - 1, cpus[i].path,
                        cpus[i].id);
            goto out;
        }
    l->name = xstrdup(path);
    l->from_config = 1;
    l->system = xstrdup(sys);
    l->platform = xasprintf("%.*s", (int)(gl - 4), gic);
    l->ncpu = ncpu;
    l->cpus = xcalloc(ncpu, sizeof *l->cpus);
    for (unsigned i = 0; i < ncpu; i++)
        l->cpus[i] = xstrdup(cpus[i].path);
    rc = 0;
out:
    free(cpus);
    ini_free(&cfg);
    return rc;
}

int gem5_layout_get(const char *name, unsigned ncpu, int gicv, struct gem5_layout *out)
{
    memset(out, 0, sizeof *out);
    if (!name || !strcmp(name, "legacy")) {
        builtin(out, "legacy", "system", "system.realview", "system.cpu", "", ncpu);
        out->legacy = 1;
        return 0;
    }
    if (!strcmp(name, "stdlib")) {
        builtin(out, name, "board", "board.realview", "board.processor.cores", ".core", ncpu);
        return 0;
    }
    if (!strcmp(name, "stdlib-switchable")) {
        builtin(out, name, "board", "board.realview", "board.processor.start", ".core", ncpu);
        return 0;
    }
    size_t n = strlen(name);
    if (strchr(name, '/') || (n > 4 && !strcmp(name + n - 4, ".ini")))
        return from_config(name, ncpu, gicv, out);
    return ffwd_seterr("unknown layout '%s' (legacy, stdlib, stdlib-switchable, or the path of a config.ini)", name);
}

/* name with prefix `from` (whole path components) gets prefix `to` */
static bool rename_prefix(struct ini_sec *s, const char *from, const char *to)
{
    size_t n = strlen(from);
    if (strncmp(s->name, from, n) || (s->name[n] && s->name[n] != '.'))
        return false;
    char *nn = xasprintf("%s%s", to, s->name + n);
    free(s->name);
    s->name = nn;
    return true;
}

void gem5_layout_apply(struct ini *cpt, const struct gem5_layout *l)
{
    if (l->legacy)
        return;
    /* the legacy script's SimpleMemory and bus: reset state only */
    ini_remove_tree(cpt, "system.mem");
    ini_remove_tree(cpt, "system.membus");
    for (size_t i = 0; i < cpt->n; i++) {
        struct ini_sec *s = &cpt->s[i];
        bool done = false;
        for (unsigned c = 0; c < l->ncpu && !done; c++) {
            char *from = gem5_list_name("system.cpu", c, l->ncpu);
            done = rename_prefix(s, from, l->cpus[c]);
            free(from);
        }
        if (!done && !rename_prefix(s, "system.realview", l->platform))
            rename_prefix(s, "system", l->system);
    }
    cpt->index_stale = 1;
}

/* Length of the owning object's path when name ends in a sub-section gem5's
 * objects write themselves (layout.h), else 0. */
static size_t owner_len(const char *name)
{
    static const char *const tails[] = {"xc.#",        "miscRegs",         "physmem",        "physmem.store#",
                                        "distributor", "redistributors.#", "cpuInterface.#", "bankedRegs#",
                                        "_queues.#",   "globals"};
    size_t n = strlen(name);
    /* the generic timer's per-CPU part and its timers: <timer>.pe_implementationN[.T] */
    const char *pe = strstr(name, ".pe_implementation");
    if (pe && isdigit((unsigned char)pe[18]))
        return (size_t)(pe - name);
    for (size_t t = 0; t < sizeof tails / sizeof *tails; t++) {
        const char *pat = tails[t];
        size_t pl = strlen(pat);
        bool num = pat[pl - 1] == '#';
        size_t fixed = num ? pl - 1 : pl, end = n;
        if (num) {
            while (end > 0 && isdigit((unsigned char)name[end - 1]))
                end--;
            if (end == n)
                continue;
        }
        if (end < fixed + 2 || strncmp(name + end - fixed, pat, fixed) || name[end - fixed - 1] != '.')
            continue;
        return end - fixed - 1;
    }
    return 0;
}

/* the type gem5 gives an object ffwd writes state for, by its last path components */
static const char *expected_type(const char *path)
{
    static const struct {
        const char *tail, *types;
    } known[] = {{".vio.vio.image", "CowDiskImage"}, {".vio.vio", "VirtIOBlock"},       {".vio", "MmioVirtIO"},
                 {".gic", "Gicv3 GicV2"},           {".uart", "Pl011"},               {".rtc", "PL031"},
                 {".generic_timer", "GenericTimer"}, {".sys_counter", "SystemCounter"}};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        size_t k = strlen(known[i].tail);
        if (n > k && !strcmp(path + n - k, known[i].tail))
            return known[i].types;
    }
    return NULL;
}

static bool type_in(const char *type, const char *list)
{
    size_t n = strlen(type);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ' ');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !strncmp(p, type, n))
            return true;
        p += k + (e ? 1 : 0);
    }
    return false;
}

int gem5_layout_check(const struct ini *cpt, const char *config_ini)
{
    struct ini cfg;
    if (load_config(config_ini, &cfg) < 0)
        return -1;
    int rc = -1;
    for (size_t i = 0; i < cpt->n; i++) {
        const char *name = cpt->s[i].name;
        const struct ini_sec *obj = ini_find(&cfg, name);
        if (obj) {
            const char *want = expected_type(name), *type = ini_get(obj, "type");
            if (want && type && !type_in(type, want)) {
                ffwd_seterr("%s: [%s] is a %s; the checkpoint holds the state of a %s there", config_ini, name, type,
                            want);
                goto out;
            }
            continue;
        }
        size_t ol = owner_len(name);
        char *owner = ol ? xasprintf("%.*s", (int)ol, name) : NULL;
        const struct ini_sec *o = owner ? ini_find(&cfg, owner) : NULL;
        if (o && !strncmp(name + ol + 1, "xc.", 3) &&
            (!is_cpu(o) || strcmp(ini_get(o, "switched_out"), "false"))) {
            ffwd_seterr("%s: [%s] is not a CPU switched in at the start; the checkpoint holds a CPU's state (%s)",
                        config_ini, owner, name);
            free(owner);
            goto out;
        }
        free(owner);
        if (!o) {
            ffwd_seterr("%s: checkpoint section [%s] belongs to no object of this configuration (gem5 would skip it "
                        "without a word and restore reset state); convert with --layout for this configuration",
                        config_ini, name);
            goto out;
        }
    }
    rc = 0;
out:
    ini_free(&cfg);
    return rc;
}

char *gem5_layout_pmem_name(const struct gem5_layout *l) { return xasprintf("%s.physmem.store0.pmem", l->system); }

char *gem5_layout_cow_name(const struct gem5_layout *l) { return xasprintf("%s.vio.vio.image.cow", l->platform); }

const char *gem5_layout_run_hint(const struct gem5_layout *l)
{
    return l->legacy ? "gem5.opt gem5/ffwd_restore.py --checkpoint THIS_DIR [--cpu atomic|timing|o3] "
                       "[--switch-after N] [--max-insts N] [--script FILE]"
                     : "gem5.opt YOUR_CONFIG.py with gem5/ffwd_board.py's FfwdBoard (example: "
                       "gem5/ffwd_stdlib.py --checkpoint THIS_DIR)";
}

json_t *gem5_layout_json(const struct gem5_layout *l)
{
    json_t *cpus = json_array();
    for (unsigned i = 0; i < l->ncpu; i++)
        json_array_append_new(cpus, json_string(l->cpus[i]));
    return json_pack("{s:s,s:s,s:s,s:o}", "name", l->name, "system", l->system, "platform", l->platform, "cpus", cpus);
}

/* ---- an existing checkpoint, relabelled ---- */

int gem5_checkpoint_relayout(const char *src, const char *layout, const char *dst)
{
    char *ip = xasprintf("%s/ffwd-checkpoint.json", src), *cp = xasprintf("%s/m5.cpt", src);
    json_error_t je;
    json_t *info = json_load_file(ip, 0, &je);
    struct gem5_layout L = {0}, legacy = {0};
    struct ini t = {0};
    char *text = NULL, *tmp = NULL, *parent = NULL;
    /* the memory and disk images: [0] as written (legacy), [1] for L */
    char *names[2][2] = {{NULL, NULL}, {NULL, NULL}};
    int rc = -1;
    if (!info) {
        ffwd_seterr("%s: %s (is %s a checkpoint of ffwd convert?)", ip, je.text, src);
        goto out;
    }
    json_t *pl = json_object_get(info, "platform"), *lj = json_object_get(info, "layout");
    json_t *jc = json_object_get(pl, "cpus"), *jg = json_object_get(pl, "gic_version");
    const char *from = lj ? json_string_value(json_object_get(lj, "name")) : "legacy";
    if (!json_is_integer(jc) || json_integer_value(jc) < 1 || json_integer_value(jc) > 16 || !json_is_integer(jg) ||
        (json_integer_value(jg) != 2 && json_integer_value(jg) != 3)) {
        ffwd_seterr("%s: fields platform.cpus (1..16) and platform.gic_version (2, 3) are missing or out of range", ip);
        goto out;
    }
    if (!from || strcmp(from, "legacy")) {
        ffwd_seterr("%s: field layout.name is '%s'; only a legacy-layout checkpoint is relabelled (convert the "
                    "capture again with --layout)",
                    ip, from ? from : "(not a string)");
        goto out;
    }
    unsigned ncpu = (unsigned)json_integer_value(jc);
    int gicv = (int)json_integer_value(jg);
    if (gem5_layout_get(layout, ncpu, gicv, &L) < 0 || gem5_layout_get("legacy", ncpu, gicv, &legacy) < 0)
        goto out;
    if (L.legacy) {
        ffwd_seterr("%s: is already in the legacy layout", src);
        goto out;
    }
    size_t len;
    if (!(text = read_file(cp, &len))) {
        ffwd_preerr("%s", cp);
        goto out;
    }
    if (ini_parse(text, len, cp, &t) < 0)
        goto out;
    gem5_layout_apply(&t, &L);
    /* the state files keep their content; their names follow the objects */
    names[0][0] = gem5_layout_pmem_name(&legacy), names[0][1] = gem5_layout_pmem_name(&L);
    names[1][0] = gem5_layout_cow_name(&legacy), names[1][1] = gem5_layout_cow_name(&L);
    for (size_t i = 0; i < t.n; i++)
        for (size_t k = 0; k < t.s[i].n; k++) {
            struct ini_kv *kv = &t.s[i].kv[k];
            const char *to = !strcmp(kv->val, names[0][0]) ? names[0][1] : !strcmp(kv->val, names[1][0]) ? names[1][1] : NULL;
            if (to && (!strcmp(kv->key, "filename") || !strcmp(kv->key, "cowFilename")))
                ini_set(&t.s[i], kv->key, to);
        }
    if (L.from_config && gem5_layout_check(&t, L.name) < 0)
        goto out;
    if (path_exists(dst)) {
        ffwd_seterr("%s already exists; ffwd never overwrites a checkpoint", dst);
        goto out;
    }
    parent = path_parent(dst);
    if (!(tmp = make_owned_temp_dir(parent, ".ckpt-tmp-")))
        goto out;
    char *np = xasprintf("%s/m5.cpt", tmp);
    int wr = ini_write_file(&t, "## gem5 checkpoint written by ffwd " FFWD_VERSION " (relabelled for another "
                                "configuration)",
                            np);
    free(np);
    /* the large files are shared, not copied: a hard link (gem5 only reads
     * them), or a symbolic link to the original where no hard link can be */
    for (int f = 0; wr == 0 && f < 2; f++) {
        char *a = xasprintf("%s/%s", src, names[f][0]), *b = xasprintf("%s/%s", tmp, names[f][1]);
        if (path_exists(a) && link(a, b) < 0) {
            char *abs = realpath(a, NULL);
            if (!abs || symlink(abs, b) < 0)
                wr = ffwd_seterr_errno("cannot link %s into %s", a, tmp);
            free(abs);
        }
        free(a), free(b);
    }
    if (wr == 0) {
        json_object_set_new(info, "layout", gem5_layout_json(&L));
        json_object_set_new(info, "run", json_string(gem5_layout_run_hint(&L)));
        json_object_set_new(info, "relabelled_from", json_string(src));
        char *js = json_dumps(info, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        char *jp = xasprintf("%s/ffwd-checkpoint.json", tmp);
        wr = write_file_atomic(jp, js, strlen(js), 0644);
        free(jp), free(js);
    }
    if (wr == 0 && rename(tmp, dst) < 0)
        wr = ffwd_seterr_errno("cannot rename %s to %s", tmp, dst);
    if (wr == 0) {
        free(tmp);
        tmp = NULL;
        rc = 0;
    }
out:
    if (tmp)
        rm_rf(tmp);
    for (int f = 0; f < 2; f++)
        free(names[f][0]), free(names[f][1]);
    free(tmp), free(parent), free(text), free(ip), free(cp);
    ini_free(&t);
    gem5_layout_free(&L);
    gem5_layout_free(&legacy);
    json_decref(info);
    return rc;
}
