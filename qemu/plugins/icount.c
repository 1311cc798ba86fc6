/*
 * icount.c -- ffwd's instruction-counting TCG plugin (QEMU plugin API v4).
 *
 *   -plugin libffwd-icount.so[,out=PATH][,mode=all|user][,roi=on][,range=LO-HI][,process=roi|TTBR0]
 *
 * Counts retired guest instructions per vCPU with an inline add on every
 * instruction (not per translation block), so a block left early by an
 * exception or interrupt is counted exactly. At exit it writes
 *   {"total": N, "vcpus": [n0, n1, ...]}
 * to PATH (or stderr). Cost: one memory add per instruction, no helper call.
 * With a filter (filter.h, as the BBV plugin counts) it also writes
 *   "counted": K, "counted_vcpus": [k0, k1, ...]
 * -- e.g. the instructions of a benchmark's own processes (process=roi).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 insns;
static char *out_path;
static bool filtered; /* a filter option was given: count with filter.h too */

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++)
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(qemu_plugin_tb_get_insn(tb, i),
                                                            QEMU_PLUGIN_INLINE_ADD_U64, insns, 1);
    if (filtered)
        ff_tb_trans(tb);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned v)
{
    (void)id;
    (void)v;
    ff_vcpu_init(); /* the registers the filters need */
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    FILE *f = out_path ? fopen(out_path, "w") : stderr;
    if (!f)
        f = stderr;
    int n = qemu_plugin_num_vcpus();
    fprintf(f, "{\"total\": %llu, \"vcpus\": [", (unsigned long long)qemu_plugin_u64_sum(insns));
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)qemu_plugin_u64_get(insns, (unsigned)i));
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
    qemu_plugin_scoreboard_free(score);
    free(out_path);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-icount", info))
        return -1;
    ff_init("ffwd-icount");
    int k;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4))
            out_path = strdup(argv[i] + 4);
        else if ((k = ff_option(argv[i])) > 0)
            filtered = true;
        else if (k < 0)
            return -1;
        else {
            fprintf(stderr, "ffwd-icount: unknown option '%s' (known: out=PATH, " FF_OPTIONS_HELP ")\n", argv[i]);
            return -1;
        }
    }
    score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
    insns = (qemu_plugin_u64){score, 0};
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    if (filtered)
        qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
