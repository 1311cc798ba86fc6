/* Unit tests: image/cpio.c write -> read round trip and corrupt input. */
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include "common/util.h"
#include "image/cpio.h"
#include "tests/test.h"

struct seen {
    int n, init_ok, console_ok, link_ok, big_ok, dir_ok;
};

static unsigned char big[100003];

static int cb(void *ctx, const char *name, unsigned mode, const void *data, size_t len)
{
    struct seen *s = ctx;
    s->n++;
    if (!strcmp(name, "init"))
        s->init_ok = S_ISREG(mode) && (mode & 0777) == 0755 && len == 5 && !memcmp(data, "#!x\n\0", 5);
    if (!strcmp(name, "dev/console"))
        s->console_ok = S_ISCHR(mode) && len == 0;
    if (!strcmp(name, "bin/sh"))
        s->link_ok = S_ISLNK(mode) && len == 7 && !memcmp(data, "busybox", 7);
    if (!strcmp(name, "big"))
        s->big_ok = len == sizeof big && !memcmp(data, big, len);
    if (!strcmp(name, "dev"))
        s->dir_ok = S_ISDIR(mode);
    return 0;
}

int main(void)
{
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 8));
    char *dir = make_temp_dir("/tmp", "ffwd-test-cpio-");
    char *path = xasprintf("%s/a.cpio.gz", dir);
    struct cpio *c = cpio_create(path);
    CHECK(c != NULL);
    CHECK(cpio_dir(c, "dev", 0755) == 0);
    CHECK(cpio_chardev(c, "dev/console", 0600, 5, 1) == 0);
    CHECK(cpio_file(c, "init", 0755, "#!x\n\0", 5) == 0);
    CHECK(cpio_symlink(c, "bin/sh", "busybox") == 0);
    CHECK(cpio_file(c, "big", 0644, big, sizeof big) == 0);
    CHECK(!path_exists(path)); /* nothing looks finished before cpio_finish */
    CHECK(cpio_finish(c) == 0);
    struct seen s = {0};
    CHECK(cpio_read(path, cb, &s) == 0);
    CHECK(s.n == 5 && s.init_ok && s.console_ok && s.link_ok && s.big_ok && s.dir_ok);

    /* the kernel's parser needs "070701" headers 4-byte aligned: check the raw stream */
    gzFile gz = gzopen(path, "rb");
    unsigned char raw[8];
    CHECK(gzread(gz, raw, 6) == 6 && !memcmp(raw, "070701", 6));
    gzclose(gz);

    /* truncated archive */
    size_t len;
    char *data = read_file(path, &len);
    char *cut = xasprintf("%s/cut.cpio", dir);
    gz = gzopen(cut, "wb");
    gzwrite(gz, "070701000000", 12);
    gzclose(gz);
    CHECK(cpio_read(cut, cb, &s) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "cut.cpio");
    char *junk = xasprintf("%s/junk.cpio", dir);
    write_file_atomic(junk, "this is not an archive at all, no no no no no no no no no no no no no no no no no no "
                            "no no no no no no no no no no no no no",
                      120, 0644);
    CHECK(cpio_read(junk, cb, &s) < 0);
    CHECK(cpio_read("/nonexistent.cpio", cb, &s) < 0);
    free(data);
    free(cut);
    free(junk);
    rm_rf(dir);
    free(dir);
    free(path);
    return test_done();
}
