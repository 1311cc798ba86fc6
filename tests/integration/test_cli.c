/*
 * test_cli.c -- the command line as a user meets it, without a guest:
 *
 *   usage    the one exit-code rule (0 / 1 error / 2 usage; a bad option
 *            value is usage) and the one message prefix ("ffwd: error: "),
 *            for every command, with the system's reason where a system
 *            call failed
 *   docs     every command of the README's command table exists; every
 *            option a usage line or an option line of `--help` names is
 *            accepted by that command; every option of the long help is in
 *            the usage lines (unless they say OPTIONS)
 *   man      a man page per command, generated from `--help`, holding the
 *            same option lines; bash completion of commands and options
 *   install  `cmake --install` into a fresh prefix, then the demo from there
 *            with no ffwd variable in the environment
 *   json     --json of profile, cluster, sample, capture, inspect, convert
 *            and demo on the demo guest: one JSON object each, parsed
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <math.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* Every line ffwd printed to the terminal for a usage error is the error
 * itself, the usage lines, or where the long form is. */
static void check_usage_output(const char *what, const char *out)
{
    CHECK_MSG(str_starts(out, "ffwd: error: "), "%s: output does not start with 'ffwd: error: ': %s", what, out);
    const char *see = strstr(out, "See 'ffwd");
    CHECK_MSG(see != NULL, "%s: no \"See 'ffwd ... --help'\" line: %s", what, out);
    /* the short form only: the long help has option lines "  --x ..." below a blank line */
    CHECK_MSG(!strstr(out, "\n\n"), "%s: a usage error printed the whole help text: %s", what, out);
}

static const struct {
    const char *args[8];
    int code;
    const char *says; /* the message names this */
} cases[] = {
    /* bad option values are usage (2), with the option named */
    {{"boot", "--smp", "0"}, 2, "--smp"},
    {{"boot", "--smp", "17"}, 2, "--smp"},
    {{"boot", "--smp", "9", "--gic", "2"}, 2, "--smp"},
    {{"boot", "--mem", "12Q"}, 2, "--mem"},
    {{"boot", "--mem", "32M"}, 2, "--mem"},
    {{"boot", "--gic", "4"}, 2, "--gic"},
    {{"boot", "--accel", "hvf"}, 2, "--accel"},
    {{"boot", "--rng-seed", "x"}, 2, "--rng-seed"},
    {{"boot", "--timeout", "-3"}, 2, "--timeout"},
    {{"boot", "--insn-scope", "cpu0"}, 2, "--insn-scope"},
    {{"boot", "--capture-at-insn", "12x"}, 2, "--capture-at-insn"},
    {{"boot", "--capture-at-marker", "T"}, 2, "--capture-dir"},
    {{"boot", "stray"}, 2, "stray"},
    {{"demo", "--workload", "doom"}, 2, "--workload"},
    {{"demo", "--size", "0"}, 2, "--size"},
    {{"capture"}, 2, "RUN_DIR"},
    {{"capture", "x", "--timeout", "soon"}, 2, "--timeout"},
    {{"inspect"}, 2, "CAPTURE"},
    {{"convert", "x"}, 2, "--out"},
    {{"convert", "x", "--out", "y", "--threads", "0"}, 2, "--threads"},
    {{"convert", "x", "--out", "y", "--level", "13"}, 2, "--level"},
    {{"verify", "x", "--cpu", "minor2"}, 2, "--cpu"},
    {{"verify", "x", "--gem5", "g", "--switch-after", "-1"}, 2, "--switch-after"},
    {{"profile", "--out", "p", "--interval", "10"}, 2, "--interval"},
    {{"profile", "--out", "p", "--range", "12"}, 2, "--range"},
    {{"profile", "--out", "p", "--accel", "kvm"}, 2, "--accel"},
    {{"profile", "--out", "p", "--l1d", "32K:8:64"}, 2, "--model"},
    {{"profile", "--out", "p", "--model", "--l1d", "33K:8:64"}, 2, "--l1d"},
    {{"profile"}, 2, "--out"},
    {{"cluster", "b", "--maxk"}, 2, "--maxk"},
    {{"cluster", "b", "--maxk", "0"}, 2, "--maxk"},
    {{"cluster", "b", "--init", "kpp"}, 2, "--init"},
    {{"cluster", "b", "--bic-threshold", "2"}, 2, "--bic-threshold"},
    {{"cluster", "b", "--bogus"}, 2, "--bogus"},
    {{"cluster", "b", "--fixed-length=yes"}, 2, "--fixed-length"},
    {{"cluster"}, 2, "BBV"},
    {{"sample", "--profile", "p"}, 2, "--out"},
    {{"sample", "--profile", "p", "--out", "d", "--max-distance", "3"}, 2, "--max-distance"},
    {{"sample", "--profile", "p", "--out", "d", "--warmup", "many"}, 2, "--warmup"},
    {{"landing", "a"}, 2, "RERUN"},
    {{"landing", "a", "b", "--vcpu", "64"}, 2, "--vcpu"},
    {{"sample-run", "d", "--gem5", "g", "--jobs", "0"}, 2, "--jobs"},
    {{"sample-run", "d", "--gem5", "g", "--partition", "p"}, 2, "--slurm"},
    {{"sample-run", "d", "--gem5", "g", "--slurm", "--path-map", "a=b"}, 2, "--path-map"},
    {{"sample-run", "d", "--gem5", "g", "--layout", "stdlib"}, 2, "--config"},
    {{"trace"}, 2, "record"},
    {{"trace", "replay"}, 2, "replay"},
    {{"trace", "record", "--out", "p", "--l2", "1M:3:64"}, 2, "--l2"},
    {{"trace", "record", "--out", "p", "--no-trace"}, 2, "--no-trace"},
    {{"trace", "stats", "f", "--line", "48"}, 2, "--line"},
    {{"trace", "stats", "f", "--cache", "1K"}, 2, "--cache"},
    {{"trace", "dump", "f", "--limit", "0"}, 2, "--limit"},
    {{"flow"}, 2, "record"},
    {{"flow", "replay"}, 2, "replay"},
    {{"flow", "record", "--out", "p", "--top", "0"}, 2, "--top"},
    {{"flow", "record", "--out", "p", "--accel", "kvm"}, 2, "tcg"},
    {{"flow", "report"}, 2, "PREFIX"},
    {{"estimate", "--events", "e"}, 2, "--samples"},
    {{"estimate", "--events", "e", "--samples", "s", "--cpu", "big"}, 2, "--cpu"},
    {{"estimate", "--events", "e", "--samples", "s", "--reference-cpi", "0"}, 2, "--reference-cpi"},
    {{"guest", "path", "bios"}, 2, "bios"},
    {{"guest", "rebuild"}, 2, "rebuild"},
    {{"gem5-table"}, 2, "--gem5-src"},
    {{"nosuchcommand"}, 2, "nosuchcommand"},
    {{"--frobnicate"}, 2, "--frobnicate"},
    /* errors while working are 1, with the system's reason */
    {{"inspect", "/nonexistent/capture"}, 1, "No such file or directory"},
    {{"cluster", "/nonexistent/p.0.bb.gz"}, 1, "No such file or directory"},
    {{"trace", "stats", "/nonexistent/t.trace"}, 1, "No such file or directory"},
    {{"trace", "dump", "/nonexistent/t.trace"}, 1, "No such file or directory"},
    {{"flow", "report", "/nonexistent/p", "--disk", "/nonexistent/d.img"}, 1, "No such file or directory"},
    {{"landing", "/nonexistent/p", "/nonexistent/r"}, 1, "No such file or directory"},
    {{"gem5-table", "--gem5-src", "/nonexistent/gem5"}, 1, "No such file or directory"},
    {{"capture", "/nonexistent/run"}, 1, "No such file or directory"},
    {{"estimate", "--events", "/nonexistent/e.csv", "--calibration", "/nonexistent/c.json"}, 1,
     "No such file or directory"},
};

static int test_usage(void)
{
    struct sbuf o = {0};
    printf("%-72s %4s  %s\n", "command", "code", "message");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct sbuf line = {0};
        for (int a = 0; cases[i].args[a]; a++)
            sbuf_addf(&line, " %s", cases[i].args[a]);
        int rc = ffwd(&o, cases[i].args);
        char *nl = strchr(o.s, '\n');
        printf("ffwd%-68s %4d  %.*s\n", line.s, rc, nl ? (int)(nl - o.s) : (int)o.len, o.s);
        CHECK_MSG(rc == cases[i].code, "ffwd%s: exit %d, want %d: %s", line.s, rc, cases[i].code, o.s);
        CHECK_MSG(str_starts(o.s, "ffwd: error: "), "ffwd%s: no 'ffwd: error: ' prefix: %s", line.s, o.s);
        CHECK_MSG(nl && memmem(o.s, (size_t)(nl - o.s), cases[i].says, strlen(cases[i].says)),
                  "ffwd%s: the message does not name '%s': %s", line.s, cases[i].says, o.s);
        if (rc == 2)
            check_usage_output(line.s, o.s);
        else /* an error while working prints its one line, not the usage */
            CHECK_MSG(!strstr(o.s, "usage:"), "ffwd%s: an error (1) printed the usage: %s", line.s, o.s);
        sbuf_free(&line);
    }
    sbuf_free(&o);
    return test_done();
}

/* ---- docs ------------------------------------------------------------------- */

struct cmd {
    char *name;  /* "profile", "trace record" */
    char *usage; /* the usage paragraph */
    char *help;  /* all of --help */
};

static char *help_of(const char *name, int *rc)
{
    struct sbuf o = {0};
    char *copy = xstrdup(name), *sp = strchr(copy, ' ');
    const char *a[4] = {copy, "--help", NULL, NULL};
    if (!*name)
        a[0] = "--help", a[1] = NULL;
    else if (sp) {
        *sp = 0;
        a[1] = sp + 1, a[2] = "--help";
    }
    *rc = ffwd(&o, a);
    free(copy);
    return o.s;
}

/* The commands `ffwd --help` lists, with the parts of trace and flow. */
static size_t list_commands(struct cmd **out)
{
    int rc;
    char *top = help_of("", &rc);
    (void)rc;
    struct cmd *c = NULL;
    size_t n = 0;
    const char *p = strstr(top, "\nCommands:\n");
    CHECK(p != NULL);
    for (p = p ? p + 11 : top + strlen(top); str_starts(p, "  "); p = strchr(p, '\n') + 1) {
        char name[64];
        if (sscanf(p, " %63s", name) != 1)
            break;
        /* commands made of parts: each part has its own help and page */
        const char *trace_parts[] = {"record", "stats", "dump", NULL}, *flow_parts[] = {"record", "report", NULL};
        const char **parts = !strcmp(name, "trace") ? trace_parts : !strcmp(name, "flow") ? flow_parts : NULL;
        int nparts = 0;
        while (parts && parts[nparts])
            nparts++;
        for (int k = 0; k < (parts ? nparts : 1); k++) {
            c = xrealloc(c, (n + 1) * sizeof *c);
            c[n].name = parts ? xasprintf("%s %s", name, parts[k]) : xstrdup(name);
            c[n].help = help_of(c[n].name, &rc);
            CHECK_MSG(rc == 0, "ffwd %s --help: exit %d", c[n].name, rc);
            char *end = strstr(c[n].help, "\n\n");
            c[n].usage = end ? xasprintf("%.*s", (int)(end - c[n].help + 1), c[n].help) : xstrdup(c[n].help);
            n++;
        }
        if (!strchr(p, '\n'))
            break;
    }
    free(top);
    *out = c;
    return n;
}

/* The "--name" words of text, each once. */
static size_t options_in(const char *text, char ***out)
{
    char **v = NULL;
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "--")); ) {
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '-')) {
            p += 2;
            continue;
        }
        const char *s = p + 2, *e = s;
        while (isalnum((unsigned char)*e) || *e == '-')
            e++;
        if (e > s && isalpha((unsigned char)*s)) {
            char *o = xasprintf("--%.*s", (int)(e - s), s);
            bool seen = false;
            for (size_t i = 0; i < n; i++)
                seen |= !strcmp(v[i], o);
            if (seen)
                free(o);
            else {
                v = xrealloc(v, (n + 1) * sizeof *v);
                v[n++] = o;
            }
        }
        p = e;
    }
    *out = v;
    return n;
}

/* Option lines of the long help: "  --name ..." (and "  -x, --name"), and the
 * options they list together ("  --gem5-src, --template  as for ..."). */
static char *option_lines(const char *help)
{
    struct sbuf b = {0};
    const char *body = strstr(help, "\n\n");
    for (const char *p = body ? body : help; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *q = p;
        while (*q == ' ')
            q++;
        if (q - p >= 2 && q - p <= 4 && (str_starts(q, "--") || (q[0] == '-' && isalpha((unsigned char)q[1])))) {
            /* the option column only: up to two spaces */
            const char *e = strstr(q, "  "), *nl = strchr(q, '\n');
            if (!e || (nl && e > nl))
                e = nl ? nl : q + strlen(q);
            sbuf_addf(&b, "%.*s\n", (int)(e - q), q);
        }
    }
    if (!b.s)
        sbuf_add(&b, "", 0);
    return b.s;
}

static int test_docs(void)
{
    struct cmd *cmds;
    size_t n = list_commands(&cmds);
    CHECK_MSG(n >= 15, "ffwd --help lists %zu commands", n);
    struct sbuf o = {0};
    for (size_t i = 0; i < n; i++) {
        char *lines = option_lines(cmds[i].help);
        struct sbuf both = {0};
        sbuf_addf(&both, "%s\n%s", cmds[i].usage, lines);
        char **opts;
        size_t no = options_in(both.s, &opts);
        for (size_t k = 0; k < no; k++) {
            if (!strcmp(opts[k], "--help"))
                continue;
            /* the option, a value for it, and one ffwd cannot know: the command
             * stops at the latter if it took the former (nothing runs) */
            char *copy = xstrdup(cmds[i].name), *sp = strchr(copy, ' ');
            const char *a[8] = {copy};
            int m = 1;
            if (sp)
                *sp = 0, a[m++] = sp + 1;
            a[m++] = opts[k], a[m++] = "1", a[m++] = "--zz-not-an-option", a[m] = NULL;
            int rc = ffwd(&o, a);
            char *unknown = xasprintf("unknown option '%s'", opts[k]);
            CHECK_MSG(rc != 0 && !strstr(o.s, unknown) && !strstr(o.s, "'--zz-not-an-option': unknown"),
                      "ffwd %s: the help names %s, which the command does not accept (exit %d): %s", cmds[i].name,
                      opts[k], rc, o.s);
            free(unknown);
            free(copy);
        }
        /* every option of the long form is in the usage lines, unless they say [OPTIONS] */
        if (!strstr(cmds[i].usage, "OPTIONS")) {
            char **lo;
            size_t nl = options_in(lines, &lo);
            for (size_t k = 0; k < nl; k++) {
                char *w = xasprintf("%s", lo[k]);
                bool found = false;
                for (const char *p = cmds[i].usage; (p = strstr(p, w)); p++)
                    if (!isalnum((unsigned char)p[strlen(w)]) && p[strlen(w)] != '-')
                        found = true;
                CHECK_MSG(found || !strcmp(lo[k], "--help"), "ffwd %s: %s is in --help but not in the usage lines",
                          cmds[i].name, lo[k]);
                free(w);
                free(lo[k]);
            }
            free(lo);
        }
        for (size_t k = 0; k < no; k++)
            free(opts[k]);
        free(opts);
        sbuf_free(&both);
        free(lines);
    }
    /* the README's command table: each `ffwd X ...` is a command whose --help works */
    char *readme = file_text(FFWD_SOURCE_DIR "/README.md");
    size_t rows = 0;
    for (const char *p = readme; (p = strstr(p, "\n| `ffwd ")); p++) {
        char name[64];
        if (sscanf(p + 9, "%63[a-z0-9-]", name) != 1)
            continue;
        rows++;
        bool known = false;
        for (size_t i = 0; i < n; i++)
            known |= !strcmp(cmds[i].name, name) || (str_starts(cmds[i].name, name) && cmds[i].name[strlen(name)] == ' ');
        CHECK_MSG(known, "README's command table names 'ffwd %s', which is not a command", name);
    }
    CHECK_MSG(rows >= 15, "README's command table has %zu rows", rows);
    /* and every command is in the table */
    for (size_t i = 0; i < n; i++) {
        char *top = xstrdup(cmds[i].name), *sp = strchr(top, ' ');
        if (sp)
            *sp = 0;
        char *row = xasprintf("\n| `ffwd %s", top);
        CHECK_MSG(strstr(readme, row), "README's command table lacks 'ffwd %s'", top);
        free(row);
        free(top);
    }
    free(readme);
    for (size_t i = 0; i < n; i++)
        free(cmds[i].name), free(cmds[i].help), free(cmds[i].usage);
    free(cmds);
    sbuf_free(&o);
    return test_done();
}

/* ---- man pages and completion ------------------------------------------------ */

/* The man page's text with roff's escapes undone: "\-" -> "-", fonts dropped. */
static char *man_text(const char *path)
{
    char *t = file_text(path);
    if (!t)
        return NULL;
    struct sbuf b = {0};
    for (const char *p = t; *p; p++) {
        if (p[0] == '\\' && p[1] == '-')
            sbuf_addc(&b, '-'), p++;
        else if (p[0] == '\\' && p[1] == 'f' && p[2])
            p += 2;
        else
            sbuf_addc(&b, *p);
    }
    free(t);
    return b.s;
}

static int test_man(void)
{
    struct cmd *cmds;
    size_t n = list_commands(&cmds);
    for (size_t i = 0; i < n; i++) {
        char *page = xasprintf("%s/man/ffwd-%s.1", FFWD_BUILD_DIR, cmds[i].name);
        for (char *q = page + strlen(FFWD_BUILD_DIR) + 9; *q; q++)
            if (*q == ' ')
                *q = '-';
        char *m = man_text(page);
        CHECK_MSG(m != NULL, "no man page %s for ffwd %s", page, cmds[i].name);
        if (m) {
            CHECK_MSG(strstr(m, ".TH FFWD-"), "%s: no .TH title", page);
            /* the same text as --help: every option and every line of prose */
            char **opts;
            size_t no = options_in(cmds[i].help, &opts);
            for (size_t k = 0; k < no; k++) {
                CHECK_MSG(strstr(m, opts[k]), "%s lacks %s of `ffwd %s --help`", page, opts[k], cmds[i].name);
                free(opts[k]);
            }
            free(opts);
            size_t lines = 0, found = 0;
            for (char *l = cmds[i].help; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                char *e = strchr(l, '\n');
                char *line = e ? xasprintf("%.*s", (int)(e - l), l) : xstrdup(l);
                char *t = line;
                while (*t == ' ')
                    t++;
                /* prose lines, as help2man keeps them (option columns are reflowed) */
                if (strlen(t) > 30 && t[0] != '-' && !strstr(t, "  ")) {
                    lines++;
                    found += strstr(m, t) != NULL;
                }
                free(line);
            }
            CHECK_MSG(found * 10 >= lines * 9, "%s holds %zu of the %zu prose lines of --help", page, found, lines);
        }
        free(m);
        free(page);
    }
    char *top = man_text(FFWD_BUILD_DIR "/man/ffwd.1");
    CHECK_MSG(top && strstr(top, "sample-run"), "ffwd.1 lacks the command list");
    free(top);
    /* bash completion, from the binary's own --help */
    static const struct {
        const char *line, *want;
    } comp[] = {{"ffwd pro", "profile"},        {"ffwd sample-r", "sample-run"},   {"ffwd cluster x --ma", "--maxk"},
                {"ffwd trace re", "record"},    {"ffwd trace stats f --ca", "--cache"},
                {"ffwd boot --sm", "--smp"},    {"ffwd guest path ker", "kernel"}, {"ffwd sample --keep-r", "--keep-run-dir"},
                {"ffwd suite r", "run"},        {"ffwd suite run deb", "debian"},  {"ffwd study deb", "debian"},
                {"ffwd study x --paral", "--parallel"}};
    for (size_t i = 0; i < sizeof comp / sizeof *comp; i++) {
        char *script = xasprintf(
            "source %s/scripts/ffwd-completion.bash; read -ra COMP_WORDS <<< '%s'; COMP_WORDS[0]=%s; "
            "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ffwd; printf '%%s\\n' \"${COMPREPLY[@]}\"",
            FFWD_SOURCE_DIR, comp[i].line, FFWD_BIN);
        char *argv[] = {"bash", "-c", script, NULL};
        struct sbuf o = {0};
        int rc = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
        char *want = xasprintf("%s\n", comp[i].want);
        CHECK_MSG(rc == 0 && o.s && strstr(o.s, want), "completion of '%s' lacks %s: %s", comp[i].line, comp[i].want,
                  o.s ? o.s : "");
        free(want);
        sbuf_free(&o);
        free(script);
    }
    for (size_t i = 0; i < n; i++)
        free(cmds[i].name), free(cmds[i].help), free(cmds[i].usage);
    free(cmds);
    return test_done();
}

/* ---- install -------------------------------------------------------------------- */

static int test_install(void)
{
    char *tmp = make_temp_dir("/tmp", "ffwd-it-install-");
    char *prefix = xasprintf("%s/prefix", tmp);
    char *iargv[] = {"cmake", "--install", FFWD_BUILD_DIR, "--prefix", prefix, NULL};
    struct sbuf o = {0};
    CHECK_MSG(run_cmd(iargv, &(struct run_opts){.out = &o, .merge_stderr = true}) == 0, "cmake --install: %s", o.s);
    static const char *const parts[] = {"bin/ffwd", "lib/ffwd/plugins/libffwd-bbv.so", "lib/ffwd/plugins/libffwd-mem.so",
                                        "lib/ffwd/plugins/libffwd-trigger.so", "lib/ffwd/plugins/libffwd-icount.so",
                                        "lib/ffwd/guest/ffwd-guest", "lib/ffwd/guest/ffwd-matmul",
                                        "share/ffwd/gem5/ffwd_restore.py", "share/ffwd/gem5/ffwd_stdlib.py",
                                        "share/ffwd/gem5/ffwd_board.py", "share/ffwd/gem5/templates/v24.0-gicv3.cpt.gz",
                                        "share/ffwd/suites/debian.json", "share/man/man1/ffwd-suite.1",
                                        "share/man/man1/ffwd.1", "share/man/man1/ffwd-profile.1",
                                        "share/man/man1/ffwd-trace-record.1", "share/bash-completion/completions/ffwd",
                                        NULL};
    for (const char *const *p = parts; *p; p++) {
        char *f = xasprintf("%s/%s", prefix, *p);
        CHECK_MSG(path_exists(f), "not installed: %s", f);
        free(f);
    }
    /* the demo from the prefix, in a folder of its own, with no ffwd variable
     * set: the binary finds its plugins, guest programs and gem5 data itself
     * (GEM5 unset: the restore in gem5 is other tests' business) */
    char *bin = xasprintf("%s/bin/ffwd", prefix), *out = xasprintf("%s/demo", tmp);
    char *script = xasprintf("unset FFWD_PLUGIN_DIR FFWD_GUEST_DIR FFWD_DATA_DIR GEM5; cd %s && %s demo --out %s --json",
                             tmp, bin, out);
    char *argv[] = {"bash", "-c", script, NULL};
    sbuf_free(&o);
    int rc = run_cmd(argv, &(struct run_opts){.out = &o});
    CHECK_MSG(rc == 0, "installed ffwd demo: exit %d: %s", rc, o.s ? o.s : "");
    json_error_t je;
    json_t *j = o.s ? json_loads(o.s, 0, &je) : NULL;
    CHECK_MSG(j != NULL, "installed ffwd demo --json: not JSON: %s", o.s ? o.s : "");
    char *want = host_checksum("matmul", "256");
    const char *res = json_string_value(json_object_get(j, "result"));
    CHECK_MSG(res && want && strstr(res, want), "the installed demo's result '%s' is not the host's '%s'",
              res ? res : "", want ? want : "");
    const char *ck = json_string_value(json_object_get(j, "gem5_checkpoint"));
    char *m5 = !ck ? NULL : ck[0] == '/' ? xasprintf("%s/m5.cpt", ck) : xasprintf("%s/%s/m5.cpt", tmp, ck);
    CHECK_MSG(m5 && path_exists(m5), "the installed demo wrote no gem5 checkpoint (%s)", m5 ? m5 : "null");
    free(m5);
    free(want);
    json_decref(j);
    /* the installed suites are found from the prefix too */
    free(script);
    script = xasprintf("unset FFWD_DATA_DIR; %s suite list --json", bin);
    char *sargv[] = {"bash", "-c", script, NULL};
    sbuf_free(&o);
    rc = run_cmd(sargv, &(struct run_opts){.out = &o});
    j = rc == 0 && o.s ? json_loads(o.s, 0, &je) : NULL;
    json_t *s0 = json_array_get(json_object_get(j, "suites"), 0);
    CHECK_MSG(s0 && !strcmp(json_string_value(json_object_get(s0, "name")) ?: "", "debian") &&
                  strstr(json_string_value(json_object_get(s0, "file")) ?: "", prefix),
              "installed ffwd suite list: %s", o.s ? o.s : "");
    json_decref(j);
    sbuf_free(&o);
    free(script), free(bin), free(out), free(prefix);
    rm_rf(tmp);
    free(tmp);
    return test_done();
}

/* ---- --json ---------------------------------------------------------------------- */

static const char *jstr(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)); }

static void check_doc(json_t *j, const char *command)
{
    CHECK_MSG(j && !strcmp(jstr(j, "command") ? jstr(j, "command") : "", command) &&
                  json_integer_value(json_object_get(j, "schema")) == 1,
              "ffwd %s --json: no {\"command\": \"%s\", \"schema\": 1}", command, command);
}

static int test_json(void)
{
    char *tmp = make_temp_dir("/tmp", "ffwd-it-json-");
    char *prefix = xasprintf("%s/p", tmp), *bbv = xasprintf("%s/p.0.bb.gz", tmp), *out = xasprintf("%s/pts", tmp);
    int rc;
    const char *pa[] = {"profile", "--out", prefix, "--interval", "4000000", "--roi", "--deterministic", "--append",
                        "ffwd.root=none", "--json", "--cmd",
                        "ffwd-guest roi-begin; ffwd-matmul 128; ffwd-sort 50000; ffwd-matmul 128; ffwd-guest roi-end",
                        "--timeout", "300", NULL};
    json_t *p = ffwd_json(pa, &rc);
    CHECK_MSG(rc == 0, "profile --json: exit %d", rc);
    check_doc(p, "profile");
    json_t *v0 = json_array_get(json_object_get(p, "vcpus"), 0);
    CHECK(v0 && json_integer_value(json_object_get(v0, "intervals")) >= 3 && jstr(v0, "bbv") &&
          !strcmp(jstr(v0, "bbv"), bbv));
    CHECK(jstr(p, "console_log") && path_exists(jstr(p, "console_log")));
    CHECK(json_integer_value(json_object_get(p, "interval")) == 4000000);
    const char *ca[] = {"cluster", bbv, "--maxk", "4", "--json", NULL};
    json_t *c = ffwd_json(ca, &rc);
    CHECK_MSG(rc == 0, "cluster --json: exit %d", rc);
    check_doc(c, "cluster");
    size_t k = (size_t)json_integer_value(json_object_get(c, "k"));
    json_t *pts = json_object_get(c, "points");
    double wsum = 0;
    for (size_t i = 0; i < json_array_size(pts); i++)
        wsum += json_real_value(json_object_get(json_array_get(pts, i), "weight"));
    CHECK_MSG(k >= 1 && json_array_size(pts) == k && fabs(wsum - 1) < 1e-6, "cluster --json: k %zu, %zu points, "
              "weights sum %g", k, json_array_size(pts), wsum);
    const char *sa[] = {"sample", "--profile", prefix, "--out", out, "--timeout", "300", "--json", NULL};
    json_t *s = ffwd_json(sa, &rc);
    CHECK_MSG(rc == 0, "sample --json: exit %d", rc);
    check_doc(s, "sample");
    json_t *sp = json_object_get(s, "points");
    CHECK_MSG(json_array_size(sp) == k, "sample --json: %zu points, cluster chose %zu", json_array_size(sp), k);
    for (size_t i = 0; i < json_array_size(sp); i++) {
        json_t *e = json_array_get(sp, i);
        char *m5 = xasprintf("%s/m5.cpt", jstr(e, "path") ? jstr(e, "path") : "");
        CHECK_MSG(path_exists(m5), "sample --json: point %zu's checkpoint %s", i, m5);
        CHECK(json_real_value(json_object_get(e, "landing_distance")) >= 0);
        free(m5);
    }
    /* a running guest: capture --json, inspect --json, convert --json */
    char *run = xasprintf("%s/run", tmp), *caps = xasprintf("%s/caps", tmp), *ck = xasprintf("%s/ck", tmp);
    char *bargv[] = {FFWD_BIN, "boot", "--run-dir", run, "--cmd", "echo json-up; sleep 60", "--timeout", "300", NULL};
    pid_t pid = ffwd_bg(bargv);
    CHECK(wait_console(run, "json-up", 120));
    const char *cap[] = {"capture", run, "--out", caps, "--name", "c", "--json", NULL};
    json_t *cj = ffwd_json(cap, &rc);
    CHECK_MSG(rc == 0, "capture --json: exit %d", rc);
    check_doc(cj, "capture");
    CHECK(jstr(cj, "capture") && json_integer_value(json_object_get(cj, "ram_bytes")) == 512LL << 20);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    const char *cv[] = {"convert", jstr(cj, "capture") ? jstr(cj, "capture") : "", "--out", ck, "--json", NULL};
    json_t *vj = ffwd_json(cv, &rc);
    CHECK_MSG(rc == 0, "convert --json: exit %d", rc);
    check_doc(vj, "convert");
    CHECK(jstr(vj, "checkpoint") && !strcmp(jstr(vj, "checkpoint"), ck) &&
          json_integer_value(json_object_get(vj, "regs_written")) > 50);
    const char *in[] = {"inspect", jstr(cj, "capture") ? jstr(cj, "capture") : "", "--json", NULL};
    json_t *ij = ffwd_json(in, &rc);
    CHECK_MSG(rc == 0 && ij, "inspect --json: exit %d", rc);
    json_decref(p), json_decref(c), json_decref(s), json_decref(cj), json_decref(vj), json_decref(ij);
    free(run), free(caps), free(ck), free(prefix), free(bbv), free(out);
    rm_rf(tmp);
    free(tmp);
    return test_done();
}

int main(int argc, char **argv)
{
    const char *t = argc > 1 ? argv[1] : "";
    if (!strcmp(t, "usage"))
        return test_usage();
    if (!strcmp(t, "docs"))
        return test_docs();
    if (!strcmp(t, "man"))
        return test_man();
    if (!strcmp(t, "install"))
        return test_install();
    if (!strcmp(t, "json"))
        return test_json();
    fprintf(stderr, "usage: test_cli usage|docs|man|install|json\n");
    return 2;
}
