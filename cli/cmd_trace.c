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
#include <sys/stat.h>

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
    fprintf(f, "usage: ffwd trace record --out PREFIX [OPTIONS] --cmd 'WORKLOAD'\n"
               "       ffwd trace stats FILE [--line BYTES] [--cache SIZE:ASSOC:LINE[:lru|random]]... [--json]\n"
               "       ffwd trace dump FILE [--limit N]\n"
               "\n"
               "Memory-access traces and the online cache/TLB/instruction-class model (ffwd's\n"
               "memory plugin). `ffwd trace record|stats|dump --help` describes each.\n");
}

static void record_help(FILE *f)
{
    fprintf(f,
            "usage: ffwd trace record --out PREFIX [--from N] [--to N] [--roi] [--values] [--no-trace]\n"
            "                         [--model [--interval N] [--l1i SPEC] [--l1d SPEC] [--l2 SPEC]\n"
            "                          [--llc SPEC] [--itlb SPEC] [--dtlb SPEC]] [GUEST OPTIONS] --cmd 'WORKLOAD'\n"
            "\n"
            "Run the guest in QEMU (TCG) with ffwd's memory plugin. Per vCPU:\n"
            "  PREFIX.<vcpu>.trace       every load/store: PC, virtual and physical address, size,\n"
            "                            instruction count (and value with --values); delta-encoded,\n"
            "                            gzip'd, streamed (docs/trace-format.md)\n"
            "  PREFIX.<vcpu>.model.csv   with --model: per interval, instructions by class (alu,\n"
            "                            muldiv, fpsimd, load, store, branch, other) and accesses and\n"
            "                            misses of L1I, L1D, L2, LLC, ITLB, DTLB\n"
            "  PREFIX.summary            totals\n"
            "\n"
            "  --out PREFIX         output prefix (its folder must exist)\n"
            "  --values             also record each access's value\n"
            "  --no-trace           no trace, only the model (with --model)\n"
            "Window (default: the whole run):\n"
            "  --from N, --to N     only while the vCPU's retired instructions are in [N, M)\n"
            "  --roi                only between `ffwd-guest roi-begin` and `roi-end`\n"
            "Model (defaults: gem5/ffwd_restore.py's O3 system):\n"
            "  --model              run the cache/TLB/instruction-class model\n"
            "  --l1i 48K:3:64  --l1d 32K:2:64  --l2 1M:16:64  [--llc SIZE:ASSOC:LINE]   (append :random\n"
            "                       for random replacement; LRU otherwise; ASSOC 0 = fully associative)\n"
            "  --itlb 64:0  --dtlb 64:0   ENTRIES:ASSOC[:PAGE]\n"
            "  --interval N         instructions per CSV row (default 100000000)\n"
            "\n" FFWD_BOOT_OPTS_HELP "\n" FFWD_PROFILE_OPTS_HELP);
}

static void stats_help(FILE *f)
{
    fprintf(f, "usage: ffwd trace stats FILE [--line BYTES] [--cache SIZE:ASSOC:LINE[:lru|random]]... [--json]\n"
               "\n"
               "Counts, footprint (distinct lines and pages) and the reuse-distance histogram\n"
               "(LRU stack distance in lines) of a trace (PREFIX.<vcpu>.trace of `ffwd trace\n"
               "record`), with the miss ratio a fully associative LRU cache of each size would have.\n"
               "\n"
               "  --line BYTES         line size, a power of two (default 64)\n"
               "  --cache SPEC         replay the accesses (physical addresses) through a cache of\n"
               "                       this geometry; as many as wanted\n"
               "  --json               one JSON object (records, loads, stores, instructions, lines,\n"
               "                       pages, reuse_log2, lru_miss_ratio, caches)\n");
}

static void dump_help(FILE *f)
{
    fprintf(f, "usage: ffwd trace dump FILE [--limit N]\n"
               "\n"
               "Print a trace, one line per access: icount pc L|S size vaddr paddr [value].\n"
               "\n"
               "  --limit N            the first N accesses only\n");
}

/* The run's progress: bytes of trace written so far, every vCPU. */
struct trace_tick {
    struct ffwd_meter m;
    const char *prefix;
    unsigned nvcpus;
};

static void trace_tick(void *arg)
{
    struct trace_tick *t = arg;
    double bytes = 0;
    for (unsigned v = 0; v < t->nvcpus; v++) {
        char *p = xasprintf("%s.%u.trace", t->prefix, v);
        struct stat st;
        if (stat(p, &st) == 0)
            bytes += (double)st.st_size;
        free(p);
    }
    ffwd_meter_set(&t->m, bytes);
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
    while ((c = getopt_long(argc, argv, ":h", lo, &li)) != -1) {
        int r = boot_args_opt(&b, c, optarg);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case O_FROM:
        case O_TO:
            if (cli_uint(c == O_FROM ? "--from" : "--to", optarg, 0, UINT64_MAX, &v) < 0)
                goto usage;
            sbuf_addf(&opts, ",%s=%" PRIu64, c == O_FROM ? "from" : "to", v);
            break;
        case O_ROI: sbuf_addf(&opts, ",roi=on"); break;
        case O_VALUES: sbuf_addf(&opts, ",values=on"); break;
        case O_NOTRACE: notrace = true; break;
        case O_MODEL: model = true; break;
        case O_INTERVAL:
            if (cli_uint("--interval", optarg, 1000, UINT64_MAX, &v) < 0)
                goto usage;
            sbuf_addf(&opts, ",interval=%" PRIu64, v);
            break;
        case O_CACHE:
            if (cli_cache_opt(lo[li].name, optarg, &opts) < 0)
                goto usage;
            break;
        case 'h': record_help(stdout); sbuf_free(&opts); return 0;
        default: sbuf_free(&opts); return cli_bad_option(c, argv, record_help);
        }
    }
    if (optind < argc || !out) {
        sbuf_free(&opts);
        if (out)
            return cli_usage(record_help, "unexpected argument '%s'", argv[optind]);
        return cli_usage(record_help, "--out PREFIX is required");
    }
    if (notrace && !model) {
        ffwd_seterr("--no-trace without --model records nothing");
        goto usage;
    }
    char *so = ffwd_plugin_path("mem");
    struct sbuf plug = {0};
    sbuf_addf(&plug, "%s,out=%s,trace=%s,model=%s%s", so, out, notrace ? "off" : "on", model ? "on" : "off",
              opts.s ? opts.s : "");
    free(so);
    b.cfg.plugin = plug.s;
    int bad = boot_args_check(&b) < 0;
    if (bad || boot_args_prepare(&b) < 0) {
        sbuf_free(&plug);
        sbuf_free(&opts);
        return bad ? cli_bad_value(record_help) : cli_fail();
    }
    struct ffwd_run_result *res = xcalloc(1, sizeof *res);
    char *console = xasprintf("%s.console.log", out);
    b.ro.console_copy = console;
    double t0 = now_sec();
    struct trace_tick tick = {.prefix = out, .nvcpus = b.cfg.prof.smp};
    ffwd_meter_start(&tick.m, "trace written", "bytes", 0);
    if (!notrace)
        b.ro.tick = trace_tick, b.ro.tick_arg = &tick;
    int rc = ffwd_run_guest(&b.cfg, &b.ro, res);
    ffwd_meter_end(&tick.m);
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
    free(console);
    sbuf_free(&plug);
    sbuf_free(&opts);
    boot_args_free(&b);
    return rc < 0 ? cli_fail() : 0;
usage:
    sbuf_free(&opts);
    return cli_bad_value(record_help);
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
    /* --cache, as many as given; static: reachable (not a leak) on the early returns */
    static struct cache *cs;
    static const char **specs;
    cs = NULL, specs = NULL;
    unsigned ncs = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == 'c') {
            struct cache_cfg cfg;
            char err[200];
            cs = xrealloc(cs, (ncs + 1) * sizeof *cs);
            specs = xrealloc(specs, (ncs + 1) * sizeof *specs);
            if (cache_parse(optarg, &cfg, err, sizeof err) < 0 || cache_init(&cs[ncs], &cfg, err, sizeof err) < 0) {
                ffwd_seterr("--cache: '%s': %s", optarg, err);
                for (unsigned i = 0; i < ncs; i++)
                    cache_free(&cs[i]);
                return cli_bad_value(stats_help);
            }
            specs[ncs++] = optarg;
        } else if (c == 'l') {
            if (cli_uint("--line", optarg, 1, 1 << 20, &line) < 0 || (line & (line - 1))) {
                ffwd_seterr("--line: a power of two (got '%s')", optarg);
                return cli_bad_value(stats_help);
            }
        } else if (c == 'j')
            json = true;
        else if (c == 'h') {
            stats_help(stdout);
            return 0;
        } else
            return cli_bad_option(c, argv, stats_help);
    }
    if (optind + 1 != argc)
        return cli_usage(stats_help, "expects one TRACE file");
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
                return cli_bad_value(dump_help);
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            dump_help(stdout);
            return 0;
        } else if (!file && argv[i][0] != '-')
            file = argv[i];
        else if (argv[i][0] == '-')
            return cli_usage(dump_help, !strcmp(argv[i], "--limit") ? "option '--limit' needs a value"
                                                                    : "unknown option '%s'", argv[i]);
        else
            return cli_usage(dump_help, "unexpected argument '%s'", argv[i]);
    }
    if (!file)
        return cli_usage(dump_help, "expects one TRACE file");
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
    if (argc < 2)
        return cli_usage(trace_help, "record, stats or dump?");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        trace_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "record"))
        return trace_record(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats"))
        return trace_stats(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dump"))
        return trace_dump(argc - 1, argv + 1);
    return cli_usage(trace_help, "trace: '%s' is not record, stats or dump", argv[1]);
}
