/*
 * cmd_trace.c -- `ffwd trace record|stats|dump`: memory-access traces and
 * the online cache/TLB/instruction-class model (libffwd-mem.so).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../model/cache.h"
#include "../trace/analyze.h"
#include "../trace/trace.h"
#include "boot_args.h"
#include "cli.h"

static void trace_help(FILE *f)
{
    fprintf(f,
            "usage: ffwd trace record --out PREFIX [WINDOW] [--values] [--no-trace]\n"
            "                         [--model [--interval N] [--l1i SPEC] [--l1d SPEC] [--l2 SPEC]\n"
            "                          [--llc SPEC] [--itlb SPEC] [--dtlb SPEC]] [GUEST OPTIONS]\n"
            "       ffwd trace stats FILE [--line BYTES] [--cache SIZE:ASSOC:LINE[:lru|random]]... [--json]\n"
            "       ffwd trace dump FILE [--limit N]\n"
            "\n"
            "record: run the guest in QEMU (TCG) with ffwd's memory plugin. Per vCPU:\n"
            "  PREFIX.<vcpu>.trace       every load/store: PC, virtual and physical address, size,\n"
            "                            instruction count (and value with --values); delta-encoded,\n"
            "                            gzip'd, streamed (docs/trace-format.md)\n"
            "  PREFIX.<vcpu>.model.csv   with --model: per interval, instructions by class (alu,\n"
            "                            muldiv, fpsimd, load, store, branch, other) and accesses and\n"
            "                            misses of L1I, L1D, L2, LLC, ITLB, DTLB\n"
            "  PREFIX.summary            totals\n"
            "WINDOW (default: the whole run):\n"
            "  --from N, --to N     only while the vCPU's retired instructions are in [N, M)\n"
            "  --roi                only between `ffwd-guest roi-begin` and `roi-end`\n"
            "Model (defaults: gem5/ffwd_restore.py's O3 system):\n"
            "  --l1i 48K:3:64  --l1d 32K:2:64  --l2 1M:16:64  [--llc SIZE:ASSOC:LINE]   (append :random\n"
            "                       for random replacement; LRU otherwise; ASSOC 0 = fully associative)\n"
            "  --itlb 64:0  --dtlb 64:0   ENTRIES:ASSOC[:PAGE]\n"
            "  --interval N         instructions per CSV row (default 100000000)\n"
            "\n"
            "stats: counts, footprint (distinct lines and pages) and the reuse-distance\n"
            "histogram (LRU stack distance in lines), with the miss ratio a fully associative\n"
            "LRU cache of each size would have; --cache replays the accesses (physical\n"
            "addresses) through a cache of that geometry.\n"
            "dump: one line per access: icount pc L|S size vaddr paddr [value].\n"
            "\n" FFWD_BOOT_OPTS_HELP "\n" FFWD_PROFILE_OPTS_HELP);
}

static int trace_record(int argc, char **argv)
{
    enum { O_FROM = 1000, O_TO, O_ROI, O_VALUES, O_NOTRACE, O_MODEL, O_INTERVAL, O_CACHE };
    static const struct option lo[] = {BOOT_LONGOPTS,
                                       {"out", required_argument, 0, OPT_OUT},
                                       {"from", required_argument, 0, O_FROM},
                                       {"to", required_argument, 0, O_TO},
                                       {"roi", no_argument, 0, O_ROI},
                                       {"values", no_argument, 0, O_VALUES},
                                       {"no-trace", no_argument, 0, O_NOTRACE},
                                       {"model", no_argument, 0, O_MODEL},
                                       {"interval", required_argument, 0, O_INTERVAL},
                                       CLI_CACHE_LONGOPTS(O_CACHE),
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static struct boot_args b;
    boot_args_init(&b);
    const char *out = NULL;
    struct sbuf opts = {0};
    bool model = false, notrace = false;
    uint64_t v;
    int c, li;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, &li)) != -1) {
        int r = boot_args_opt(&b, c, optarg);
        if (r < 0)
            goto fail;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case O_FROM:
        case O_TO:
            if (cli_uint(c == O_FROM ? "--from" : "--to", optarg, 0, UINT64_MAX, &v) < 0)
                goto fail;
            sbuf_addf(&opts, ",%s=%" PRIu64, c == O_FROM ? "from" : "to", v);
            break;
        case O_ROI: sbuf_addf(&opts, ",roi=on"); break;
        case O_VALUES: sbuf_addf(&opts, ",values=on"); break;
        case O_NOTRACE: notrace = true; break;
        case O_MODEL: model = true; break;
        case O_INTERVAL:
            if (cli_uint("--interval", optarg, 1000, UINT64_MAX, &v) < 0)
                goto fail;
            sbuf_addf(&opts, ",interval=%" PRIu64, v);
            break;
        case O_CACHE:
            if (cli_cache_opt(lo[li].name, optarg, &opts) < 0)
                goto fail;
            break;
        case 'h': trace_help(stdout); sbuf_free(&opts); return 0;
        default: trace_help(stderr); sbuf_free(&opts); return 2;
        }
    }
    if (optind < argc || !out) {
        fprintf(stderr, "ffwd trace record: --out PREFIX is required (and no other arguments)\n");
        sbuf_free(&opts);
        return 2;
    }
    if (notrace && !model) {
        ffwd_seterr("--no-trace without --model records nothing");
        goto fail;
    }
    char *so = ffwd_plugin_path("mem");
    struct sbuf plug = {0};
    sbuf_addf(&plug, "%s,out=%s,trace=%s,model=%s%s", so, out, notrace ? "off" : "on", model ? "on" : "off",
              opts.s ? opts.s : "");
    free(so);
    b.cfg.plugin = plug.s;
    if (boot_args_prepare(&b) < 0) {
        sbuf_free(&plug);
        goto fail;
    }
    struct ffwd_run_result *res = xcalloc(1, sizeof *res);
    double t0 = now_sec();
    int rc = ffwd_run_guest(&b.cfg, &b.ro, res);
    if (rc == 0 && res->cmd_status > 0)
        rc = ffwd_seterr("the guest command exited with status %d (console: %s)", res->cmd_status, res->console_log);
    if (rc == 0) {
        char *sp = xasprintf("%s.summary", out);
        char *sum = read_file(sp, NULL);
        if (sum)
            fputs(sum, stdout);
        else
            rc = ffwd_seterr("%s was not written: the memory plugin did not finish", sp);
        free(sum);
        free(sp);
        ffwd_info("recorded in %.1f s; files: %s.*", now_sec() - t0, out);
    }
    ffwd_run_result_free(res);
    free(res);
    sbuf_free(&plug);
    sbuf_free(&opts);
    boot_args_free(&b);
    return rc < 0 ? cli_fail() : 0;
fail:
    sbuf_free(&opts);
    return cli_fail();
}

/* Replay the data accesses of a trace through each cache (physical addresses). */
static int replay(const char *path, struct cache *cs, unsigned n)
{
    struct trace_reader r;
    if (trace_open_read(&r, path) < 0)
        return ffwd_seterr("%s", r.err);
    struct trace_rec rec;
    int rc;
    while ((rc = trace_next(&r, &rec)) == 1)
        for (unsigned i = 0; i < n; i++)
            cache_access_range(&cs[i], rec.paddr, rec.size, NULL, NULL);
    if (rc < 0)
        ffwd_seterr("%s: %s", path, r.err);
    trace_close_read(&r);
    return rc < 0 ? -1 : 0;
}

static int trace_stats(int argc, char **argv)
{
    static const struct option lo[] = {{"line", required_argument, 0, 'l'}, {"json", no_argument, 0, 'j'},
                                       {"cache", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    uint64_t line = 64;
    bool json = false;
    struct cache cs[8];
    const char *specs[8];
    unsigned ncs = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (c == 'c') {
            struct cache_cfg cfg;
            char err[200];
            if (ncs == 8 || cache_parse(optarg, &cfg, err, sizeof err) < 0 ||
                cache_init(&cs[ncs], &cfg, err, sizeof err) < 0) {
                ffwd_seterr("--cache: %s", ncs == 8 ? "at most 8 caches" : err);
                for (unsigned i = 0; i < ncs; i++)
                    cache_free(&cs[i]);
                return cli_fail();
            }
            specs[ncs++] = optarg;
        } else if (c == 'l') {
            if (cli_uint("--line", optarg, 1, 1 << 20, &line) < 0 || (line & (line - 1))) {
                ffwd_seterr("--line: a power of two (got '%s')", optarg);
                return cli_fail();
            }
        } else if (c == 'j')
            json = true;
        else {
            trace_help(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind + 1 != argc) {
        trace_help(stderr);
        return 2;
    }
    struct trace_stats st;
    int arc = trace_analyze(argv[optind], (unsigned)line, &st);
    if (arc == 0 && ncs)
        arc = replay(argv[optind], cs, ncs);
    if (arc < 0) {
        for (unsigned i = 0; i < ncs; i++)
            cache_free(&cs[i]);
        return cli_fail();
    }
    static const uint64_t sizes[] = {16 << 10, 32 << 10, 64 << 10, 256 << 10, 1 << 20, 8 << 20, 32 << 20};
    if (json) {
        printf("{\"records\": %" PRIu64 ", \"loads\": %" PRIu64 ", \"stores\": %" PRIu64 ", \"instructions\": %" PRIu64
               ", \"lines\": %" PRIu64 ", \"pages\": %" PRIu64 ", \"line_bytes\": %" PRIu64 ", \"cold\": %" PRIu64
               ", \"crossing\": %" PRIu64 ", \"reuse_log2\": [",
               st.records, st.loads, st.stores, st.last_icount - st.first_icount, st.lines, st.pages, line, st.cold,
               st.crossing);
        for (int b = 0; b < REUSE_BUCKETS; b++)
            printf("%s%" PRIu64, b ? ", " : "", st.reuse[b]);
        printf("], \"lru_miss_ratio\": {");
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            printf("%s\"%" PRIu64 "\": %.6f", i ? ", " : "", sizes[i], trace_lru_miss_ratio(&st, sizes[i] / line));
        printf("}, \"caches\": {");
        for (unsigned i = 0; i < ncs; i++) {
            printf("%s\"%s\": {\"accesses\": %" PRIu64 ", \"misses\": %" PRIu64 "}", i ? ", " : "", specs[i],
                   cs[i].accesses, cs[i].misses);
            cache_free(&cs[i]);
        }
        printf("}}\n");
        return 0;
    }
    printf("%s\n", argv[optind]);
    printf("  accesses        %" PRIu64 " (%" PRIu64 " loads, %" PRIu64 " stores) over %" PRIu64 " instructions\n",
           st.records, st.loads, st.stores, st.last_icount - st.first_icount);
    printf("  by size         ");
    for (int s = 0; s < 8; s++)
        if (st.by_size[s])
            printf(" %uB: %" PRIu64, 1u << s, st.by_size[s]);
    printf("\n  footprint       %" PRIu64 " lines of %" PRIu64 " B (%.1f MiB), %" PRIu64 " pages of 4 KiB (%.1f MiB)\n",
           st.lines, line, (double)st.lines * (double)line / 1048576.0, st.pages, (double)st.pages / 256.0);
    printf("  reuse distance  (LRU stack distance in lines; %" PRIu64 " first references; %" PRIu64
           " accesses cross a line, counted on their first)\n",
           st.cold, st.crossing);
    uint64_t cum = 0;
    for (int b = 0; b < REUSE_BUCKETS; b++) {
        if (!st.reuse[b])
            continue;
        cum += st.reuse[b];
        uint64_t lo2 = b ? 1ULL << (b - 1) : 0, hi = b ? (1ULL << b) - 1 : 0;
        printf("    %10" PRIu64 " .. %-10" PRIu64 " %12" PRIu64 "  %5.1f%%  cumulative %5.1f%%\n", lo2, hi,
               st.reuse[b], 100.0 * (double)st.reuse[b] / (double)st.records, 100.0 * (double)cum / (double)st.records);
    }
    printf("  fully associative LRU miss ratio by size:");
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        printf(" %" PRIu64 "K %.2f%%", sizes[i] >> 10, 100.0 * trace_lru_miss_ratio(&st, sizes[i] / line));
    printf("\n");
    for (unsigned i = 0; i < ncs; i++) {
        printf("  cache %-14s %" PRIu64 " accesses, %" PRIu64 " misses (%.2f%%)\n", specs[i], cs[i].accesses,
               cs[i].misses, 100.0 * (double)cs[i].misses / (double)(cs[i].accesses ? cs[i].accesses : 1));
        cache_free(&cs[i]);
    }
    printf("  (read in %.2f s)\n", st.seconds);
    return 0;
}

static int trace_dump(int argc, char **argv)
{
    uint64_t limit = UINT64_MAX;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            if (cli_uint("--limit", argv[++i], 1, UINT64_MAX, &limit) < 0)
                return cli_fail();
        } else if (!file && argv[i][0] != '-')
            file = argv[i];
        else {
            trace_help(stderr);
            return 2;
        }
    }
    if (!file) {
        trace_help(stderr);
        return 2;
    }
    struct trace_reader r;
    if (trace_open_read(&r, file) < 0) {
        ffwd_seterr("%s", r.err);
        return cli_fail();
    }
    struct trace_rec rec;
    int rc = 0;
    printf("# vcpu %u, window from instruction %" PRIu64 "\n# icount pc L|S size vaddr paddr%s\n", r.vcpu,
           r.start_icount, r.values ? " value" : "");
    for (uint64_t n = 0; n < limit && (rc = trace_next(&r, &rec)) == 1; n++) {
        printf("%" PRIu64 " %016" PRIx64 " %c %u %016" PRIx64 " %010" PRIx64, rec.icount, rec.pc, rec.store ? 'S' : 'L',
               rec.size, rec.vaddr, rec.paddr);
        if (rec.has_value)
            printf(" %" PRIx64, rec.value);
        putchar('\n');
    }
    if (limit == UINT64_MAX && rc < 0) {
        ffwd_seterr("%s: %s", file, r.err);
        trace_close_read(&r);
        return cli_fail();
    }
    trace_close_read(&r);
    return 0;
}

int cmd_trace(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        trace_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "record"))
        return trace_record(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats"))
        return trace_stats(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dump"))
        return trace_dump(argc - 1, argv + 1);
    fprintf(stderr, "ffwd trace: '%s' is not record, stats or dump\n", argv[1]);
    return 2;
}
