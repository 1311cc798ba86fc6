/*
 * insnclass.h -- AArch64 instruction classes from the encoding, by the
 * top-level decode groups of the Arm ARM (C4.1): what the online model
 * counts per interval.
 *
 *   op0 = bits 28:25   100x data processing (immediate)   -> ALU
 *                      101x branches, exceptions, system  -> BRANCH (B, BL, B.cond, CBZ/CBNZ,
 *                                                           TBZ/TBNZ, BR, BLR, RET) or OTHER
 *                      x1x0 loads and stores              -> LOAD or STORE (atomics: LOAD)
 *                      x101 data processing (register)    -> ALU, or MULDIV (3-source
 *                                                           multiply, UDIV/SDIV)
 *                      x111 SIMD and floating point       -> FPSIMD
 */
#ifndef FFWD_MODEL_INSNCLASS_H
#define FFWD_MODEL_INSNCLASS_H

#include <stdint.h>

enum insn_class { IC_ALU, IC_MULDIV, IC_FPSIMD, IC_LOAD, IC_STORE, IC_BRANCH, IC_OTHER, IC_N };

static const char *const insn_class_names[IC_N] = {"alu", "muldiv", "fpsimd", "load", "store", "branch", "other"};

static inline enum insn_class insn_classify(uint32_t w)
{
    unsigned op0 = (w >> 25) & 0xf;
    if ((op0 & 0xe) == 0x8)
        return IC_ALU;
    if ((op0 & 0xe) == 0xa) {
        if ((w & 0x7c000000u) == 0x14000000u) /* B, BL */
            return IC_BRANCH;
        if ((w & 0xff000010u) == 0x54000000u) /* B.cond */
            return IC_BRANCH;
        if ((w & 0x7e000000u) == 0x34000000u || (w & 0x7e000000u) == 0x36000000u) /* CBZ/CBNZ, TBZ/TBNZ */
            return IC_BRANCH;
        if ((w & 0xfe000000u) == 0xd6000000u) /* BR, BLR, RET, ERET (unconditional register) */
            return IC_BRANCH;
        return IC_OTHER; /* system, exception generation, hints, barriers */
    }
    if ((op0 & 0x5) == 0x4) {
        if ((w & 0x3b000000u) == 0x18000000u) /* LDR (literal) */
            return IC_LOAD;
        if ((w & 0x3b200c00u) == 0x38200000u) /* atomic memory operations (LDADD, SWP, ...) */
            return IC_LOAD;
        return (w >> 22) & 1 ? IC_LOAD : IC_STORE;
    }
    if ((op0 & 0x7) == 0x5) {
        if ((w & 0x1f000000u) == 0x1b000000u) /* data processing, 3 source: MADD/MSUB/SMULH/... */
            return IC_MULDIV;
        if ((w & 0x5fe0f800u) == 0x1ac00800u) /* UDIV / SDIV */
            return IC_MULDIV;
        return IC_ALU;
    }
    if ((op0 & 0x7) == 0x7)
        return IC_FPSIMD;
    return IC_OTHER;
}

#endif
