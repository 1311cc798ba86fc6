/* sysreg.c -- see sysreg.h. Encodings from the Arm Architecture Reference Manual. */
#include "sysreg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    unsigned char op0, op1, crn, crm, op2;
} tab[] = {
    /* identification */
    {"MIDR_EL1", 3, 0, 0, 0, 0}, {"MPIDR_EL1", 3, 0, 0, 0, 5}, {"REVIDR_EL1", 3, 0, 0, 0, 6},
    {"ID_PFR0_EL1", 3, 0, 0, 1, 0}, {"ID_PFR1_EL1", 3, 0, 0, 1, 1}, {"ID_DFR0_EL1", 3, 0, 0, 1, 2},
    {"ID_AFR0_EL1", 3, 0, 0, 1, 3}, {"ID_MMFR0_EL1", 3, 0, 0, 1, 4}, {"ID_MMFR1_EL1", 3, 0, 0, 1, 5},
    {"ID_MMFR2_EL1", 3, 0, 0, 1, 6}, {"ID_MMFR3_EL1", 3, 0, 0, 1, 7}, {"ID_ISAR0_EL1", 3, 0, 0, 2, 0},
    {"ID_ISAR1_EL1", 3, 0, 0, 2, 1}, {"ID_ISAR2_EL1", 3, 0, 0, 2, 2}, {"ID_ISAR3_EL1", 3, 0, 0, 2, 3},
    {"ID_ISAR4_EL1", 3, 0, 0, 2, 4}, {"ID_ISAR5_EL1", 3, 0, 0, 2, 5}, {"ID_MMFR4_EL1", 3, 0, 0, 2, 6},
    {"ID_ISAR6_EL1", 3, 0, 0, 2, 7}, {"MVFR0_EL1", 3, 0, 0, 3, 0}, {"MVFR1_EL1", 3, 0, 0, 3, 1},
    {"MVFR2_EL1", 3, 0, 0, 3, 2}, {"ID_PFR2_EL1", 3, 0, 0, 3, 4}, {"ID_DFR1_EL1", 3, 0, 0, 3, 5},
    {"ID_MMFR5_EL1", 3, 0, 0, 3, 6}, {"ID_AA64PFR0_EL1", 3, 0, 0, 4, 0}, {"ID_AA64PFR1_EL1", 3, 0, 0, 4, 1},
    {"ID_AA64ZFR0_EL1", 3, 0, 0, 4, 4}, {"ID_AA64SMFR0_EL1", 3, 0, 0, 4, 5}, {"ID_AA64DFR0_EL1", 3, 0, 0, 5, 0},
    {"ID_AA64DFR1_EL1", 3, 0, 0, 5, 1}, {"ID_AA64AFR0_EL1", 3, 0, 0, 5, 4}, {"ID_AA64AFR1_EL1", 3, 0, 0, 5, 5},
    {"ID_AA64ISAR0_EL1", 3, 0, 0, 6, 0}, {"ID_AA64ISAR1_EL1", 3, 0, 0, 6, 1}, {"ID_AA64ISAR2_EL1", 3, 0, 0, 6, 2},
    {"ID_AA64MMFR0_EL1", 3, 0, 0, 7, 0}, {"ID_AA64MMFR1_EL1", 3, 0, 0, 7, 1}, {"ID_AA64MMFR2_EL1", 3, 0, 0, 7, 2},
    {"CCSIDR_EL1", 3, 1, 0, 0, 0}, {"CLIDR_EL1", 3, 1, 0, 0, 1}, {"AIDR_EL1", 3, 1, 0, 0, 7},
    {"CSSELR_EL1", 3, 2, 0, 0, 0}, {"CTR_EL0", 3, 3, 0, 0, 1}, {"DCZID_EL0", 3, 3, 0, 0, 7},
    /* EL1 control, MMU, exceptions */
    {"SCTLR_EL1", 3, 0, 1, 0, 0}, {"ACTLR_EL1", 3, 0, 1, 0, 1}, {"CPACR_EL1", 3, 0, 1, 0, 2},
    {"TTBR0_EL1", 3, 0, 2, 0, 0}, {"TTBR1_EL1", 3, 0, 2, 0, 1}, {"TCR_EL1", 3, 0, 2, 0, 2},
    {"SPSR_EL1", 3, 0, 4, 0, 0}, {"ELR_EL1", 3, 0, 4, 0, 1}, {"SP_EL0", 3, 0, 4, 1, 0},
    {"ICC_PMR_EL1", 3, 0, 4, 6, 0}, {"AFSR0_EL1", 3, 0, 5, 1, 0}, {"AFSR1_EL1", 3, 0, 5, 1, 1},
    {"ESR_EL1", 3, 0, 5, 2, 0}, {"FAR_EL1", 3, 0, 6, 0, 0}, {"PAR_EL1", 3, 0, 7, 4, 0},
    {"PMINTENSET_EL1", 3, 0, 9, 14, 1}, {"PMINTENCLR_EL1", 3, 0, 9, 14, 2}, {"MAIR_EL1", 3, 0, 10, 2, 0},
    {"AMAIR_EL1", 3, 0, 10, 3, 0}, {"VBAR_EL1", 3, 0, 12, 0, 0}, {"RVBAR_EL1", 3, 0, 12, 0, 1},
    {"RMR_EL1", 3, 0, 12, 0, 2}, {"ISR_EL1", 3, 0, 12, 1, 0}, {"ICC_IAR0_EL1", 3, 0, 12, 8, 0},
    {"ICC_EOIR0_EL1", 3, 0, 12, 8, 1}, {"ICC_HPPIR0_EL1", 3, 0, 12, 8, 2}, {"ICC_BPR0_EL1", 3, 0, 12, 8, 3},
    {"ICC_AP0R0_EL1", 3, 0, 12, 8, 4}, {"ICC_AP0R1_EL1", 3, 0, 12, 8, 5}, {"ICC_AP0R2_EL1", 3, 0, 12, 8, 6},
    {"ICC_AP0R3_EL1", 3, 0, 12, 8, 7}, {"ICC_AP1R0_EL1", 3, 0, 12, 9, 0}, {"ICC_AP1R1_EL1", 3, 0, 12, 9, 1},
    {"ICC_AP1R2_EL1", 3, 0, 12, 9, 2}, {"ICC_AP1R3_EL1", 3, 0, 12, 9, 3}, {"ICC_DIR_EL1", 3, 0, 12, 11, 1},
    {"ICC_RPR_EL1", 3, 0, 12, 11, 3}, {"ICC_SGI1R_EL1", 3, 0, 12, 11, 5}, {"ICC_IAR1_EL1", 3, 0, 12, 12, 0},
    {"ICC_EOIR1_EL1", 3, 0, 12, 12, 1}, {"ICC_HPPIR1_EL1", 3, 0, 12, 12, 2}, {"ICC_BPR1_EL1", 3, 0, 12, 12, 3},
    {"ICC_CTLR_EL1", 3, 0, 12, 12, 4}, {"ICC_SRE_EL1", 3, 0, 12, 12, 5}, {"ICC_IGRPEN0_EL1", 3, 0, 12, 12, 6},
    {"ICC_IGRPEN1_EL1", 3, 0, 12, 12, 7}, {"CONTEXTIDR_EL1", 3, 0, 13, 0, 1}, {"TPIDR_EL1", 3, 0, 13, 0, 4},
    {"CNTKCTL_EL1", 3, 0, 14, 1, 0},
    /* EL0 */
    {"NZCV", 3, 3, 4, 2, 0}, {"DAIF", 3, 3, 4, 2, 1}, {"FPCR", 3, 3, 4, 4, 0}, {"FPSR", 3, 3, 4, 4, 1},
    {"PMCR_EL0", 3, 3, 9, 12, 0}, {"PMCNTENSET_EL0", 3, 3, 9, 12, 1}, {"PMCNTENCLR_EL0", 3, 3, 9, 12, 2},
    {"PMOVSCLR_EL0", 3, 3, 9, 12, 3}, {"PMSWINC_EL0", 3, 3, 9, 12, 4}, {"PMSELR_EL0", 3, 3, 9, 12, 5},
    {"PMCEID0_EL0", 3, 3, 9, 12, 6}, {"PMCEID1_EL0", 3, 3, 9, 12, 7}, {"PMCCNTR_EL0", 3, 3, 9, 13, 0},
    {"PMXEVTYPER_EL0", 3, 3, 9, 13, 1}, {"PMXEVCNTR_EL0", 3, 3, 9, 13, 2}, {"PMUSERENR_EL0", 3, 3, 9, 14, 0},
    {"PMOVSSET_EL0", 3, 3, 9, 14, 3}, {"TPIDR_EL0", 3, 3, 13, 0, 2}, {"TPIDRRO_EL0", 3, 3, 13, 0, 3},
    {"CNTFRQ_EL0", 3, 3, 14, 0, 0}, {"CNTPCT_EL0", 3, 3, 14, 0, 1}, {"CNTVCT_EL0", 3, 3, 14, 0, 2},
    {"CNTP_TVAL_EL0", 3, 3, 14, 2, 0}, {"CNTP_CTL_EL0", 3, 3, 14, 2, 1}, {"CNTP_CVAL_EL0", 3, 3, 14, 2, 2},
    {"CNTV_TVAL_EL0", 3, 3, 14, 3, 0}, {"CNTV_CTL_EL0", 3, 3, 14, 3, 1}, {"CNTV_CVAL_EL0", 3, 3, 14, 3, 2},
    {"PMCCFILTR_EL0", 3, 3, 14, 15, 7},
    /* EL2/EL3 views QEMU keeps even without EL2 */
    {"DACR32_EL2", 3, 4, 3, 0, 0}, {"SPSR_EL2", 3, 4, 4, 0, 0}, {"ELR_EL2", 3, 4, 4, 0, 1},
    {"SP_EL1", 3, 4, 4, 1, 0}, {"SPSR_irq", 3, 4, 4, 3, 0}, {"SPSR_abt", 3, 4, 4, 3, 1},
    {"SPSR_und", 3, 4, 4, 3, 2}, {"SPSR_fiq", 3, 4, 4, 3, 3}, {"IFSR32_EL2", 3, 4, 5, 0, 1},
    {"FPEXC32_EL2", 3, 4, 5, 3, 0}, {"CNTVOFF_EL2", 3, 4, 14, 0, 3}, {"CNTHCTL_EL2", 3, 4, 14, 1, 0},
    {"ACTLR_EL2", 3, 4, 1, 0, 1}, {"ACTLR_EL3", 3, 6, 1, 0, 1}, {"MAIR_EL3", 3, 6, 10, 2, 0},
    {"MDCR_EL3", 3, 6, 1, 3, 1}, {"CNTPS_TVAL_EL1", 3, 7, 14, 2, 0}, {"CNTPS_CTL_EL1", 3, 7, 14, 2, 1},
    {"CNTPS_CVAL_EL1", 3, 7, 14, 2, 2},
    /* Cortex-A57 implementation defined (QEMU's model has them) */
    {"L2CTLR_EL1", 3, 1, 11, 0, 2}, {"L2ECTLR_EL1", 3, 1, 11, 0, 3}, {"L2ACTLR_EL1", 3, 1, 15, 0, 0},
    {"CPUACTLR_EL1", 3, 1, 15, 2, 0}, {"CPUECTLR_EL1", 3, 1, 15, 2, 1}, {"CPUMERRSR_EL1", 3, 1, 15, 2, 2},
    {"L2MERRSR_EL1", 3, 1, 15, 2, 3}, {"CBAR_EL1", 3, 1, 15, 3, 0},
    /* debug */
    {"OSDTRRX_EL1", 2, 0, 0, 0, 2}, {"MDCCINT_EL1", 2, 0, 0, 2, 0}, {"MDSCR_EL1", 2, 0, 0, 2, 2},
    {"OSDTRTX_EL1", 2, 0, 0, 3, 2}, {"OSECCR_EL1", 2, 0, 0, 6, 2}, {"MDRAR_EL1", 2, 0, 1, 0, 0},
    {"OSLAR_EL1", 2, 0, 1, 0, 4}, {"OSLSR_EL1", 2, 0, 1, 1, 4}, {"OSDLR_EL1", 2, 0, 1, 3, 4},
    {"DBGPRCR_EL1", 2, 0, 1, 4, 4}, {"DBGCLAIMSET_EL1", 2, 0, 7, 8, 6}, {"DBGCLAIMCLR_EL1", 2, 0, 7, 9, 6},
    {"DBGAUTHSTATUS_EL1", 2, 0, 7, 14, 6}, {"MDCCSR_EL0", 2, 3, 0, 1, 0}, {"DBGDTR_EL0", 2, 3, 0, 4, 0},
    {"DBGDTRRX_EL0", 2, 3, 0, 5, 0}, {"DBGVCR32_EL2", 2, 4, 0, 7, 0},
};

bool sysreg_from_kvm_id(uint64_t id, struct sysreg_enc *e)
{
    if ((id & KVM_ARM64_SYSREG_MASK) != KVM_ARM64_SYSREG_PREFIX)
        return false;
    unsigned v = (unsigned)(id & 0xffff);
    *e = (struct sysreg_enc){v >> 14 & 3, v >> 11 & 7, v >> 7 & 15, v >> 3 & 15, v & 7};
    return true;
}

uint64_t sysreg_kvm_id(struct sysreg_enc e)
{
    return KVM_ARM64_SYSREG_PREFIX | (uint64_t)(e.op0 << 14 | e.op1 << 11 | e.crn << 7 | e.crm << 3 | e.op2);
}

const char *sysreg_name(struct sysreg_enc e, char *buf, unsigned bufsz)
{
    /* PMU event counters and types: n in CRm[1:0]:op2 */
    if (e.op0 == 3 && e.op1 == 3 && e.crn == 14 && e.crm >= 8 && !(e.crm == 15 && e.op2 == 7)) {
        unsigned n = (e.crm & 3) * 8 + e.op2;
        snprintf(buf, bufsz, "%s%u_EL0", e.crm < 12 ? "PMEVCNTR" : "PMEVTYPER", n);
        return buf;
    }
    /* debug breakpoint/watchpoint registers: n in CRm */
    if (e.op0 == 2 && e.op1 == 0 && e.crn == 0 && e.op2 >= 4) {
        static const char *const k[] = {"DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR"};
        snprintf(buf, bufsz, "%s%u_EL1", k[e.op2 - 4], e.crm);
        return buf;
    }
    for (unsigned i = 0; i < sizeof tab / sizeof *tab; i++)
        if (tab[i].op0 == e.op0 && tab[i].op1 == e.op1 && tab[i].crn == e.crn && tab[i].crm == e.crm &&
            tab[i].op2 == e.op2) {
            snprintf(buf, bufsz, "%s", tab[i].name);
            return buf;
        }
    snprintf(buf, bufsz, "S%u_%u_C%u_C%u_%u", e.op0, e.op1, e.crn, e.crm, e.op2);
    return buf;
}

bool sysreg_lookup(const char *name, struct sysreg_enc *e)
{
    for (unsigned i = 0; i < sizeof tab / sizeof *tab; i++)
        if (!strcasecmp(tab[i].name, name)) {
            *e = (struct sysreg_enc){tab[i].op0, tab[i].op1, tab[i].crn, tab[i].crm, tab[i].op2};
            return true;
        }
    unsigned a, b, c, d, f;
    char tail;
    if (sscanf(name, "S%u_%u_C%u_C%u_%u%c", &a, &b, &c, &d, &f, &tail) == 5 && a <= 3 && b <= 7 && c <= 15 &&
        d <= 15 && f <= 7) {
        *e = (struct sysreg_enc){a, b, c, d, f};
        return true;
    }
    static const char *const k[] = {"DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR"};
    for (unsigned i = 0; i < 4; i++) {
        size_t l = strlen(k[i]);
        if (strncasecmp(name, k[i], l))
            continue;
        char *end;
        unsigned long n = strtoul(name + l, &end, 10);
        if (end != name + l && n < 16 && !strcasecmp(end, "_EL1")) {
            *e = (struct sysreg_enc){2, 0, 0, (unsigned)n, 4 + i};
            return true;
        }
    }
    return false;
}
