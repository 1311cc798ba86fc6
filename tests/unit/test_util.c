/* Unit tests: common/util.c and common/err.c. */
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/test.h"

int main(void)
{
    uint64_t v;
    CHECK(parse_size("512M", &v) == 0 && v == 512ull << 20);
    CHECK(parse_size("2G", &v) == 0 && v == 2ull << 30);
    CHECK(parse_size("64KiB", &v) == 0 && v == 64ull << 10);
    CHECK(parse_size("4096", &v) == 0 && v == 4096);
    CHECK(parse_size("12X", &v) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "12X");
    CHECK(parse_size("-1", &v) < 0);
    CHECK(parse_size("", &v) < 0);
    CHECK(parse_size("99999999999999999999G", &v) < 0);
    CHECK(parse_u64("0x10", &v) == 0 && v == 16);
    CHECK(parse_u64("10abc", &v) < 0);

    static const char *const par[][2] = {{"a/b/c", "a/b"}, {"c", "."}, {"/c", "/"}, {"./c", "."}};
    for (size_t i = 0; i < sizeof par / sizeof *par; i++) {
        char *p = path_parent(par[i][0]);
        CHECK_MSG(!strcmp(p, par[i][1]), "path_parent(%s) = %s", par[i][0], p);
        free(p);
    }
    char nm[] = "roi 1/../x:y-z_w.v";
    path_name_sanitize(nm);
    CHECK_MSG(!strcmp(nm, "roi_1_.._x_y-z_w.v"), "%s", nm);

    char *h = hex_encode("echo 'a b'; x=$(y)", 18);
    CHECK(strcmp(h, "6563686f2027612062273b20783d24287929") == 0);
    size_t n;
    char *d = hex_decode(h, &n);
    CHECK(d && n == 18 && memcmp(d, "echo 'a b'; x=$(y)", 18) == 0);
    free(d);
    free(h);
    CHECK(hex_decode("abc", &n) == NULL);
    CHECK(hex_decode("zz", &n) == NULL);

    char s[65];
    sha256_data("abc", 3, s);
    CHECK(strcmp(s, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);

    char *dir = make_temp_dir("/tmp", "ffwd-test-util-");
    CHECK(dir != NULL);
    char *f = xasprintf("%s/a/b/c", dir);
    CHECK(mkdir_p(f, 0755) == 0 && path_is_dir(f));
    char *file = xasprintf("%s/x.txt", f);
    CHECK(write_file_atomic(file, "hello", 5, 0644) == 0);
    char *back = read_file(file, &n);
    CHECK(back && n == 5 && !strcmp(back, "hello"));
    free(back);
    CHECK(file_size(file) == 5);
    CHECK(read_file("/nonexistent/ffwd", &n) == NULL);
    CHECK_STR_HAS(ffwd_errmsg(), "/nonexistent/ffwd");
    CHECK(rm_rf(dir) == 0 && !path_exists(dir));
    free(file);
    free(f);
    free(dir);

    struct sbuf out = {0};
    char *argv[] = {"sh", "-c", "echo out; exit 3", NULL};
    CHECK(run_cmd(argv, &(struct run_opts){.out = &out}) == 3);
    CHECK(out.s && !strcmp(out.s, "out\n"));
    sbuf_free(&out);
    char *bad[] = {"/nonexistent/prog", NULL};
    CHECK(run_cmd(bad, NULL) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "/nonexistent/prog");

    ffwd_seterr("inner %d", 1);
    ffwd_preerr("outer");
    CHECK(!strcmp(ffwd_errmsg(), "outer: inner 1"));
    return test_done();
}
