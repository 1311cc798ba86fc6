/* cpio.c -- newc cpio writer/reader with zlib (see cpio.h). */
#include "cpio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/util.h"

struct cpio {
    gzFile gz;
    char *path, *tmp;
    unsigned ino;
    int failed;
};

struct cpio *cpio_create(const char *path)
{
    struct cpio *c = xcalloc(1, sizeof *c);
    c->path = xstrdup(path);
    c->tmp = xasprintf("%s.tmp", path);
    c->gz = gzopen(c->tmp, "wb6");
    if (!c->gz) {
        ffwd_seterr_errno("cannot create %s", c->tmp);
        free(c->path);
        free(c->tmp);
        free(c);
        return NULL;
    }
    c->ino = 1;
    return c;
}

static int put(struct cpio *c, const void *d, size_t n)
{
    if (n && gzwrite(c->gz, d, (unsigned)n) != (int)n) {
        c->failed = 1;
        return ffwd_seterr("cannot write %s", c->tmp);
    }
    return 0;
}

static int pad4(struct cpio *c, size_t n)
{
    static const char z[4] = {0};
    return put(c, z, (4 - n % 4) % 4);
}

static int header(struct cpio *c, const char *name, unsigned mode, size_t size, unsigned rmaj, unsigned rmin)
{
    char h[111];
    size_t nl = strlen(name) + 1;
    snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", c->ino++, mode, 0u, 0u,
             1u, 0u, size, 0u, 0u, rmaj, rmin, nl, 0u);
    if (put(c, h, 110) < 0 || put(c, name, nl) < 0)
        return -1;
    return pad4(c, 110 + nl);
}

int cpio_dir(struct cpio *c, const char *name, unsigned mode)
{
    return header(c, name, S_IFDIR | (mode & 07777), 0, 0, 0);
}

int cpio_file(struct cpio *c, const char *name, unsigned mode, const void *data, size_t len)
{
    if (header(c, name, S_IFREG | (mode & 07777), len, 0, 0) < 0 || put(c, data, len) < 0)
        return -1;
    return pad4(c, len);
}

int cpio_file_from(struct cpio *c, const char *name, unsigned mode, const char *src_path)
{
    size_t len;
    char *d = read_file(src_path, &len);
    if (!d)
        return -1;
    int r = cpio_file(c, name, mode, d, len);
    free(d);
    return r;
}

int cpio_symlink(struct cpio *c, const char *name, const char *target)
{
    size_t len = strlen(target);
    if (header(c, name, S_IFLNK | 0777, len, 0, 0) < 0 || put(c, target, len) < 0)
        return -1;
    return pad4(c, len);
}

int cpio_chardev(struct cpio *c, const char *name, unsigned mode, unsigned major, unsigned minor)
{
    return header(c, name, S_IFCHR | (mode & 07777), 0, major, minor);
}

int cpio_finish(struct cpio *c)
{
    int r = header(c, "TRAILER!!!", 0, 0, 0, 0);
    if (gzclose(c->gz) != Z_OK && r == 0)
        r = ffwd_seterr("cannot finish %s", c->tmp);
    if (r == 0 && !c->failed && rename(c->tmp, c->path) < 0)
        r = ffwd_seterr_errno("cannot rename %s", c->tmp);
    if (r < 0 || c->failed)
        unlink(c->tmp);
    free(c->path);
    free(c->tmp);
    free(c);
    return r;
}

void cpio_abort(struct cpio *c)
{
    gzclose(c->gz);
    unlink(c->tmp);
    free(c->path);
    free(c->tmp);
    free(c);
}

static int hex8(const char *p, unsigned long *out)
{
    char b[9];
    memcpy(b, p, 8);
    b[8] = 0;
    char *end;
    *out = strtoul(b, &end, 16);
    return *end ? -1 : 0;
}

int cpio_read(const char *path, cpio_entry_cb cb, void *ctx)
{
    struct sbuf all = {0};
    all.s = read_file_gz(path, &all.len);
    if (!all.s)
        return -1;
    all.cap = all.len + 1;
    size_t off = 0;
    int r = 0;
    for (;;) {
        if (off + 110 > all.len) {
            r = ffwd_seterr("%s: truncated cpio header at offset %zu", path, off);
            break;
        }
        const char *h = all.s + off;
        unsigned long mode, size, nl;
        if (memcmp(h, "070701", 6) || hex8(h + 14, &mode) || hex8(h + 54, &size) || hex8(h + 94, &nl)) {
            r = ffwd_seterr("%s: bad cpio header at offset %zu", path, off);
            break;
        }
        size_t name_off = off + 110, data_off = (name_off + nl + 3) & ~(size_t)3;
        if (nl == 0 || data_off + size > all.len || all.s[name_off + nl - 1]) {
            r = ffwd_seterr("%s: truncated cpio entry at offset %zu", path, off);
            break;
        }
        const char *name = all.s + name_off;
        if (!strcmp(name, "TRAILER!!!"))
            break;
        if ((r = cb(ctx, name, (unsigned)mode, all.s + data_off, size)) != 0)
            break;
        off = (data_off + size + 3) & ~(size_t)3;
    }
    sbuf_free(&all);
    return r;
}
