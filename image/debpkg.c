/* debpkg.c -- Debian packages as guest build inputs; see debpkg.h. */
#define _GNU_SOURCE
#include "debpkg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/util.h"

char *img_cache_root(const char *given)
{
    if (given && *given)
        return xstrdup(given);
    const char *e = getenv("FFWD_CACHE");
    if (e && *e)
        return xstrdup(e);
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x)
        return xasprintf("%s/ffwd", x);
    const char *h = getenv("HOME");
    return xasprintf("%s/.cache/ffwd", h && *h ? h : "/tmp");
}

char *img_apt_stamp(void)
{
    struct stat a, b;
    if (stat("/var/lib/apt/lists", &a) < 0)
        return NULL;
    if (stat("/var/cache/apt/pkgcache.bin", &b) < 0)
        memset(&b, 0, sizeof b);
    return xasprintf("%lld.%09ld/%lld.%09ld", (long long)a.st_mtim.tv_sec, a.st_mtim.tv_nsec,
                     (long long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec);
}

int img_run_quiet(char *const argv[], const char *what)
{
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
    if (st != 0) {
        if (st > 0)
            ffwd_seterr("%s failed (exit %d): %.600s", what, st, o.s ? o.s : "");
        sbuf_free(&o);
        return -1;
    }
    sbuf_free(&o);
    return 0;
}

int img_symlink_at(const char *root, const char *name, const char *target)
{
    char *p = xasprintf("%s/%s", root, name);
    unlink(p);
    int r = symlink(target, p);
    if (r < 0)
        ffwd_seterr_errno("symlink %s", p);
    free(p);
    return r;
}

int img_write_text(const char *root, const char *name, const char *text, mode_t mode)
{
    char *p = xasprintf("%s/%s", root, name);
    int r = write_file_atomic(p, text, strlen(text), mode);
    if (r == 0)
        chmod(p, mode);
    free(p);
    return r;
}

int img_mkdirs(const char *root, const char *const *dirs)
{
    for (; *dirs; dirs++) {
        char *p = xasprintf("%s/%s", root, *dirs);
        int r = mkdir_p(p, 0755);
        free(p);
        if (r < 0)
            return -1;
    }
    return 0;
}

int img_extract(const char *deb, const char *dest)
{
    char *argv[] = {"dpkg-deb", "-x", (char *)deb, (char *)dest, NULL};
    return img_run_quiet(argv, "dpkg-deb -x");
}

char *img_find_deb(const char *dir, const char *pkg)
{
    char *pat = xasprintf("%s_", pkg);
    char *found = NULL;
    struct sbuf o = {0};
    char *argv[] = {"ls", (char *)dir, NULL};
    if (run_cmd(argv, &(struct run_opts){.out = &o, .quiet = true}) == 0) {
        for (char *save = NULL, *l = strtok_r(o.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (str_starts(l, pat) && strstr(l, "_arm64.deb"))
                found = xasprintf("%s/%s", dir, l);
    }
    sbuf_free(&o);
    free(pat);
    if (!found)
        ffwd_seterr("apt-get download left no %s package in %s", pkg, dir);
    return found;
}

int img_mke2fs(const char *root, const char *img, const char *size, const char *label)
{
    /* Inode tables and the journal zeroed here, not by the guest kernel's
     * ext4lazyinit thread after mount: that thread writes to the disk in the
     * background at host-timed moments (it rewrote sectors a capture had
     * just taken, and it is I/O no rerun reproduces). */
    char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-L", (char *)label,
                    "-E", "root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0", "-d",
                    (char *)root, (char *)img, (char *)size, NULL};
    if (!have_program("mke2fs") && access("/usr/sbin/mke2fs", X_OK) == 0)
        argv[0] = "/usr/sbin/mke2fs";
    return img_run_quiet(argv, "mke2fs");
}

void deb_list_add(struct deb_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], name))
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->name = xrealloc(l->name, l->cap * sizeof *l->name);
        l->version = xrealloc(l->version, l->cap * sizeof *l->version);
    }
    l->name[l->n] = xstrdup(name);
    l->version[l->n++] = NULL;
}

void deb_list_free(struct deb_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->name[i]);
        free(l->version[i]);
    }
    free(l->name);
    free(l->version);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Package names are [a-z0-9][a-z0-9+.-]+ (Debian policy 5.6.1): anything else
 * is refused before it reaches apt's command line. */
static int check_name(const char *n, const char *who)
{
    size_t len = strlen(n);
    bool ok = len >= 2 && len <= 100 && ((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= '0' && n[0] <= '9'));
    for (size_t i = 0; ok && i < len; i++)
        ok = (n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || strchr("+.-", n[i]);
    return ok ? 0 : ffwd_seterr("%s: '%s' is not a Debian package name", who, n);
}

static bool packaging_tool(const char *n)
{
    static const char *const tools[] = {"dpkg", "tar", "install-info", "debconf", "cdebconf",
                                        "libdebian-installer4", "debianutils", "base-files", "lsb-base",
                                        "sysvinit-utils", "init-system-helpers", NULL};
    for (const char *const *t = tools; *t; t++)
        if (!strcmp(*t, n))
            return true;
    return false;
}

int img_deb_closure(const struct deb_list *roots, const char *who, struct deb_list *out)
{
    memset(out, 0, sizeof *out);
    if (!roots->n)
        return 0;
    size_t base = 9;
    char **argv = xcalloc(roots->n + base + 1, sizeof *argv);
    char *fixed[] = {"apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                     "--no-breaks", "--no-replaces", "--no-enhances"};
    memcpy(argv, fixed, sizeof fixed);
    for (size_t i = 0; i < roots->n; i++) {
        if (check_name(roots->name[i], who) < 0) {
            for (size_t k = 0; k < i; k++)
                free(argv[base + k]);
            free(argv);
            return -1;
        }
        argv[base + i] = xasprintf("%s:arm64", roots->name[i]);
    }
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
    for (size_t i = 0; i < roots->n; i++)
        free(argv[base + i]);
    free(argv);
    if (st != 0) {
        if (st > 0)
            ffwd_seterr("%s: apt-cache does not know these arm64 packages (run scripts/install-deps.sh for the "
                        "arm64 package lists): %.400s",
                        who, o.s ? o.s : "");
        sbuf_free(&o);
        return -1;
    }
    for (char *save = NULL, *l = strtok_r(o.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (*l == ' ' || *l == '<')
            continue;
        size_t len = strlen(l);
        if (len <= 6 || strcmp(l + len - 6, ":arm64"))
            continue; /* an architecture-independent or host package: not part of an arm64 closure */
        l[len - 6] = 0;
        bool asked = false;
        for (size_t i = 0; i < roots->n; i++)
            asked |= !strcmp(roots->name[i], l);
        if (packaging_tool(l) && !asked)
            continue;
        deb_list_add(out, l);
    }
    sbuf_free(&o);
    for (size_t i = 0; i < roots->n; i++) {
        bool found = false;
        for (size_t k = 0; k < out->n && !found; k++)
            found = !strcmp(out->name[k], roots->name[i]);
        if (!found) {
            deb_list_free(out);
            return ffwd_seterr("%s: Debian has no arm64 package '%s' (apt-cache depends %s:arm64 names none)", who,
                               roots->name[i], roots->name[i]);
        }
    }
    qsort(out->name, out->n, sizeof *out->name, cmp_str);
    return 0;
}

int img_deb_versions(struct deb_list *l)
{
    if (!l->n)
        return 0;
    char **argv = xcalloc(l->n + 3, sizeof *argv);
    argv[0] = "apt-cache";
    argv[1] = "policy";
    for (size_t i = 0; i < l->n; i++)
        argv[2 + i] = xasprintf("%s:arm64", l->name[i]);
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .quiet = true});
    for (size_t i = 0; i < l->n; i++)
        free(argv[2 + i]);
    free(argv);
    if (st != 0) {
        sbuf_free(&o);
        return ffwd_seterr("apt-cache policy failed");
    }
    char *all = xasprintf("\n%s", o.s ? o.s : "");
    sbuf_free(&o);
    int r = 0;
    for (size_t i = 0; i < l->n && r == 0; i++) {
        char *hdr = xasprintf("\n%s:arm64:", l->name[i]);
        char *p = strstr(all, hdr);
        char *c = p ? strstr(p, "Candidate: ") : NULL;
        if (!c || !strncmp(c + 11, "(none)", 6))
            r = ffwd_seterr("Debian package %s:arm64 has no candidate version (run scripts/install-deps.sh)",
                            l->name[i]);
        else {
            c += 11;
            free(l->version[i]);
            l->version[i] = xasprintf("%.*s", (int)strcspn(c, "\n "), c);
        }
        free(hdr);
    }
    free(all);
    return r;
}

int img_deb_download(const struct deb_list *l, const char *dir)
{
    if (mkdir_p(dir, 0755) < 0)
        return -1;
    char **argv = xcalloc(l->n + 4, sizeof *argv);
    argv[0] = "apt-get";
    argv[1] = "download";
    argv[2] = "-q";
    for (size_t i = 0; i < l->n; i++)
        argv[3 + i] = l->version[i] ? xasprintf("%s:arm64=%s", l->name[i], l->version[i])
                                    : xasprintf("%s:arm64", l->name[i]);
    struct sbuf o = {0};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true, .cwd = dir});
    for (size_t i = 0; i < l->n; i++)
        free(argv[3 + i]);
    free(argv);
    if (st != 0 && st > 0)
        ffwd_seterr("apt-get download of %zu arm64 packages failed: %.600s", l->n, o.s ? o.s : "");
    sbuf_free(&o);
    return st == 0 ? 0 : -1;
}
