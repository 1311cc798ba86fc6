/*
 * profile.h -- the machine profile: the one place that says which machine
 * ffwd runs under QEMU so that stock gem5 can model the same hardware.
 *
 * Everything a later stage needs to know about the machine (addresses,
 * interrupt numbers, queue sizes, CPU model) is in struct ffwd_profile and
 * the constants below; the QEMU command line is generated from it
 * (qemu_argv.c) and `ffwd boot --print-profile` prints it. Rationale for
 * each choice: docs/machine-profile.md.
 */
#ifndef FFWD_PROFILE_H
#define FFWD_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"

/* QEMU virt memory map (hw/arm/virt.c, stable since QEMU 2.x). */
#define VIRT_RAM_BASE 0x40000000ULL
#define VIRT_GICD_BASE 0x08000000ULL
#define VIRT_GICC_BASE 0x08010000ULL  /* GICv2 CPU interface */
#define VIRT_GICR_BASE 0x080a0000ULL  /* GICv3 redistributors */
#define VIRT_GICR_STRIDE 0x20000ULL   /* GICv3 (no GICv4 VLPI frames) */
#define VIRT_UART_BASE 0x09000000ULL
#define VIRT_UART_INTID 33            /* SPI 1 */
#define VIRT_RTC_BASE 0x09010000ULL
#define VIRT_RTC_INTID 34             /* SPI 2 */
#define VIRT_MMIO_BASE 0x0a000000ULL
#define VIRT_MMIO_STRIDE 0x200ULL
#define VIRT_MMIO_COUNT 32
#define VIRT_MMIO_INTID0 48           /* SPI 16 + n */
#define VIRT_GIC_IT_LINES 288         /* 256 SPIs + 32 */
#define VIRT_PPI_VIRT_TIMER 27
#define VIRT_PPI_PHYS_TIMER 30
#define VIRT_PPI_SEC_PHYS_TIMER 29
#define VIRT_PPI_HYP_TIMER 26
#define VIRT_PPI_MAINT 25

#define FFWD_MAX_CPUS 16 /* gem5 reproduces QEMU's MPIDRs only up to 16 (GICv3) */
#define FFWD_MAX_CPUS_GICV2 8

struct ffwd_profile {
    const char *machine;          /* "virt" */
    int gic_version;              /* 3 (default) or 2 */
    bool its;                     /* GICv3 ITS: off (no LPIs; gem5 config has none) */
    const char *cpu;              /* "cortex-a57": ARMv8.0, no PAuth/SVE/SME/LSE */
    bool pmu;                     /* off: gem5's PMU differs; nothing to save */
    unsigned smp;                 /* vCPUs */
    uint64_t mem_bytes;           /* RAM at VIRT_RAM_BASE */
    const char *accel;            /* "tcg" or "kvm" */
    bool dtb_randomness;          /* off: no random kaslr-seed/rng-seed from QEMU -> reproducible boots */
    uint64_t rng_seed;            /* seed of /chosen/rng-seed (--rng-seed; default 0) */
    unsigned rng_seed_bytes;      /* 64: the guest's RNG is ready at boot (0: none) */
    unsigned virtio_queue_size;   /* 1024 = legacy virtio-mmio QueueNumMax; gem5 queueSize */
    bool virtio_event_idx;        /* off: gem5's VirtIO has no EVENT_IDX */
    bool virtio_indirect_desc;    /* off: gem5's VirtIO has no INDIRECT_DESC */
    bool virtio_discard;          /* off: gem5 answers DISCARD/WRITE_ZEROES unsupported */
    bool virtio_legacy;           /* on: gem5's MmioVirtIO is version 1 only */
    const char *append_base;      /* kernel command line always passed */
    bool icount;                  /* -icount shift=0,sleep=off: deterministic runs */
};

/* The default profile (GICv3, cortex-a57, 1 CPU, 512 MiB, TCG). */
void ffwd_profile_default(struct ffwd_profile *p);
/* Bytes of /chosen/rng-seed this profile boots with (0: none). QEMU fills
 * them at reset from its -seed generator (see qemu/vm.c), deterministic runs
 * included. */
unsigned ffwd_profile_rng_seed_bytes(const struct ffwd_profile *p);
/* Check values (CPU count limits etc.); error names the field. */
int ffwd_profile_check(const struct ffwd_profile *p);
/* Base address / INTID of the virtio-mmio transport used by disk i
 * (QEMU gives the first -device the highest transport). */
uint64_t ffwd_profile_disk_mmio_base(unsigned i);
unsigned ffwd_profile_disk_intid(unsigned i);
/* Print the profile as "key = value" lines, or as JSON. */
void ffwd_profile_print(const struct ffwd_profile *p, struct sbuf *out, bool json);

#endif
