/*
 * gem5src.h -- gem5's ARM misc-register numbering, from a gem5 source tree
 * or from ffwd's built-in table for gem5 v24.0.
 *
 * gem5 serialises misc registers as `key=value` in [<cpu>.isa.miscRegs],
 * one key per physical register (src/arch/arm/regs/misc.hh: enum
 * MiscRegIndex and miscRegName[], NUM_PHYS_MISCREGS of them). Many AArch64
 * registers have no storage of their own: misc.cc's InitReg(...) blocks map
 * them onto AArch32 slots (`.mapsTo(L)` = all 64 bits in L, `.mapsTo(L, U)` =
 * bits 31:0 in L and 63:32 in U) or bank them (`.banked64()` = use the next
 * enum entry, the Non-secure copy, on a system without EL3). This module
 * resolves, for every AArch64 register by its architectural name
 * ("SCTLR_EL1"), the key(s) that hold it ("sctlr_ns").
 */
#ifndef FFWD_GEM5SRC_H
#define FFWD_GEM5SRC_H

#include <stddef.h>
#include <stdio.h>

struct gem5_reg_map {
    const char *reg; /* architectural AArch64 name, e.g. "MAIR_EL1" */
    const char *lo;  /* key of bits 31:0 (or all 64 bits when hi is NULL) */
    const char *hi;  /* key of bits 63:32, or NULL */
};

struct gem5_miscregs {
    const char *version;      /* "v24.0 (built in)" or the source tree path */
    size_t nphys;             /* NUM_PHYS_MISCREGS: keys 0..nphys-1 are serialised */
    const char *const *keys;  /* miscRegName[], nphys entries used */
    size_t nmap;
    const struct gem5_reg_map *map;
    void *owned;              /* storage when parsed from a tree */
    const char *gem5_version; /* src/base/version.cc's gem5Version ("24.0.0.1"), "unknown" if absent */
};

/* ffwd's built-in table for stock gem5 v24.0.0.1. */
const struct gem5_miscregs *gem5_miscregs_v24(void);
/* Parse src/arch/arm/regs/misc.hh and misc.cc of a gem5 tree. */
int gem5_miscregs_parse(const char *gem5_src, struct gem5_miscregs *out);
void gem5_miscregs_free(struct gem5_miscregs *m);
/* The mapping of one AArch64 register, or NULL. */
const struct gem5_reg_map *gem5_miscregs_find(const struct gem5_miscregs *m, const char *reg);
/* Is `key` one of the serialised keys? */
int gem5_miscregs_has_key(const struct gem5_miscregs *m, const char *key);
/* Write the table as C source (to regenerate the built-in table). */
void gem5_miscregs_emit_c(const struct gem5_miscregs *m, FILE *f);

#endif
