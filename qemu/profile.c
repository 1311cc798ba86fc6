/* profile.c -- the machine profile (see profile.h and docs/machine-profile.md). */
#include "profile.h"

#include <jansson.h>
#include <string.h>

void ffwd_profile_default(struct ffwd_profile *p)
{
    memset(p, 0, sizeof *p);
    p->machine = "virt";
    p->gic_version = 3;
    p->its = false;
    p->cpu = "cortex-a57";
    p->pmu = false;
    p->smp = 1;
    p->mem_bytes = 512ULL << 20;
    p->accel = "tcg";
    p->dtb_randomness = false;
    p->rng_seed = 0;
    p->rng_seed_bytes = 64;
    p->virtio_queue_size = 1024;
    p->virtio_event_idx = false;
    p->virtio_indirect_desc = false;
    p->virtio_discard = false;
    p->virtio_legacy = true;
    p->append_base = "console=ttyAMA0 nokaslr norandmaps panic=-1";
    p->icount = false;
}

unsigned ffwd_profile_rng_seed_bytes(const struct ffwd_profile *p) { return p->rng_seed_bytes; }

int ffwd_profile_check(const struct ffwd_profile *p)
{
    if (p->gic_version != 2 && p->gic_version != 3)
        return ffwd_seterr("profile: gic (--gic) must be 2 or 3 (got %d)", p->gic_version);
    unsigned max = p->gic_version == 3 ? FFWD_MAX_CPUS : FFWD_MAX_CPUS_GICV2;
    if (p->smp < 1 || p->smp > max)
        return ffwd_seterr("profile: smp (--smp) must be 1..%u with GICv%d (got %u): beyond that gem5 cannot "
                           "reproduce QEMU's CPU affinities",
                           max, p->gic_version, p->smp);
    if (p->mem_bytes < (64ULL << 20) || p->mem_bytes % (1 << 20))
        return ffwd_seterr("profile: mem (--mem) must be a whole number of MiB, at least 64M");
    if (p->mem_bytes > (255ULL << 30))
        return ffwd_seterr("profile: mem (--mem) larger than 255G does not fit the virt memory map");
    if (strcmp(p->accel, "tcg") && strcmp(p->accel, "kvm"))
        return ffwd_seterr("profile: accel must be tcg or kvm (got '%s')", p->accel);
    if (p->icount && strcmp(p->accel, "tcg"))
        return ffwd_seterr("profile: deterministic (--deterministic, icount) runs need accel tcg (--accel tcg)");
    return 0;
}

uint64_t ffwd_profile_disk_mmio_base(unsigned i)
{
    return VIRT_MMIO_BASE + VIRT_MMIO_STRIDE * (VIRT_MMIO_COUNT - 1 - i);
}

unsigned ffwd_profile_disk_intid(unsigned i) { return VIRT_MMIO_INTID0 + (VIRT_MMIO_COUNT - 1 - i); }

void ffwd_profile_print(const struct ffwd_profile *p, struct sbuf *out, bool json)
{
    json_t *o = json_object();
    json_object_set_new(o, "machine", json_string(p->machine));
    json_object_set_new(o, "gic_version", json_integer(p->gic_version));
    json_object_set_new(o, "gic_its", json_boolean(p->its));
    json_object_set_new(o, "cpu", json_string(p->cpu));
    json_object_set_new(o, "pmu", json_boolean(p->pmu));
    json_object_set_new(o, "smp", json_integer(p->smp));
    json_object_set_new(o, "mem_bytes", json_integer((json_int_t)p->mem_bytes));
    json_object_set_new(o, "accel", json_string(p->accel));
    json_object_set_new(o, "icount", json_boolean(p->icount));
    json_object_set_new(o, "dtb_randomness", json_boolean(p->dtb_randomness));
    unsigned seed_bytes = ffwd_profile_rng_seed_bytes(p);
    json_object_set_new(o, "dtb_rng_seed",
                        json_string(seed_bytes ? "fixed, from --rng-seed (QEMU -seed)" : "none (--rng-seed off)"));
    json_object_set_new(o, "rng_seed", json_integer((json_int_t)p->rng_seed));
    json_object_set_new(o, "rng_seed_bytes", json_integer(seed_bytes));
    json_object_set_new(o, "kernel_cmdline_base", json_string(p->append_base));
    json_object_set_new(o, "boot", json_string("direct -kernel, no firmware; PSCI via hvc"));
    json_object_set_new(o, "ram_base", json_integer((json_int_t)VIRT_RAM_BASE));
    json_object_set_new(o, "gicd_base", json_integer((json_int_t)VIRT_GICD_BASE));
    if (p->gic_version == 3) {
        json_object_set_new(o, "gicr_base", json_integer((json_int_t)VIRT_GICR_BASE));
        json_object_set_new(o, "gicr_stride", json_integer((json_int_t)VIRT_GICR_STRIDE));
    } else {
        json_object_set_new(o, "gicc_base", json_integer((json_int_t)VIRT_GICC_BASE));
    }
    json_object_set_new(o, "gic_it_lines", json_integer(VIRT_GIC_IT_LINES));
    json_object_set_new(o, "uart_pl011_base", json_integer((json_int_t)VIRT_UART_BASE));
    json_object_set_new(o, "uart_intid", json_integer(VIRT_UART_INTID));
    json_object_set_new(o, "rtc_pl031_base", json_integer((json_int_t)VIRT_RTC_BASE));
    json_object_set_new(o, "rtc_intid", json_integer(VIRT_RTC_INTID));
    json_object_set_new(o, "timer_ppis", json_pack("{s:i,s:i,s:i,s:i}", "virt", VIRT_PPI_VIRT_TIMER, "phys_ns",
                                                   VIRT_PPI_PHYS_TIMER, "phys_s", VIRT_PPI_SEC_PHYS_TIMER,
                                                   "hyp", VIRT_PPI_HYP_TIMER));
    json_object_set_new(o, "disk0_virtio_mmio_base", json_integer((json_int_t)ffwd_profile_disk_mmio_base(0)));
    json_object_set_new(o, "disk0_intid", json_integer(ffwd_profile_disk_intid(0)));
    json_object_set_new(o, "virtio_transport", json_string(p->virtio_legacy ? "virtio-mmio legacy (version 1)"
                                                                           : "virtio-mmio version 2"));
    json_object_set_new(o, "virtio_queue_size", json_integer(p->virtio_queue_size));
    json_object_set_new(o, "virtio_event_idx", json_boolean(p->virtio_event_idx));
    json_object_set_new(o, "virtio_indirect_desc", json_boolean(p->virtio_indirect_desc));
    json_object_set_new(o, "virtio_discard_write_zeroes", json_boolean(p->virtio_discard));
    json_object_set_new(o, "dtb_removed_nodes",
                        json_string("pcie, fw-cfg, flash, pl061 gpio, gpio-keys, platform-bus, unused virtio-mmio"));
    if (json) {
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        sbuf_addf(out, "%s\n", s);
        free(s);
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            if (json_is_string(v))
                sbuf_addf(out, "%-28s %s\n", key, json_string_value(v));
            else if (json_is_boolean(v))
                sbuf_addf(out, "%-28s %s\n", key, json_is_true(v) ? "on" : "off");
            else if (json_is_integer(v)) {
                json_int_t x = json_integer_value(v);
                if (strstr(key, "base") || strstr(key, "stride"))
                    sbuf_addf(out, "%-28s 0x%llx\n", key, (unsigned long long)x);
                else
                    sbuf_addf(out, "%-28s %lld\n", key, (long long)x);
            } else {
                char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                sbuf_addf(out, "%-28s %s\n", key, s);
                free(s);
            }
        }
    }
    json_decref(o);
}
