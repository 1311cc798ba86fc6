/* common.c -- helpers shared by the subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../model/cache.h"
#include "../qemu/profile.h"
#include "cli.h"
#include "opts.h"

int cli_fail(void)
{
    ffwd_error("%s", ffwd_errmsg()[0] ? ffwd_errmsg() : "failed");
    return 1;
}

/* The help's first paragraph (its "usage:" lines), then where the rest is. */
static void print_usage_lines(cli_help_fn help)
{
    if (!help)
        return;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return;
    help(m);
    fclose(m);
    char *end = strstr(text, "\n\n");
    if (end)
        end[1] = 0;
    fputs(text, stderr);
    /* "usage: ffwd trace record --out ..." -> "ffwd trace record": the words up to the first operand or option */
    struct sbuf cmd = {0};
    const char *p = str_starts(text, "usage: ") ? text + 7 : text;
    while (*p >= 'a' && *p <= 'z') {
        const char *w = p;
        while ((*p >= 'a' && *p <= 'z') || *p == '-' || (*p >= '0' && *p <= '9'))
            p++;
        sbuf_addf(&cmd, "%s%.*s", cmd.len ? " " : "", (int)(p - w), w);
        if (*p != ' ')
            break;
        p++;
    }
    if (cmd.len)
        fprintf(stderr, "See '%s --help'.\n", cmd.s);
    sbuf_free(&cmd);
    free(text);
}

int cli_bad_value(cli_help_fn help)
{
    ffwd_error("%s", ffwd_errmsg()[0] ? ffwd_errmsg() : "bad usage");
    print_usage_lines(help);
    return 2;
}

int cli_usage(cli_help_fn help, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    ffwd_error("%s", msg);
    free(msg);
    print_usage_lines(help);
    return 2;
}

int cli_bad_option(int c, char **argv, cli_help_fn help)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    char shortopt[3] = {'-', (char)optopt, 0};
    /* a short option (-x) is reported by optopt; a long one is the word getopt just passed */
    if (optopt > 0 && optopt < 128 && !str_starts(arg, "--"))
        arg = shortopt;
    if (c == ':')
        return cli_usage(help, "option '%s' needs a value", arg);
    if (str_starts(arg, "--") && strchr(arg, '='))
        return cli_usage(help, "'%s': unknown option, or one that takes no value", arg);
    return cli_usage(help, "unknown option '%s'", arg);
}

static int json_fd = -1; /* the real standard output while --json holds it */

void cli_json_start(void)
{
    if (json_fd >= 0)
        return;
    fflush(stdout);
    json_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (json_fd >= 0 && null >= 0)
        dup2(null, 1); /* children (QEMU, gem5) and our own lines for people: nowhere */
    if (null >= 0)
        close(null);
}

int cli_json_emit(const char *command, json_t *o)
{
    json_t *doc = json_pack("{s:s, s:i}", "command", command, "schema", 1);
    json_object_update(doc, o);
    json_decref(o);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(doc);
    fflush(stdout);
    int fd = json_fd >= 0 ? json_fd : 1;
    int rc = fd_write_all(fd, text, strlen(text)) < 0 || fd_write_all(fd, "\n", 1) < 0 ? -1 : 0;
    free(text);
    if (rc < 0)
        return ffwd_seterr_errno("cannot write the JSON result to standard output");
    return 0;
}

int cli_seconds(const char *opt, const char *arg, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v > 0))
        return ffwd_seterr("%s: '%s' is not a positive number of seconds", opt, arg);
    *out = v;
    return 0;
}

int cli_uint(const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v;
    if (parse_u64(arg, &v) < 0 || v < lo || v > hi) {
        if (hi == UINT64_MAX)
            return ffwd_seterr("%s: '%s' is not a whole number >= %" PRIu64, opt, arg, lo);
        return ffwd_seterr("%s: '%s' is not a whole number from %" PRIu64 " to %" PRIu64, opt, arg, lo, hi);
    }
    *out = v;
    return 0;
}

int cli_profile_opt(struct ffwd_profile *p, int opt, const char *arg)
{
    uint64_t v;
    switch (opt) {
    case OPT_SMP:
        /* the upper bound depends on --gic, which may come later: ffwd_profile_check */
        if (cli_uint("--smp", arg, 1, FFWD_MAX_CPUS, &v) < 0)
            return ffwd_seterr("--smp: '%s' is not a whole number from 1 to %d (%d with --gic 2)", arg,
                               FFWD_MAX_CPUS, FFWD_MAX_CPUS_GICV2);
        p->smp = (unsigned)v;
        return 1;
    case OPT_MEM:
        if (parse_size(arg, &v) < 0)
            return ffwd_preerr("--mem");
        if (v < 1024 * 1024) /* a bare number means MiB, as QEMU's -m */
            v <<= 20;
        p->mem_bytes = v;
        return 1;
    case OPT_GIC:
        if (strcmp(arg, "2") && strcmp(arg, "3"))
            return ffwd_seterr("--gic: must be 2 or 3 (got '%s')", arg);
        p->gic_version = arg[0] - '0';
        return 1;
    case OPT_ACCEL:
        if (strcmp(arg, "tcg") && strcmp(arg, "kvm"))
            return ffwd_seterr("--accel: must be tcg or kvm (got '%s')", arg);
        p->accel = !strcmp(arg, "tcg") ? "tcg" : "kvm";
        return 1;
    case OPT_DETERMINISTIC:
        p->icount = true;
        return 1;
    case OPT_RNG_SEED:
        if (!strcmp(arg, "off")) { /* no seed: the guest's generator waits for host timing, as before */
            p->rng_seed_bytes = 0;
            return 1;
        }
        if (cli_uint("--rng-seed", arg, 0, INT64_MAX, &p->rng_seed) < 0)
            return ffwd_seterr("--rng-seed: '%s' is not a whole number >= 0 or 'off'", arg);
        p->rng_seed_bytes = 64;
        return 1;
    }
    return 0;
}

int cli_gem5_cpu(const char *arg, const char **out)
{
    if (strcmp(arg, "atomic") && strcmp(arg, "timing") && strcmp(arg, "o3"))
        return ffwd_seterr("--cpu: atomic, timing or o3 (got '%s')", arg);
    *out = arg;
    return 0;
}

int cli_need_gem5(const char *gem5)
{
    if (!gem5 || !*gem5)
        return ffwd_seterr("no gem5 given: --gem5 PATH or GEM5=PATH (an ARM build of stock gem5 v24.0)");
    return 0;
}

/* The one overwrite rule: a command never replaces an earlier result
 * silently; --force says the user means it. Paths: NULL-terminated. */
int cli_refuse_overwrite(bool force, const char *first, ...)
{
    if (force)
        return 0;
    va_list ap;
    va_start(ap, first);
    int rc = 0;
    for (const char *p = first; p; p = va_arg(ap, const char *))
        if (path_exists(p)) {
            rc = ffwd_seterr("%s exists (an earlier result): use --force to replace it", p);
            break;
        }
    va_end(ap);
    return rc;
}

int cli_cache_opt(const char *name, const char *spec, struct sbuf *plugin_args)
{
    struct cache_cfg cfg;
    char err[200] = "not a spec";
    bool tlb = !strcmp(name, "itlb") || !strcmp(name, "dtlb");
    if (strchr(spec, ',') || strchr(spec, '=') || cache_parse_checked(spec, tlb, &cfg, err, sizeof err) < 0)
        return ffwd_seterr("--%s: '%s': %s", name, spec, err);
    sbuf_addf(plugin_args, ",%s=%s", name, spec);
    return 0;
}
