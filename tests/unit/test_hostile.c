/*
 * test_hostile.c -- regression tests for hostile and damaged input: each
 * case made a defect happen before its fix (reproducers in tests/data/hostile,
 * found by fuzzing; see fuzz/).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "capture/capture.h"
#include "capture/delta.h"
#include "capture/migstream.h"
#include "common/util.h"
#include "gem5/ini.h"
#include "sample/sample.h"
#include "sample/simpoint.h"
#include "tests/test.h"
#include "trace/trace.h"

#define H FIXTURE_DIR "/hostile/"

static char *tmpdir;

static char *put(const char *name, const void *data, size_t n)
{
    char *p = xasprintf("%s/%s", tmpdir, name);
    CHECK(write_file_atomic(p, data, n, 0644) == 0);
    return p;
}

/* fuzz inputs of the simpoints target: "<.simpoints>@@@\n<.weights>" */
static int simpoints_of(const char *fuzz_input)
{
    size_t n;
    char *t = read_file(fuzz_input, &n);
    CHECK(t != NULL);
    char *sep = t ? memmem(t, n, "@@@\n", 4) : NULL;
    size_t a = sep ? (size_t)(sep - t) : n;
    char *sp = put("f.simpoints", t, a), *wp = put("f.weights", sep ? sep + 4 : "", sep ? n - a - 4 : 0);
    struct simpoint_point *pts = NULL;
    size_t np = 0;
    int rc = simpoint_read(sp, wp, &pts, &np);
    free(pts), free(sp), free(wp), free(t);
    return rc;
}

static void t_simpoints(void)
{
    /* "-4 0" was read as 2^64-4, cast to size_t (UBSan) and became interval 0 */
    CHECK(simpoints_of(H "min-negative-interval.in") < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "f.simpoints:1: interval '-4'");
    CHECK(simpoints_of(H "ubsan-float-cast-interval.in") < 0);
    CHECK(simpoints_of(H "crash-873f352c3d89d3479472e5e2bd85d8b8137782c6") < 0);
    struct simpoint_point *pts = NULL;
    size_t np = 0;
    char *np1 = put("nul.simpoints", "3 0\n\0" "5 1\n", 9), *np2 = put("nul.weights", "0.5 0\n0.5 1\n", 12);
    CHECK(simpoint_read(np1, np2, &pts, &np) < 0); /* a NUL used to end the file silently */
    CHECK_STR_HAS(ffwd_errmsg(), "NUL byte at offset 4");
    free(pts), free(np1), free(np2);
    /* a point at interval 0 (starts at instruction 0) got a warm-up of 2^64-1 */
    CHECK(simpoint_read(H "interval0.simpoints", H "interval0.weights", &pts, &np) == 0 && np == 1 &&
          pts[0].interval == 0);
    free(pts);
    uint64_t target, warm;
    sample_warmup(0, 1000, &target, &warm);
    CHECK(target == 0 && warm == 0);
    sample_warmup(500, 1000, &target, &warm);
    CHECK(target == 0 && warm == 500);
    sample_warmup(5000, 1000, &target, &warm);
    CHECK(target == 4000 && warm == 1000);
    char *sp = put("ok.simpoints", "0 0\n7 1\n", 8), *wp = put("ok.weights", "0.5 0\n0.5 1\n", 12);
    CHECK(simpoint_read(sp, wp, &pts, &np) == 0 && np == 2 && pts[0].interval == 0 && pts[1].interval == 7);
    free(pts), free(sp), free(wp);
}

static void t_truncated_gzip(void)
{
    /* a BBV cut short clustered the intervals before the cut, exit 0 */
    struct sbuf b = {0};
    for (int i = 0; i < 4000; i++)
        sbuf_addf(&b, "T:%d:%d :%d:%d\n", 1 + i % 7, 1000 + i, 9 + i % 3, 5000 - i);
    char *full = xasprintf("%s/full.bb.gz", tmpdir), *cut = xasprintf("%s/cut.bb.gz", tmpdir);
    gzFile g = gzopen(full, "wb");
    gzwrite(g, b.s, (unsigned)b.len);
    gzclose(g);
    size_t n;
    char *z = read_file(full, &n);
    CHECK(write_file_atomic(cut, z, n / 2, 0644) == 0);
    struct bbv_data d;
    CHECK(bbv_load(full, 15, 1, false, &d) == 0 && d.n == 4000);
    bbv_free(&d);
    CHECK(bbv_load(cut, 15, 1, false, &d) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "cut.bb.gz: truncated or corrupt compressed data");
    bbv_free(&d);
    CHECK(read_file_gz(cut, NULL) == NULL); /* the one gzip reader of pmem and friends */
    CHECK_STR_HAS(ffwd_errmsg(), "truncated or corrupt");
    char *nul = put("nul.bb", "T:1:5 \0:2:3\n", 12);
    CHECK(bbv_load(nul, 15, 1, false, &d) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "NUL byte");
    bbv_free(&d);
    free(nul), free(z), free(full), free(cut);
    sbuf_free(&b);
}

static void t_trace(void)
{
    /* a physical-address delta that overflowed int64 (UBSan) */
    const char *files[] = {H "ubsan-pdelta-signed-overflow.trace", H "crash-5ec74e424843b6d1faf0805e100a3da8611d4524"};
    for (size_t i = 0; i < 2; i++) {
        struct trace_reader r;
        if (trace_open_read(&r, files[i]) == 0) {
            struct trace_rec rec;
            int k;
            while ((k = trace_next(&r, &rec)) > 0)
                ;
            trace_close_read(&r);
        }
    }
    CHECK(1); /* reaching here without a sanitizer report is the check (the test also runs under UBSan) */
}

static void t_migstream(void)
{
    /* a zero-size struct field with array_len 2^62: parse_fields never returned */
    struct mig_stream m;
    double t0 = now_sec();
    CHECK(mig_parse_file(H "hang-struct-array_len.bin", &m) < 0);
    CHECK(now_sec() - t0 < 60);
    CHECK_STR_HAS(ffwd_errmsg(), "at byte ");
    CHECK(strstr(ffwd_errmsg(), "(at byte 0)") == NULL);
}

static void t_ini_many_sections(void)
{
    /* 80 k sections took 416 s (a linear search per section header) */
    struct sbuf b = {0};
    for (int i = 0; i < 80000; i++)
        sbuf_addf(&b, "[system.cpu%d.sec]\nk=%d\nk=%d\n", i, i, i + 1);
    struct ini f;
    CHECK(ini_parse(b.s, b.len, "big.cpt", &f) == 0 && f.n == 80000);
    { const char *kv = ini_get(ini_find(&f, "system.cpu79999.sec"), "k"); CHECK(kv && !strcmp(kv, "80000")); } /* the last of a repeated key */
    CHECK(ini_find(&f, "system.cpu80000.sec") == NULL);
    ini_remove_tree(&f, "system.cpu5");
    CHECK(ini_find(&f, "system.cpu5.sec") == NULL && ini_find(&f, "system.cpu6.sec") != NULL);
    ini_add(&f, "root", "system.cpu6.sec");
    CHECK(ini_find(&f, "root") != NULL && ini_find(&f, "system.cpu7.sec") != NULL);
    ini_free(&f);
    sbuf_free(&b);
}

static void t_delta(void)
{
    /* a repeated sector or one past the disk's end became a COW file gem5 asserts on */
    for (int c = 0; c < 3; c++) {
        struct sbuf b = {0};
        delta_header(&b, 1 << 20, 2);
        uint64_t secs[3][2] = {{1, 5}, {5, 5}, {1, 2048}};
        char zero[DELTA_SECTOR] = {0};
        for (int i = 0; i < 2; i++) {
            sbuf_add(&b, &secs[c][i], 8);
            sbuf_add(&b, zero, DELTA_SECTOR);
        }
        uint64_t n;
        const uint8_t *e;
        int rc = delta_parse(b.s, b.len, "d.delta", &n, &e);
        CHECK(c == 0 ? rc == 0 && n == 2 : rc < 0);
        sbuf_free(&b);
    }
}

static void t_names(void)
{
    CHECK(path_name_ok("cpt.simpoint_00"));
    CHECK(!path_name_ok("../../victim") && !path_name_ok("") && !path_name_ok("..") && !path_name_ok(".") &&
          !path_name_ok("a/b") && !path_name_ok(NULL));
    char *c = path_clean("out///");
    CHECK(!strcmp(c, "out"));
    free(c);
}

/* QMP replies with vring-avail -3 / huge: SEGV in the ring-index read */
static void t_qmp_vring(void)
{
    const char *files[] = {H "qmp-vring-avail-negative.in", H "qmp-vring-avail-huge.in"};
    for (size_t i = 0; i < 2; i++) {
        size_t n;
        char *t = read_file(files[i], &n);
        int sv[2];
        CHECK(t && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        CHECK(fd_write_all(sv[1], t, n) == 0);
        shutdown(sv[1], SHUT_WR);
        struct qmp *q = qmp_from_fd(sv[0], "fake QEMU", 5);
        if (q) {
            uint8_t *ram = xcalloc(1, 1 << 20);
            bool busy;
            json_t *st = NULL;
            qmp_cmd(q, "query-status", NULL, &st, 5);
            json_decref(st);
            json_t *v = ffwd_capture_virtio_state(q, ram, 1 << 20, &busy);
            json_decref(v);
            free(ram);
            qmp_close(q);
        } else
            close(sv[0]);
        close(sv[1]);
        free(t);
    }
    CHECK(1); /* no SEGV, no ASan report */
}

/* QEMU gone: the error said "Broken pipe" (the system's word for a write to
 * a closed socket); it says QEMU exited now. */
static void t_qmp_gone(void)
{
    int sv[2];
    const char *greeting = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}}, "
                           "\"capabilities\": []}}\n{\"return\": {}, \"id\": 1}\n";
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(fd_write_all(sv[1], greeting, strlen(greeting)) == 0);
    struct qmp *q = qmp_from_fd(sv[0], "fake QEMU", 5);
    CHECK(q != NULL);
    close(sv[1]); /* QEMU exits */
    if (q) {
        json_t *st = NULL;
        CHECK(qmp_cmd(q, "stop", NULL, &st, 5) < 0);
        CHECK_STR_HAS(ffwd_errmsg(), "QEMU exited");
        CHECK(strstr(ffwd_errmsg(), "Broken pipe") == NULL);
        json_decref(st);
        qmp_close(q);
    }
}

int main(void)
{
    tmpdir = make_temp_dir("/tmp", "ffwd-hostile-");
    t_simpoints();
    t_truncated_gzip();
    t_trace();
    t_migstream();
    t_ini_many_sections();
    t_delta();
    t_names();
    t_qmp_vring();
    t_qmp_gone();
    rm_rf(tmpdir);
    free(tmpdir);
    return test_done();
}
