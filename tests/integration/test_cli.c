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
 *            same option lines
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
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

/* The commands `ffwd --help` lists, with trace's three parts. */
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
        const char *parts[] = {"record", "stats", "dump", NULL};
        for (int k = 0; k < (strcmp(name, "trace") ? 1 : 3); k++) {
            c = xrealloc(c, (n + 1) * sizeof *c);
            c[n].name = strcmp(name, "trace") ? xstrdup(name) : xasprintf("trace %s", parts[k]);
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

int main(int argc, char **argv)
{
    const char *t = argc > 1 ? argv[1] : "";
    if (!strcmp(t, "usage"))
        return test_usage();
    if (!strcmp(t, "docs"))
        return test_docs();
    fprintf(stderr, "usage: test_cli usage|docs\n");
    return 2;
}
