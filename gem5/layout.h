/*
 * layout.h -- the object paths of the gem5 configuration that will restore a
 * checkpoint.
 *
 * gem5 finds a checkpoint's state by object path (`[system.cpu.xc.0]`,
 * `[board.processor.start.core.xc.0]`) and SILENTLY skips a section whose
 * object it does not have (SimObject::loadState): a name that does not match
 * restores reset state instead of failing. So the writer fills the template's
 * sections under the legacy names of gem5/ffwd_restore.py and then renames
 * them for the configuration that will restore them:
 *
 *   legacy              system, system.cpu<i>, system.realview (ffwd_restore.py)
 *   stdlib              board, board.processor.cores<i>.core, board.realview
 *                       (gem5/ffwd_board.py with a SimpleProcessor)
 *   stdlib-switchable   board, board.processor.start<i>.core, board.realview
 *                       (ffwd_board.py with a SimpleSwitchableProcessor)
 *   CONFIG.INI          derived from the config.ini of a zero-tick dry run of
 *                       the user's own configuration: its ArmSystem, its
 *                       switched-in CPUs by cpu_id, the parent of its GIC
 *
 * <i> follows gem5's rule for lists of SimObjects (no index for a list of
 * one, else ceil(log10 n) digits). The sections of the legacy script's own
 * SimpleMemory and memory bus carry only reset state and are dropped in the
 * other layouts: those objects belong to the user's memory and caches.
 *
 * Every section that remains must belong to an object of the configuration:
 * the section is an object's path, or an object's path plus one of the
 * sub-sections gem5's objects write themselves (xc.N, miscRegs, physmem,
 * physmem.storeN, distributor, redistributors.N, cpuInterface.N, bankedRegsN,
 * _queues.N, pe_implementationN, globals). gem5_layout_check() applies that
 * rule against a config.ini; gem5/ffwd_board.py applies it again in gem5,
 * after instantiation and before the first tick.
 */
#ifndef FFWD_GEM5_LAYOUT_H
#define FFWD_GEM5_LAYOUT_H

#include "ini.h"

struct gem5_layout {
    char *name;     /* "legacy", "stdlib", "stdlib-switchable", or the config.ini path */
    char *system;   /* the ArmSystem: "system", "board" */
    char *platform; /* the RealView holding gic, uart, rtc, timer, vio */
    char **cpus;    /* ncpu paths of the switched-in CPUs, by cpu_id */
    unsigned ncpu;
    int legacy;     /* keep the legacy script's own memory and bus sections */
    int from_config; /* derived from a config.ini (name is its path) */
};

/* name: legacy | stdlib | stdlib-switchable, or a path to a config.ini
 * (anything else containing '/' or ending in .ini). gicv: 2 or 3. */
int gem5_layout_get(const char *name, unsigned ncpu, int gicv, struct gem5_layout *out);
void gem5_layout_free(struct gem5_layout *l);

/* gem5's name of element i of a list of n SimObjects called base */
char *gem5_list_name(const char *base, unsigned i, unsigned n);

/* Rename the sections of a checkpoint written under the legacy names (ncpu
 * CPUs) for layout l. */
void gem5_layout_apply(struct ini *cpt, const struct gem5_layout *l);

/* Every section of cpt belongs to an object of the configuration in
 * config.ini, of the right type where ffwd knows it; the error names the
 * first section that does not. */
int gem5_layout_check(const struct ini *cpt, const char *config_ini);

/* The file names of the memory and disk images gem5 reads for layout l
 * (named after the objects that own them). */
char *gem5_layout_pmem_name(const struct gem5_layout *l);
char *gem5_layout_cow_name(const struct gem5_layout *l);
/* How a checkpoint in layout l is restored (ffwd-checkpoint.json's "run"). */
const char *gem5_layout_run_hint(const struct gem5_layout *l);
/* l as ffwd-checkpoint.json records it: {name, system, platform, cpus}. */
struct json_t;
struct json_t *gem5_layout_json(const struct gem5_layout *l);

/* A legacy-layout checkpoint src (ffwd convert's output) relabelled for
 * layout `layout` into the new checkpoint dst: m5.cpt renamed and checked as
 * gem5_layout_check does for a config.ini, ffwd-checkpoint.json updated, the
 * memory and disk images hard-linked (symlinked across file systems). dst
 * appears complete or not at all. */
int gem5_checkpoint_relayout(const char *src, const char *layout, const char *dst);

#endif
