/*
 * sysreg.h -- AArch64 system register names by encoding (op0, op1, CRn, CRm, op2).
 *
 * QEMU's migration stream keys system registers by KVM-style ids
 * (0x6030000000130000 | op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2); this
 * table gives the architectural name (Arm ARM, "AArch64 System Register
 * Descriptions"). Encodings without a table entry are named in the
 * architecture's generic form S<op0>_<op1>_C<n>_C<m>_<op2>.
 */
#ifndef FFWD_SYSREG_H
#define FFWD_SYSREG_H

#include <stdbool.h>
#include <stdint.h>

struct sysreg_enc {
    unsigned op0, op1, crn, crm, op2;
};

#define KVM_ARM64_SYSREG_PREFIX 0x6030000000130000ULL
#define KVM_ARM64_SYSREG_MASK 0xffffffffffff0000ULL

/* Decode a KVM register id; false when it is not an AArch64 system register. */
bool sysreg_from_kvm_id(uint64_t id, struct sysreg_enc *e);
uint64_t sysreg_kvm_id(struct sysreg_enc e);
/* Name for an encoding, written into buf (always succeeds). */
const char *sysreg_name(struct sysreg_enc e, char *buf, unsigned bufsz);
/* Encoding of a named register; false when the name is unknown. Accepts the
 * generic S3_0_C1_C0_0 form too. */
bool sysreg_lookup(const char *name, struct sysreg_enc *e);

#endif
