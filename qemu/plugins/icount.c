/*
 * icount.c -- ffwd's instruction-counting TCG plugin (QEMU plugin API v4).
 *
 *   -plugin libffwd-icount.so[,out=PATH][,mode=all|user][,roi=on][,range=LO-HI][,process=roi|TTBR0]
 *                            [,count=tb|insn]
 *
 * Counts the guest instructions started per vCPU, exactly: by default one
 * inline add per translation block of user code and a correction at the
 * synchronous exception vector for a block left early, one per instruction
 * in the kernel (filter.h, "per-block counting");
 * count=insn adds per instruction instead (what `--deterministic` runs use:
 * icount's I/O recompiles leave a block early without an exception). Both
 * give the same count -- a faulting instruction counts for its try and again
 * when it runs. At exit it writes
 *   {"total": N, "vcpus": [n0, n1, ...]}
 * to PATH (or stderr). With a filter (filter.h, as the BBV plugin counts) it
 * also writes
 *   "counted": K, "counted_vcpus": [k0, k1, ...]
 * -- e.g. the instructions of a benchmark's own processes (process=roi).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

static char *out_path;
static bool filtered; /* a filter option was given: count with filter.h too */

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    ff_tb_trans(tb);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned v)
{
    (void)id;
    (void)v;
    ff_vcpu_init(); /* the registers the filters and the correction need */
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    FILE *f = out_path ? fopen(out_path, "w") : stderr;
    if (!f)
        f = stderr;
    int n = qemu_plugin_num_vcpus();
    fprintf(f, "{\"total\": %llu, \"vcpus\": [", (unsigned long long)ff_all_sum());
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)ff_all((unsigned)i));
    fprintf(f, "]");
    if (filtered) {
        uint64_t sum = 0;
        for (int i = 0; i < n; i++) {
            ff_update((unsigned)i);
            sum += ff_counted((unsigned)i);
        }
        fprintf(f, ", \"counted\": %llu, \"counted_vcpus\": [", (unsigned long long)sum);
        for (int i = 0; i < n; i++)
            fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)ff_counted((unsigned)i));
        fprintf(f, "]");
    }
    fprintf(f, "}\n");
    if (f != stderr)
        fclose(f);
    free(out_path);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-icount", info))
        return -1;
    ff_init("ffwd-icount");
    ff_count_per_block();
    int k;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4))
            out_path = strdup(argv[i] + 4);
        else if ((k = ff_option(argv[i])) > 0)
            filtered = filtered || strncmp(argv[i], "count=", 6) != 0;
        else if (k < 0)
            return -1;
        else {
            fprintf(stderr, "ffwd-icount: unknown option '%s' (known: out=PATH, " FF_OPTIONS_HELP ")\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
