/*
 * test_suite.c -- `ffwd suite`: benchmark suites of real Debian arm64 programs.
 *
 *   gen    the input generators: the same bytes for the same (seed, size),
 *          exact sizes, other seeds other bytes; csource is C a compiler takes
 *   bad    broken suite files: exit 1, the error names the file and the field
 *   own    a user's own suite file: an xz round trip of a generated input whose
 *          expected checksum is the host's sha256 of the same generator's
 *          output; a wrong expected checksum is reported as a mismatch (exit 1)
 *   run    the built-in suite at its test size: every benchmark runs in the
 *          guest and its output matches the suite's checksum (those were
 *          checked against the x86-64 builds of the same Debian versions:
 *          docs/suite.md), with a region of 10^7..3*10^9 instructions
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "helpers.h"
#include "study/suite.h"

static char *gen_file(const char *dir, const char *gen, uint64_t seed, uint64_t bytes, const char *name)
{
    struct suite_input in = {.path = (char *)name, .generator = (char *)gen, .seed = seed};
    in.bytes[SUITE_TEST] = bytes;
    char *p = xasprintf("%s/%s", dir, name);
    CHECK(suite_input_write(&in, SUITE_TEST, p) == 0);
    return p;
}

static int t_gen(const char *dir)
{
    const char *gens[] = {"text", "random", "csource"};
    for (int g = 0; g < 3; g++) {
        char *a = gen_file(dir, gens[g], 7, 100000, "a"), *b = gen_file(dir, gens[g], 7, 100000, "b"),
             *c = gen_file(dir, gens[g], 8, 100000, "c");
        size_t la, lb, lc;
        char *da = read_file(a, &la), *db = read_file(b, &lb), *dc = read_file(c, &lc);
        CHECK(da && db && dc);
        CHECK_MSG(la == lb && !memcmp(da, db, la), "%s: two runs with seed 7 differ", gens[g]);
        CHECK_MSG(la != lc || memcmp(da, dc, la), "%s: seeds 7 and 8 give the same bytes", gens[g]);
        if (strcmp(gens[g], "csource"))
            CHECK_MSG(la == 100000, "%s: %zu bytes, asked for 100000", gens[g], la);
        else {
            CHECK_MSG(la >= 100000 && la < 101000, "csource: %zu bytes for 100000", la);
            char *argv[] = {"cc", "-fsyntax-only", "-x", "c", a, NULL};
            CHECK_MSG(run_cmd(argv, &(struct run_opts){.quiet = true}) == 0, "csource is not C that cc takes");
        }
        if (!strcmp(gens[g], "text")) {
            size_t words = 0;
            for (size_t i = 1; i < la; i++)
                words += da[i] == ' ' && da[i - 1] != ' ';
            CHECK_MSG(words > 10000, "text: %zu words in 100000 bytes", words);
        }
        free(da), free(db), free(dc), free(a), free(b), free(c);
    }
    return 0;
}

static void write_suite(const char *path, const char *text)
{
    CHECK(write_file_atomic(path, text, strlen(text), 0644) == 0);
}

static int t_bad(const char *dir)
{
    char *p = xasprintf("%s/s.json", dir);
    static const char *const good_b =
        "\"name\":\"x\",\"packages\":[\"xz-utils\"],\"command\":\"/usr/bin/xz -c in\"";
    struct {
        const char *text, *want;
    } cases[] = {
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{", "line"},
        {"{\"ffwd_suite\":2,\"name\":\"s\",\"benchmarks\":[]}", "ffwd_suite"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[]}", "benchmarks"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{\"name\":\"x\",\"packages\":[\"xz-utils\"]}]}",
         "benchmarks[0] (\"x\").command"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{\"name\":\"x\",\"packages\":[\"Bad Name\"],"
         "\"command\":\"true\"}]}",
         NULL /* refused when the disk is built: checked below */},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s,\"colour\":1}]}", "unknown field 'colour'"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s,\"inputs\":[{\"path\":\"in\",\"generator\":\"zeros\","
         "\"seed\":1,\"bytes\":{\"test\":1,\"ref\":2}}]}]}",
         "inputs[0].generator"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s,\"inputs\":[{\"path\":\"../in\",\"generator\":\"text\","
         "\"seed\":1,\"bytes\":{\"test\":1,\"ref\":2}}]}]}",
         "inputs[0].path"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s,\"inputs\":[{\"path\":\"in\",\"generator\":\"text\","
         "\"seed\":1,\"bytes\":{\"test\":1}}]}]}",
         "size 'ref' missing"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s,\"expect\":{\"test\":\"abc\",\"ref\":null}}]}",
         "expect"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s,\"instructions\":{\"test\":-5,\"ref\":null}}]}",
         "benchmarks[0] (\"x\").instructions"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{\"name\":\"x\",\"packages\":[\"xz-utils\"],"
         "\"command\":\"/usr/bin/xz -${LEVEL} -c in\"}]}",
         "no variable ${LEVEL} in params.test"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s},{%s}]}", "name \"x\" is used twice"},
        {"{\"ffwd_suite\":1,\"name\":\"s\",\"benchmarks\":[{%s,\"output\":\"/etc/passwd\"}]}", "output"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct sbuf tb = {0}; /* every %s is the good benchmark */
        for (const char *c = cases[i].text; *c; c++)
            if (c[0] == '%' && c[1] == 's')
                sbuf_addf(&tb, "%s", good_b), c++;
            else
                sbuf_addc(&tb, *c);
        char *t = tb.s;
        write_suite(p, t);
        struct sbuf o = {0};
        const char *a[] = {"suite", cases[i].want ? "list" : "build", p, NULL};
        int rc = ffwd(&o, a);
        CHECK_MSG(rc == 1, "case %zu: exit %d, want 1: %s", i, rc, o.s);
        CHECK_MSG(strstr(o.s, p), "case %zu: the error does not name the file: %s", i, o.s);
        CHECK_MSG(strstr(o.s, cases[i].want ? cases[i].want : "Bad Name"), "case %zu: no '%s' in: %s", i,
                  cases[i].want ? cases[i].want : "Bad Name", o.s);
        sbuf_free(&o);
        free(t);
    }
    struct sbuf o = {0};
    const char *a[] = {"suite", "run", "no-such-suite", NULL};
    CHECK(ffwd(&o, a) == 1 && strstr(o.s, "no suite 'no-such-suite'") && strstr(o.s, "debian"));
    sbuf_free(&o);
    free(p);
    return 0;
}

static int t_own(const char *dir)
{
    /* the input as the guest will get it, generated here on the host */
    char *in = gen_file(dir, "text", 42, 300000, "input.txt");
    char want[65], wrong[65];
    CHECK(sha256_file(in, want) == 0);
    memcpy(wrong, want, sizeof wrong);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    char *p = xasprintf("%s/own.json", dir);
    char *t = xasprintf(
        "{\"ffwd_suite\": 1, \"name\": \"own\", \"description\": \"a user's suite\", \"benchmarks\": [\n"
        " {\"name\": \"roundtrip\", \"packages\": [\"xz-utils\"],\n"
        "  \"inputs\": [{\"path\": \"data/input.txt\", \"generator\": \"text\", \"seed\": 42,\n"
        "              \"bytes\": {\"test\": 300000, \"ref\": 3000000}}],\n"
        "  \"params\": {\"test\": {\"LEVEL\": 3}, \"ref\": {\"LEVEL\": 9}},\n"
        "  \"command\": \"/usr/bin/xz -${LEVEL} -c data/input.txt > /tmp/c.xz && /usr/bin/xz -d -c /tmp/c.xz > out.txt\",\n"
        "  \"output\": \"out.txt\", \"expect\": {\"test\": \"%s\", \"ref\": null}},\n"
        " {\"name\": \"wrong\", \"packages\": [\"xz-utils\"],\n"
        "  \"inputs\": [{\"path\": \"input.txt\", \"generator\": \"text\", \"seed\": 42,\n"
        "              \"bytes\": {\"test\": 300000, \"ref\": 3000000}}],\n"
        "  \"command\": \"cat input.txt\", \"expect\": {\"test\": \"%s\", \"ref\": null}}]}\n",
        want, wrong);
    write_suite(p, t);
    char *out = xasprintf("%s/out", dir);
    const char *a[] = {"suite", "run", p, "--out", out, "--json", NULL};
    int rc;
    json_t *j = ffwd_json(a, &rc);
    CHECK_MSG(rc == 1 && j, "exit %d (want 1: one benchmark mismatches)", rc);
    json_t *bs = json_object_get(j, "benchmarks");
    CHECK(json_array_size(bs) == 2);
    json_t *r0 = json_array_get(bs, 0), *r1 = json_array_get(bs, 1);
    CHECK_MSG(!strcmp(json_string_value(json_object_get(r0, "status")) ?: "", "ok"), "roundtrip: %s (%s)",
              json_string_value(json_object_get(r0, "status")), json_string_value(json_object_get(r0, "error")));
    CHECK(!strcmp(json_string_value(json_object_get(r0, "output_sha256")) ?: "", want));
    CHECK(json_integer_value(json_object_get(r0, "output_bytes")) == 300000);
    CHECK(json_integer_value(json_object_get(r0, "instructions_roi")) > 1000000);
    CHECK_MSG(!strcmp(json_string_value(json_object_get(r1, "status")) ?: "", "mismatch"), "wrong: %s",
              json_string_value(json_object_get(r1, "status")));
    CHECK(!strcmp(json_string_value(json_object_get(r1, "output_sha256")) ?: "", want));
    char *rj = xasprintf("%s/results.json", out);
    CHECK(path_exists(rj));
    json_decref(j);
    /* --bench: only the one asked for */
    const char *a2[] = {"suite", "run", p, "--bench", "roundtrip", "--json", NULL};
    j = ffwd_json(a2, &rc);
    CHECK(rc == 0 && j && json_array_size(json_object_get(j, "benchmarks")) == 1);
    json_decref(j);
    free(rj), free(out), free(t), free(p), free(in);
    return 0;
}

static int t_run(const char *dir)
{
    char *out = xasprintf("%s/run", dir);
    const char *a[] = {"suite", "run", "debian", "--size", "test", "--out", out, "--json", NULL};
    int rc;
    json_t *j = ffwd_json(a, &rc);
    CHECK_MSG(rc == 0 && j, "ffwd suite run debian: exit %d", rc);
    json_t *bs = json_object_get(j, "benchmarks");
    CHECK_MSG(json_array_size(bs) >= 8, "%zu benchmarks", json_array_size(bs));
    size_t i;
    json_t *b;
    json_array_foreach(bs, i, b)
    {
        const char *n = json_string_value(json_object_get(b, "name")),
                   *st = json_string_value(json_object_get(b, "status"));
        CHECK_MSG(st && !strcmp(st, "ok"), "%s: %s (%s)", n, st ? st : "?",
                  json_string_value(json_object_get(b, "error")) ?: "");
        CHECK(!strcmp(json_string_value(json_object_get(b, "output_sha256")) ?: "",
                      json_string_value(json_object_get(b, "expected_sha256")) ?: "-"));
        json_int_t ins = json_integer_value(json_object_get(b, "instructions_roi"));
        CHECK_MSG(ins > 10000000 && ins < 3000000000LL, "%s: %lld instructions in the region", n, (long long)ins);
        CHECK(json_integer_value(json_object_get(b, "instructions_total")) > ins);
    }
    char *rj = xasprintf("%s/results.json", out);
    json_t *saved = json_load_file(rj, 0, NULL);
    CHECK(saved && json_array_size(json_object_get(saved, "benchmarks")) == json_array_size(bs));
    json_decref(saved);
    json_decref(j);
    free(rj), free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char *dir = make_temp_dir("/tmp", "ffwd-it-suite-");
    if (!strcmp(argv[1], "gen"))
        t_gen(dir);
    else if (!strcmp(argv[1], "bad"))
        t_bad(dir);
    else if (!strcmp(argv[1], "own"))
        t_own(dir);
    else if (!strcmp(argv[1], "run"))
        t_run(dir);
    else
        return 2;
    int r = test_done();
    if (!r)
        rm_rf(dir);
    free(dir);
    return r;
}
