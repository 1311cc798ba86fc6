/* cmd_suite.c -- `ffwd suite list|build|run`: benchmark suites of real arm64 programs (study/suite.h). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../study/suite.h"
#include "boot_args.h"
#include "cli.h"

static void suite_help(FILE *f)
{
    fprintf(f, "usage: ffwd suite list [SUITE] [--json]\n"
               "       ffwd suite build SUITE [--size test|ref]\n"
               "       ffwd suite run SUITE [--size test|ref] [--bench NAME[,NAME...]] [--out DIR] [--json]\n"
               "                      [GUEST OPTIONS]\n"
               "\n"
               "Benchmark suites: real arm64 programs from Debian packages, each with a\n"
               "deterministic input ffwd generates, its command (the region of interest:\n"
               "its own processes, as `ffwd profile --process roi` counts them) and the\n"
               "sha256 of its output, which proves it ran right (docs/suite.md). SUITE is\n"
               "a built-in suite's name (`ffwd suite list`) or the path of your own suite\n"
               "file. Sizes: test (~10^8 instructions, for CI) and ref (~10^10, for studies).\n"
               "\n"
               "  list [SUITE]         the built-in suites, or SUITE's benchmarks\n"
               "  build SUITE          build (or find in the cache) SUITE's disk for --size and print\n"
               "                       its path: Debian arm64 packages by name, their dependencies,\n"
               "                       the inputs; cached by a hash of all of it\n"
               "  run SUITE            boot the guest on that disk once per benchmark, run it and check\n"
               "                       its output's sha256; report the region's instructions\n"
               "  --size test|ref      default: test\n"
               "  --bench LIST         only these benchmarks\n"
               "  --out DIR            keep each benchmark's console log and results.json in DIR\n"
               "  --json               print the result as JSON (docs/json.md: suite)\n"
               "\n" FFWD_PROFILE_OPTS_HELP "\n"
               "  --timeout SECONDS    per benchmark (default 600)\n"
               "  --qemu PATH          qemu-system-aarch64 to use\n"
               "\n"
               "Exit status: 0 when every benchmark ran and its output matched (or has no\n"
               "expected checksum: reported as unchecked); 1 otherwise.\n");
}

enum { O_SIZE = 1000, O_BENCH };

static int list_cmd(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            suite_help(stdout);
            return 0;
        }
    const char *spec = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json")) {
            if (argv[i][0] == '-')
                return cli_usage(suite_help, "unknown option '%s'", argv[i]);
            if (spec)
                return cli_usage(suite_help, "unexpected argument '%s'", argv[i]);
            spec = argv[i];
        }
    if (json)
        cli_json_start();
    json_t *o = json_object();
    if (!spec) {
        char **names = suite_builtin_names();
        json_t *a = json_array();
        for (char **p = names; *p; p++) {
            struct suite s;
            if (suite_load(*p, &s) < 0) {
                ffwd_warn("%s", ffwd_errmsg());
                continue;
            }
            if (!json)
                printf("%-16s %3zu benchmarks  %s\n", s.name, s.n, s.description);
            json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:s}", "name", s.name, "file", s.path, "benchmarks",
                                               (int)s.n, "description", s.description));
            suite_free(&s);
        }
        suite_names_free(names);
        json_object_set_new(o, "suites", a);
    } else {
        struct suite s;
        if (suite_load(spec, &s) < 0) {
            json_decref(o);
            return cli_fail();
        }
        json_t *a = json_array();
        if (!json)
            printf("suite %s (%s): %s\n", s.name, s.path, s.description);
        for (size_t i = 0; i < s.n; i++) {
            const struct suite_bench *b = &s.b[i];
            struct sbuf pk = {0};
            json_t *pa = json_array();
            for (size_t k = 0; k < b->packages.n; k++) {
                sbuf_addf(&pk, "%s%s", k ? " " : "", b->packages.name[k]);
                json_array_append_new(pa, json_string(b->packages.name[k]));
            }
            if (!json)
                printf("  %-12s %-12s %-28s %s\n", b->name, b->kind, pk.s, b->description);
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:o,s:s}", "name", b->name, "kind", b->kind,
                                               "description", b->description, "packages", pa, "command",
                                               b->command));
            sbuf_free(&pk);
        }
        json_object_set_new(o, "suite", json_string(s.name));
        json_object_set_new(o, "file", json_string(s.path));
        json_object_set_new(o, "benchmarks", a);
        suite_free(&s);
    }
    if (json)
        return cli_json_emit("suite list", o) < 0 ? cli_fail() : 0;
    json_decref(o);
    return 0;
}

/* One benchmark's run: boot, run, check. Fills a JSON object. */
static json_t *run_one(const struct suite_bench *b, enum suite_size size, struct boot_args *ba, const char *disk,
                       const char *dir, bool *ok)
{
    struct ffwd_vm_config cfg = ba->cfg;
    struct ffwd_run_opts ro = ba->ro;
    char *cmd = suite_guest_cmd(b);
    char *console = xasprintf("%s/%s.console.log", dir, b->name), *ic = xasprintf("%s/%s.icount.json", dir, b->name);
    char *so = ffwd_plugin_path("icount");
    char *plug = xasprintf("%s,out=%s,process=roi", so, ic);
    free(so);
    cfg.disk = disk;
    cfg.cmd = cmd;
    if (!strcmp(cfg.prof.accel, "tcg"))
        cfg.plugin = plug;
    ro.console_copy = console;
    unlink(ic);
    struct ffwd_run_result res;
    double t0 = now_sec();
    int rc = ffwd_run_guest(&cfg, &ro, &res);
    double secs = now_sec() - t0;
    json_t *o = json_pack("{s:s,s:s,s:f}", "name", b->name, "kind", b->kind, "seconds", secs);
    const char *status = "failed";
    char *why = NULL;
    if (rc < 0)
        why = xstrdup(ffwd_errmsg());
    else {
        size_t len;
        char *log = read_file(console, &len);
        int st = -1;
        char sha[65];
        uint64_t bytes = 0;
        if (!log || suite_parse_result(log, b->name, &st, sha, &bytes) < 0)
            why = xasprintf("no result line from the guest (console: %s)", console);
        else {
            json_object_set_new(o, "exit_status", json_integer(st));
            json_object_set_new(o, "output_sha256", json_string(sha));
            json_object_set_new(o, "output_bytes", json_integer((json_int_t)bytes));
            if (b->expect[size])
                json_object_set_new(o, "expected_sha256", json_string(b->expect[size]));
            if (st != 0)
                why = xasprintf("the benchmark exited with status %d (console: %s)", st, console);
            else if (!b->expect[size])
                status = "unchecked";
            else if (strcmp(sha, b->expect[size])) {
                status = "mismatch";
                why = xasprintf("output sha256 %s, expected %s (console: %s)", sha, b->expect[size], console);
            } else
                status = "ok";
        }
        free(log);
        json_t *j = json_load_file(ic, 0, NULL);
        if (j) {
            json_object_set(o, "instructions_roi", json_object_get(j, "counted"));
            json_object_set(o, "instructions_total", json_object_get(j, "total"));
            json_decref(j);
        }
    }
    ffwd_run_result_free(&res);
    json_object_set_new(o, "status", json_string(status));
    if (why) {
        json_object_set_new(o, "error", json_string(why));
        ffwd_error("benchmark %s: %s", b->name, why);
    }
    *ok = !strcmp(status, "ok") || !strcmp(status, "unchecked");
    free(why);
    free(cmd);
    free(console);
    free(ic);
    free(plug);
    return o;
}

static int build_or_run(int argc, char **argv, bool run)
{
    static const struct option lo[] = {BOOT_LONGOPTS,
                                       {"size", required_argument, 0, O_SIZE},
                                       {"bench", required_argument, 0, O_BENCH},
                                       {"out", required_argument, 0, OPT_OUT},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static struct boot_args ba;
    boot_args_init(&ba);
    enum suite_size size = SUITE_TEST;
    const char *only = NULL, *out = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        int r = run ? boot_args_opt(&ba, c, optarg) : 0;
        if (r < 0)
            return cli_bad_value(suite_help);
        if (r > 0)
            continue;
        switch (c) {
        case O_SIZE:
            if (suite_size_parse(optarg, &size) < 0) {
                ffwd_preerr("--size");
                return cli_bad_value(suite_help);
            }
            break;
        case O_BENCH: only = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_JSON: json = true; break;
        case 'h': suite_help(stdout); return 0;
        default: return cli_bad_option(c, argv, suite_help);
        }
    }
    if (optind != argc - 1)
        return optind < argc ? cli_usage(suite_help, "unexpected argument '%s'", argv[optind + 1])
                             : cli_usage(suite_help, "SUITE is required (a built-in suite's name or a suite file)");
    if (ba.cfg.kernel || ba.cfg.disk || ba.cfg.cmd || ba.cfg.initrd || ba.cfg.run_dir)
        return cli_usage(suite_help, "suite run: --kernel, --disk, --initrd, --cmd and --run-dir are the suite's own");
    if (!run && (only || out))
        return cli_usage(suite_help, "suite build: --bench and --out belong to suite run");
    struct suite s;
    if (suite_load(argv[optind], &s) < 0)
        return cli_fail();
    bool *sel = xcalloc(s.n, sizeof *sel);
    if (suite_select(&s, only, sel) < 0) {
        free(sel);
        suite_free(&s);
        return cli_bad_value(suite_help);
    }
    if (json)
        cli_json_start();
    char *disk = NULL, *dir = NULL;
    int rc = 1;
    if (suite_disk(&s, size, NULL, json, &disk) < 0) {
        rc = cli_fail();
        goto done;
    }
    if (!run) {
        if (json)
            rc = cli_json_emit("suite build", json_pack("{s:s,s:s,s:s}", "suite", s.name, "size",
                                                        suite_size_names[size], "disk", disk)) < 0
                     ? cli_fail()
                     : 0;
        else {
            printf("%s\n", disk);
            rc = 0;
        }
        goto done;
    }
    if (boot_args_check(&ba) < 0) {
        rc = cli_bad_value(suite_help);
        goto done;
    }
    if (boot_args_prepare(&ba) < 0) {
        rc = cli_fail();
        goto done;
    }
    if (out) {
        if (mkdir_p(out, 0755) < 0) {
            rc = cli_fail();
            goto done;
        }
        dir = xstrdup(out);
    } else if (!(dir = make_temp_dir(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", "ffwd-suite-"))) {
        rc = cli_fail();
        goto done;
    }
    json_t *results = json_array();
    unsigned nok = 0, nrun = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!sel[i])
            continue;
        bool ok;
        if (!json)
            ffwd_progress("benchmark %s (%s)", s.b[i].name, s.b[i].kind);
        json_t *r = run_one(&s.b[i], size, &ba, disk, dir, &ok);
        nrun++;
        nok += ok;
        if (!json) {
            json_t *n = json_object_get(r, "instructions_roi");
            char ins[32] = "-";
            if (n)
                snprintf(ins, sizeof ins, "%llu", (unsigned long long)json_integer_value(n));
            printf("%-12s %-10s %14s instructions  %6.1f s  %s\n", s.b[i].name,
                   json_string_value(json_object_get(r, "status")), ins,
                   json_real_value(json_object_get(r, "seconds")),
                   json_string_value(json_object_get(r, "output_sha256")) ?: "");
        }
        json_array_append_new(results, r);
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:i,s:i}", "suite", s.name, "file", s.path, "size",
                          suite_size_names[size], "disk", disk, "benchmarks", results, "passed", (int)nok, "run",
                          (int)nrun);
    if (out) {
        char *p = xasprintf("%s/results.json", dir);
        char *js = json_dumps(o, JSON_INDENT(2));
        if (write_file_atomic(p, js, strlen(js), 0644) < 0)
            ffwd_warn("%s", ffwd_errmsg());
        free(js);
        free(p);
    } else
        rm_rf(dir);
    if (json) {
        if (cli_json_emit("suite run", o) < 0)
            nok = (unsigned)-1;
    } else {
        printf("%u of %u benchmarks passed\n", nok, nrun);
        json_decref(o);
    }
    rc = nok == nrun ? 0 : 1;
done:
    free(sel);
    free(disk);
    free(dir);
    suite_free(&s);
    boot_args_free(&ba);
    return rc;
}

int cmd_suite(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(suite_help, "list, build or run?");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        suite_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "list"))
        return list_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[1], "build"))
        return build_or_run(argc - 1, argv + 1, false);
    if (!strcmp(argv[1], "run"))
        return build_or_run(argc - 1, argv + 1, true);
    return cli_usage(suite_help, "suite: '%s' is not list, build or run", argv[1]);
}
