/* common.c -- helpers shared by the subcommands. */
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (cli_uint("--smp", arg, 1, 64, &v) < 0)
            return -1;
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
