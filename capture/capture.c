/* capture.c -- see capture.h and docs/capture-format.md. */
#define _GNU_SOURCE
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../qemu/profile.h"
#include "cjson.h"
#include "delta.h"
#include "migstream.h"
#include "qcow2vm.h"
#include "ram.h"
#include "sysreg.h"

static json_t *jhex(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%" PRIx64, v);
    return json_string(b);
}

static json_t *jhex_array(const struct mig_field *f)
{
    json_t *a = json_array();
    for (size_t i = 0; f && i < f->count; i++)
        json_array_append_new(a, jhex(mig_u64(f, i)));
    return a;
}

static json_t *jhex_array_n(const struct mig_field *f, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; f && i < f->count && i < n; i++)
        json_array_append_new(a, jhex(mig_u64(f, i)));
    return a;
}

/* ---- file writing with size + CRC-32 bookkeeping ---- */
struct files {
    const char *dir;
    json_t *list; /* name -> {size, crc32} */
};

static int put_file(struct files *fs, const char *name, const void *data, size_t len)
{
    char *p = xasprintf("%s/%s", fs->dir, name);
    int r = write_file_atomic(p, data, len, 0644);
    free(p);
    if (r < 0)
        return -1;
    json_object_set_new(fs->list, name,
                        json_pack("{s:I,s:o}", "size", (json_int_t)len, "crc32",
                                  jhex(libdeflate_crc32(0, data, len))));
    return 0;
}

static int put_json(struct files *fs, const char *name, json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!s)
        return ffwd_seterr("cannot encode %s", name);
    size_t n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n++] = '\n';
    int r = put_file(fs, name, s, n);
    free(s);
    return r;
}

/* ---- CPU ---- */
static json_t *cpu_json(const struct mig_stream *m, unsigned idx, const struct ffwd_profile *prof, uint64_t *cntfrq)
{
    const struct mig_device *c = mig_device(m, "cpu", idx);
    const struct mig_device *cc = mig_device(m, "cpu_common", idx);
    if (!c) {
        ffwd_seterr("the migration stream has no state for vCPU %u", idx);
        return NULL;
    }
    const struct mig_field *xr = mig_field(c, "env.xregs", 0), *pc = mig_field(c, "env.pc", 0),
                           *cpsr = mig_field(c, "cpsr", 0), *spel = mig_field(c, "env.sp_el", 0),
                           *elr = mig_field(c, "env.elr_el", 0), *bspsr = mig_field(c, "env.banked_spsr", 0),
                           *idxs = mig_field(c, "cpreg_vmstate_indexes", 0),
                           *vals = mig_field(c, "cpreg_vmstate_values", 0);
    if (!xr || xr->count != 32 || !pc || !cpsr || !spel || !elr || !bspsr || !idxs || !vals ||
        idxs->count != vals->count) {
        ffwd_seterr("vCPU %u: the migration stream lacks core registers (QEMU version not supported?)", idx);
        return NULL;
    }
    uint64_t pstate = mig_u64(cpsr, 0);
    bool aarch64 = !(pstate & 0x10);
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer(idx));
    unsigned cl = prof->gic_version == 3 ? 16 : 8;
    json_object_set_new(o, "mpidr", jhex(0x80000000ULL | ((uint64_t)(idx / cl) << 8) | (idx % cl)));
    json_object_set_new(o, "aarch64", json_boolean(aarch64));
    json_object_set_new(o, "el", json_integer(aarch64 ? (int)(pstate >> 2 & 3) : -1));
    json_object_set_new(o, "sp_sel", json_integer((int)(pstate & 1)));
    json_object_set_new(o, "halted", json_boolean(cc && mig_u64(mig_field(cc, "halted", 0), 0) != 0));
    json_object_set_new(o, "pc", jhex(mig_u64(pc, 0)));
    json_object_set_new(o, "pstate", jhex(pstate));
    json_object_set_new(o, "sp", jhex(mig_u64(xr, 31))); /* QEMU keeps the live SP in xregs[31] */
    json_object_set_new(o, "x", jhex_array_n(xr, 31));
    json_object_set_new(o, "sp_el", jhex_array(spel));
    json_object_set_new(o, "elr_el", jhex_array(elr));
    /* QEMU's banked_spsr: index 1 = EL1 (svc), 6 = EL2 (hyp), 7 = EL3 (mon) */
    json_object_set_new(o, "spsr_el", json_pack("{s:o,s:o,s:o}", "el1", jhex(mig_u64(bspsr, 1)), "el2",
                                                 jhex(mig_u64(bspsr, 6)), "el3", jhex(mig_u64(bspsr, 7))));
    json_object_set_new(o, "spsr_banked_raw", jhex_array(bspsr));
    json_t *v = json_array();
    for (int r = 0; r < 32; r++) {
        char nm[32];
        snprintf(nm, sizeof nm, "env.vfp.zregs[%d].d", r);
        const struct mig_field *z = mig_field(c, nm, 0);
        char b[40];
        snprintf(b, sizeof b, "0x%016" PRIx64 "%016" PRIx64, mig_u64(z, 1), mig_u64(z, 0));
        json_array_append_new(v, json_string(b));
    }
    json_object_set_new(o, "v", v);
    uint64_t fpscr = mig_u64(mig_field(c, "fpscr", 0), 0);
    json_object_set_new(o, "fpsr", jhex(fpscr & 0xf800009fULL));
    json_object_set_new(o, "fpcr", jhex(fpscr & 0x07ff9f00ULL));
    json_t *sys = json_array(), *a32 = json_array();
    for (size_t i = 0; i < idxs->count; i++) {
        uint64_t id = mig_u64(idxs, i), val = mig_u64(vals, i);
        struct sysreg_enc e;
        if (sysreg_from_kvm_id(id, &e)) {
            char nm[48];
            sysreg_name(e, nm, sizeof nm);
            if (!strcmp(nm, "CNTFRQ_EL0") && cntfrq)
                *cntfrq = val;
            json_array_append_new(sys, json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:o}", "name", nm, "op0", e.op0, "op1",
                                                 e.op1, "crn", e.crn, "crm", e.crm, "op2", e.op2, "value",
                                                 jhex(val)));
        } else
            json_array_append_new(a32, json_pack("{s:o,s:o}", "kvm_id", jhex(id), "value", jhex(val)));
    }
    json_object_set_new(o, "sysregs", sys);
    json_object_set_new(o, "aarch32_cpregs", a32);
    json_object_set_new(o, "exclusive_addr", jhex(mig_u64(mig_field(c, "env.exclusive_addr", 0), 0)));
    json_object_set_new(o, "irq_line_state", jhex(mig_u64(mig_field(c, "env.irq_line_state", 0), 0)));
    json_object_set_new(o, "qemu_timer_expiry_ns",
                        json_pack("{s:o,s:o}", "phys", jhex(mig_u64(mig_field(c, "gt_timer[GTIMER_PHYS]", 0), 0)),
                                  "virt", jhex(mig_u64(mig_field(c, "gt_timer[GTIMER_VIRT]", 0), 0))));
    return o;
}

/* An exact stop (an instruction count) that falls on the entry of an
 * interrupt taken from EL0 -- the vector's first instruction not run yet:
 * the interrupt was raised while the trigger held the vCPU (host time runs
 * until QEMU is asked to stop, and QEMU takes a pending interrupt at the
 * block boundary before it looks at the stop request). Taking it changed
 * only PC, PSTATE (and SP selection), ELR_EL1 and SPSR_EL1; the interrupt
 * is still pending in the GIC (the handler has not acknowledged it). So the
 * state right before it is PC = ELR_EL1, PSTATE = SPSR_EL1 with SP_EL0 live:
 * the instruction the count meant, in user mode, with the interrupt
 * pending -- taken first thing after a restore. Returns whether it undid. */
static bool undo_irq_entry(json_t *cpu)
{
    if (json_integer_value(json_object_get(cpu, "el")) != 1 || !json_is_true(json_object_get(cpu, "aarch64")))
        return false;
    int found = 0;
    uint64_t vbar = cj_sysreg(cpu, "VBAR_EL1", &found), pc = cj_hex(cpu, "pc");
    uint64_t base = vbar & ~0x7ffULL, off = pc - base;
    uint64_t spsr = cj_hex(json_object_get(cpu, "spsr_el"), "el1");
    uint64_t elr = cj_hex_at(json_object_get(cpu, "elr_el"), 1);
    /* IRQ (0x480) or FIQ (0x500) from a lower EL in AArch64, to EL0t */
    if (!found || pc < base || (off != 0x480 && off != 0x500) || (spsr & 0x1f) != 0)
        return false;
    json_t *u = json_pack("{s:s,s:o,s:o}", "kind", off == 0x480 ? "irq" : "fiq", "vector_pc", cj_hexval(pc),
                          "vector_pstate", json_incref(json_object_get(cpu, "pstate")));
    json_object_set_new(cpu, "interrupt_entry_undone", u);
    json_object_set_new(cpu, "pc", cj_hexval(elr));
    json_object_set_new(cpu, "pstate", cj_hexval(spsr));
    json_object_set_new(cpu, "el", json_integer(0));
    json_object_set_new(cpu, "sp_sel", json_integer(0));
    json_object_set_new(cpu, "sp", cj_hexval(cj_hex_at(json_object_get(cpu, "sp_el"), 0)));
    return true;
}

/* ---- GIC ---- */
static json_t *gicv3_json(const struct mig_stream *m, unsigned ncpu)
{
    const struct mig_device *g = mig_device(m, "arm_gicv3", 0);
    if (!g) {
        ffwd_seterr("the migration stream has no arm_gicv3 state");
        return NULL;
    }
    json_t *d = json_object();
    json_object_set_new(d, "ctlr", jhex(mig_u64(mig_field(g, "gicd_ctlr", 0), 0)));
    static const char *const bm[][2] = {{"group", "igroupr"},   {"grpmod", "igrpmodr"},     {"enabled", "isenabler"},
                                        {"pending", "ispendr"}, {"active", "isactiver"},    {"level", "level"},
                                        {"edge_trigger", "edge_trigger"}};
    for (size_t i = 0; i < sizeof bm / sizeof *bm; i++)
        json_object_set_new(d, bm[i][1], jhex_array(mig_field(g, bm[i][0], 0)));
    json_object_set_new(d, "ipriority", jhex_array(mig_field(g, "gicd_ipriority", 0)));
    json_object_set_new(d, "irouter", jhex_array(mig_field(g, "gicd_irouter", 0)));
    json_object_set_new(d, "nsacr", jhex_array(mig_field(g, "gicd_nsacr", 0)));
    json_t *rd = json_array(), *ci = json_array();
    for (unsigned c = 0; c < ncpu; c++) {
        if (!mig_field(g, "gicr_ctlr", c)) {
            json_decref(d);
            json_decref(rd);
            json_decref(ci);
            ffwd_seterr("arm_gicv3 state has no redistributor for vCPU %u", c);
            return NULL;
        }
        json_t *r = json_object();
#define G1(key, f) json_object_set_new(r, key, jhex(mig_u64(mig_field(g, f, c), 0)))
        G1("ctlr", "gicr_ctlr");
        G1("waker", "gicr_waker");
        G1("propbaser", "gicr_propbaser");
        G1("pendbaser", "gicr_pendbaser");
        G1("igroupr0", "gicr_igroupr0");
        G1("isenabler0", "gicr_ienabler0");
        G1("ispendr0", "gicr_ipendr0");
        G1("isactiver0", "gicr_iactiver0");
        G1("igrpmodr0", "gicr_igrpmodr0");
        G1("edge_trigger", "edge_trigger");
        G1("nsacr", "gicr_nsacr");
        G1("level", "level");
#undef G1
        json_object_set_new(r, "ipriorityr", jhex_array(mig_field(g, "gicr_ipriorityr", c)));
        json_array_append_new(rd, r);
        json_t *i = json_object();
        json_object_set_new(i, "ctlr_el1", jhex_array(mig_field(g, "icc_ctlr_el1", c)));   /* [S, NS] */
        json_object_set_new(i, "pmr_el1", jhex(mig_u64(mig_field(g, "icc_pmr_el1", c), 0)));
        json_object_set_new(i, "bpr", jhex_array(mig_field(g, "icc_bpr", c)));             /* [G0, G1S, G1NS] */
        json_object_set_new(i, "apr", jhex_array(mig_field(g, "icc_apr", c)));             /* [G0 x4, G1S x4, G1NS x4] */
        json_object_set_new(i, "igrpen", jhex_array(mig_field(g, "icc_igrpen", c)));       /* [G0, G1S, G1NS] */
        json_object_set_new(i, "ctlr_el3", jhex(mig_u64(mig_field(g, "icc_ctlr_el3", c), 0)));
        json_object_set_new(i, "sre_el1", jhex(mig_u64(mig_field(g, "icc_sre_el1", c), 0)));
        json_array_append_new(ci, i);
    }
    return json_pack("{s:i,s:i,s:i,s:o,s:o,s:o}", "version", 3, "it_lines", VIRT_GIC_IT_LINES, "num_cpu", ncpu,
                     "distributor", d, "redistributors", rd, "cpu_interfaces", ci);
}

/* GICv2 from QEMU's arm_gic state (hw/intc/arm_gic_common.c): irq_state[]
 * holds per-IRQ bytes whose bits are CPUs (for SGIs/PPIs the banked copy of
 * each CPU; for SPIs all bits equal), priority1[32][8] the banked SGI/PPI
 * priorities, sgi_pending[16][8] the source CPUs per SGI and target CPU. */
static json_t *gicv2_json(const struct mig_device *g, unsigned ncpu)
{
    const unsigned nirq = VIRT_GIC_IT_LINES;
    const struct mig_field *pr1 = mig_field(g, "priority1", 0), *pr2 = mig_field(g, "priority2", 0),
                           *tgt = mig_field(g, "irq_target", 0), *sgi = mig_field(g, "sgi_pending", 0);
    if (!mig_field(g, "enabled", nirq - 1) || !pr1 || !pr2 || !tgt || !sgi) {
        ffwd_seterr("arm_gic state lacks fields this ffwd knows (QEMU version not supported?)");
        return NULL;
    }
#define IRQ(f, i) ((unsigned)mig_u64(mig_field(g, f, i), 0))
    json_t *d = json_object();
    json_object_set_new(d, "ctlr", jhex(mig_u64(mig_field(g, "ctlr", 0), 0)));
    /* SPI words (word 0 = INTID 0..31 is banked, see cpus[]) */
    static const char *const bm[][2] = {{"enabled", "isenabler"}, {"pending", "ispendr"}, {"active", "isactiver"},
                                        {"group", "igroupr"},     {"level", "level"}};
    for (size_t b = 0; b < sizeof bm / sizeof *bm; b++) {
        json_t *a = json_array();
        for (unsigned w = 0; w < nirq / 32; w++) {
            uint32_t v = 0;
            for (unsigned k = 0; w > 0 && k < 32; k++)
                if (IRQ(bm[b][0], w * 32 + k) & 1)
                    v |= 1u << k;
            json_array_append_new(a, jhex(v));
        }
        json_object_set_new(d, bm[b][1], a);
    }
    json_t *cfg = json_array(), *prio = json_array(), *targ = json_array();
    for (unsigned w = 0; w < nirq / 16; w++) {
        uint32_t v = 0;
        for (unsigned k = 0; k < 16; k++)
            if (IRQ("edge_trigger", w * 16 + k))
                v |= 2u << (2 * k);
        json_array_append_new(cfg, jhex(v)); /* GICD_ICFGRn: bit 2k+1 = edge */
    }
    for (unsigned i = 32; i < nirq; i++) {
        json_array_append_new(prio, json_integer((json_int_t)mig_u64(pr2, i - 32)));
        json_array_append_new(targ, json_integer((json_int_t)mig_u64(tgt, i)));
    }
    json_object_set_new(d, "icfgr", cfg);
    json_object_set_new(d, "ipriority_spi", prio);  /* INTID 32.. */
    json_object_set_new(d, "itargets_spi", targ);   /* INTID 32.. (CPU bitmask) */
    json_t *cpus = json_array(), *ci = json_array();
    for (unsigned c = 0; c < ncpu; c++) {
        uint32_t en = 0, pe = 0, ac = 0, gr = 0, lv = 0;
        json_t *p = json_array(), *sp = json_array();
        for (unsigned i = 0; i < 32; i++) {
            en |= (IRQ("enabled", i) >> c & 1u) << i;
            pe |= (IRQ("pending", i) >> c & 1u) << i;
            ac |= (IRQ("active", i) >> c & 1u) << i;
            gr |= (IRQ("group", i) >> c & 1u) << i;
            lv |= (IRQ("level", i) >> c & 1u) << i;
            json_array_append_new(p, json_integer((json_int_t)mig_u64(pr1, i * 8 + c)));
        }
        for (unsigned i = 0; i < 16; i++)
            json_array_append_new(sp, jhex(mig_u64(sgi, i * 8 + c)));
        uint32_t cfg0 = 0, cfg1 = 0;
        for (unsigned k = 0; k < 16; k++) {
            if (IRQ("edge_trigger", k))
                cfg0 |= 2u << (2 * k);
            if (IRQ("edge_trigger", 16 + k))
                cfg1 |= 2u << (2 * k);
        }
        json_array_append_new(cpus, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "isenabler0", jhex(en),
                                              "ispendr0", jhex(pe), "isactiver0", jhex(ac), "igroupr0", jhex(gr),
                                              "level0", jhex(lv), "icfgr0", jhex(cfg0), "icfgr1", jhex(cfg1),
                                              "ipriority0_31", p, "sgi_pending_sources", sp));
        json_t *apr = json_array(), *nsapr = json_array();
        for (unsigned k = 0; k < 4; k++) {
            json_array_append_new(apr, jhex(mig_u64(mig_field(g, "apr", 0), k * 8 + c)));
            json_array_append_new(nsapr, jhex(mig_u64(mig_field(g, "nsapr", 0), k * 8 + c)));
        }
#define PC(f) jhex(mig_u64(mig_field(g, f, 0), c))
        json_array_append_new(ci, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "ctlr", PC("cpu_ctlr"), "pmr",
                                            PC("priority_mask"), "bpr", PC("bpr"), "abpr", PC("abpr"), "rpr",
                                            PC("running_priority"), "hppir", PC("current_pending"), "apr", apr,
                                            "nsapr", nsapr));
#undef PC
    }
#undef IRQ
    return json_pack("{s:i,s:i,s:i,s:o,s:o,s:o}", "version", 2, "it_lines", nirq, "num_cpu", ncpu, "distributor", d,
                     "cpus", cpus, "cpu_interfaces", ci);
}

/* The one such state today: an SGI active on some CPU of a multi-CPU GICv2.
 * gem5 v24's GicV2 keeps an active SGI per (source, target) pair
 * (cpuSgiActive) and panics at the guest's EOI if the pair it names is not
 * active; QEMU drops the source once the guest has acknowledged the SGI.
 * With one CPU the source can only be CPU 0. */
bool ffwd_capture_unsettled(const struct mig_stream *ms, int gic_version, unsigned ncpu, char *why, size_t n)
{
    const struct mig_device *g = gic_version == 2 ? mig_device(ms, "arm_gic", 0) : NULL;
    for (unsigned i = 0; g && ncpu > 1 && i < 16; i++) {
        unsigned a = (unsigned)mig_u64(mig_field(g, "active", i), 0); /* bit c: active on CPU c */
        for (unsigned c = 0; c < ncpu; c++)
            if (a >> c & 1) {
                snprintf(why, n,
                         "vCPU %u stayed inside the handler of inter-processor interrupt SGI %u (gem5's GICv2 needs "
                         "the sending CPU of an active SGI, which QEMU does not keep; GICv3 has no such limit)",
                         c, i);
                return true;
            }
    }
    return false;
}

/* Every field of every device, as QEMU names it: nothing is dropped. */
static json_t *raw_devices_json(const struct mig_stream *m)
{
    json_t *a = json_array();
    for (size_t i = 0; i < m->ndevs; i++) {
        const struct mig_device *d = &m->devs[i];
        json_t *f = json_array();
        for (size_t k = 0; k < d->nfields; k++) {
            const struct mig_field *x = &d->fields[k];
            json_t *e = json_pack("{s:s,s:s,s:I,s:I}", "name", x->name, "section", x->section, "elem_size",
                                  (json_int_t)x->elem_size, "count", (json_int_t)x->count);
            if (x->elem_size <= 8 && x->count <= 4096)
                json_object_set_new(e, "values", jhex_array(x));
            else {
                char *h = hex_encode(x->data, x->elem_size * x->count);
                json_object_set_new(e, "bytes", json_string(h));
                free(h);
            }
            json_array_append_new(f, e);
        }
        json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:o}", "name", d->name, "instance", d->instance,
                                           "version", d->version, "fields", f));
    }
    return a;
}

/* ---- RAM (capture/ram.c): the copy while stopped, registered in the file list ---- */
static int save_ram(const char *ram_path, const uint8_t *map, uint64_t size, struct files *fs, const char *name,
                    uint64_t *nonzero)
{
    char *p = xasprintf("%s/%s", fs->dir, name);
    uint32_t crc = 0;
    int r = cap_ram_copy(ram_path, map, size, p, nonzero, &crc);
    if (r == 0)
        json_object_set_new(fs->list, name, json_pack("{s:I,s:o}", "size", (json_int_t)size, "crc32", jhex(crc)));
    free(p);
    return r;
}

/* ---- disk delta ---- */
static int save_disk_delta(const char *run_dir, struct files *fs, const char *name, uint64_t *nsect, json_t **info)
{
    *nsect = 0;
    *info = NULL;
    char *ov = xasprintf("%s/disk0.qcow2", run_dir);
    if (!path_exists(ov)) {
        free(ov);
        return 0; /* no disk */
    }
    char *bp = xasprintf("%s/disk.base", run_dir);
    char *base = read_file(bp, NULL);
    free(bp);
    if (!base) {
        free(ov);
        return ffwd_preerr("run directory %s has no disk.base", run_dir);
    }
    base[strcspn(base, "\n")] = 0;
    struct sbuf o = {0};
    char *argv[] = {"qemu-img", "map", "-U", "--output=json", ov, NULL};
    int st = run_cmd(argv, &(struct run_opts){.out = &o, .quiet = true});
    json_error_t je;
    json_t *map = st == 0 ? json_loads(o.s, 0, &je) : NULL;
    sbuf_free(&o);
    if (!json_is_array(map)) {
        json_decref(map);
        ffwd_seterr("qemu-img map of %s failed", ov);
        free(base);
        free(ov);
        return -1;
    }
    int fo = open(ov, O_RDONLY | O_CLOEXEC), fb = open(base, O_RDONLY | O_CLOEXEC);
    bool base_raw = true;
    unsigned char magic[4] = {0};
    if (fb >= 0 && pread(fb, magic, 4, 0) == 4 && !memcmp(magic, "QFI\xfb", 4))
        base_raw = false;
    struct stat bst = {0};
    if (fb >= 0)
        fstat(fb, &bst);
    uint64_t disk_size = 0;
    struct sbuf out = {0};
    int r = 0;
    if (fo < 0 || fb < 0)
        r = ffwd_seterr_errno("cannot open %s", fo < 0 ? ov : base);
    size_t i;
    json_t *e;
    uint8_t sec[512], bsec[512];
    json_array_foreach(map, i, e)
    {
        uint64_t start = (uint64_t)json_integer_value(json_object_get(e, "start"));
        uint64_t len = (uint64_t)json_integer_value(json_object_get(e, "length"));
        if (start + len > disk_size)
            disk_size = start + len;
        if (r || json_integer_value(json_object_get(e, "depth")) != 0 || !json_is_true(json_object_get(e, "present")))
            continue;
        bool zero = json_is_true(json_object_get(e, "zero"));
        json_t *off = json_object_get(e, "offset");
        if (!zero && !json_is_integer(off)) {
            r = ffwd_seterr("%s: allocated data without a host offset (compressed or encrypted qcow2?)", ov);
            break;
        }
        for (uint64_t s = start; s < start + len; s += 512) {
            if (zero)
                memset(sec, 0, 512);
            else if (pread(fo, sec, 512, (off_t)((uint64_t)json_integer_value(off) + (s - start))) != 512) {
                r = ffwd_seterr_errno("cannot read %s", ov);
                break;
            }
            if (base_raw) {
                ssize_t n = pread(fb, bsec, 512, (off_t)s);
                if (n < 512)
                    memset(bsec + (n > 0 ? n : 0), 0, 512 - (size_t)(n > 0 ? n : 0));
                if (!memcmp(sec, bsec, 512))
                    continue; /* written but unchanged */
            }
            uint64_t sn = s / 512;
            sbuf_add(&out, &sn, 8);
            sbuf_add(&out, sec, 512);
            (*nsect)++;
        }
    }
    if (fo >= 0)
        close(fo);
    if (fb >= 0)
        close(fb);
    json_decref(map);
    if (r == 0) {
        /* header: magic, sector size, reserved, disk size, count; then (u64 sector, 512 bytes) sorted */
        struct sbuf f = {0};
        delta_header(&f, disk_size, *nsect);
        if (out.len)
            sbuf_add(&f, out.s, out.len);
        r = put_file(fs, name, f.s, f.len);
        sbuf_free(&f);
        char bsum[16] = "";
        if (r == 0) {
            /* the base's checksum is computed once per run directory */
            char *cp = xasprintf("%s/disk.base.crc32", run_dir);
            char *c = read_file(cp, NULL);
            uint32_t crc;
            if (c && strlen(c) >= 10)
                snprintf(bsum, sizeof bsum, "%.10s", c);
            else if (crc32_file(base, (uint64_t)bst.st_size, &crc) == 0) {
                snprintf(bsum, sizeof bsum, "0x%08x", crc);
                write_file_atomic(cp, bsum, strlen(bsum), 0644);
            }
            free(c);
            free(cp);
        }
        *info = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "file", name, "base_image", base, "base_format",
                          base_raw ? "raw" : "qcow2", "base_crc32", bsum, "base_size", (json_int_t)bst.st_size,
                          "disk_size", (json_int_t)disk_size, "sector_size", (json_int_t)512, "sectors",
                          (json_int_t)*nsect);
    }
    sbuf_free(&out);
    free(base);
    free(ov);
    return r;
}

/* ---- device state by savevm ---- */
/* One HMP command; its reply text is empty on success, else QEMU's message. */
static int hmp_quiet(struct qmp *q, const char *cmd, double timeout)
{
    json_t *ret = NULL;
    if (qmp_cmd(q, "human-monitor-command", json_pack("{s:s}", "command-line", cmd), &ret, timeout) < 0)
        return -1;
    const char *t = json_string_value(ret);
    int r = t && *t ? ffwd_seterr("QEMU: %s: %.*s", cmd, (int)strcspn(t, "\r\n"), t) : 0;
    json_decref(ret);
    return r;
}

/* The device state (RAM excluded: x-ignore-shared is on) by `savevm` into
 * the disk overlay, read back from the snapshot into VMP, the snapshot then
 * deleted. What QEMU allows under record/replay, where `migrate` aborts
 * (docs/record-replay.md); the stream is the same. */
static int cap_state_savevm(struct qmp *q, const char *run_dir, const char *vmp, double timeout)
{
    char name[64], cmd[96];
    snprintf(name, sizeof name, "ffwd-capture-%ld", (long)getpid());
    char *ov = xasprintf("%s/disk0.qcow2", run_dir);
    uint64_t n = 0;
    snprintf(cmd, sizeof cmd, "savevm %s", name);
    int r = path_exists(ov) ? hmp_quiet(q, cmd, timeout)
                            : ffwd_seterr("the device state by savevm needs the guest's disk (%s)", ov);
    if (r == 0) {
        r = qcow2_snapshot_vmstate(ov, name, vmp, &n);
        snprintf(cmd, sizeof cmd, "delvm %s", name);
        if (hmp_quiet(q, cmd, timeout) < 0 && r == 0)
            r = ffwd_preerr("snapshot %s of %s", name, ov);
    }
    if (r == 0)
        ffwd_debug("device state by savevm: %llu bytes", (unsigned long long)n);
    free(ov);
    return r;
}

/* ---- virtio ---- */
/* n consecutive 32-bit words of guest physical memory (device registers
 * too) in one HMP `xp`: one monitor round trip instead of one per register
 * (this runs with the guest stopped). */
static int hmp_xp_words(struct qmp *q, uint64_t addr, unsigned n, uint32_t *out)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "xp /%uwx 0x%" PRIx64, n, addr);
    json_t *ret = NULL;
    if (qmp_cmd(q, "human-monitor-command", json_pack("{s:s}", "command-line", cmd), &ret, 10) < 0)
        return -1;
    int r = hmp_xp_parse(json_string_value(ret), n, out);
    json_decref(ret);
    return r;
}

static uint16_t ram_u16(const uint8_t *ram, uint64_t ram_size, uint64_t gpa)
{
    /* gpa comes from QEMU's reply: compare without sums that can wrap */
    if (gpa < VIRT_RAM_BASE || ram_size < 2 || gpa - VIRT_RAM_BASE > ram_size - 2)
        return 0;
    const uint8_t *p = ram + (gpa - VIRT_RAM_BASE);
    return (uint16_t)(p[0] | p[1] << 8);
}

/* State of the block device's transport and queue. *busy is set when a
 * request is in flight or queued but not yet seen by QEMU. */
json_t *ffwd_capture_virtio_state(struct qmp *q, const uint8_t *ram, uint64_t ram_size, bool *busy)
{
    *busy = false;
    json_t *qs = NULL, *vs = NULL;
    if (qmp_cmd(q, "x-query-virtio-queue-status", json_pack("{s:s,s:i}", "path", "/machine/peripheral/vblk0",
                                                                "queue", 0),
                &qs, 10) < 0 ||
        qmp_cmd(q, "x-query-virtio-status", json_pack("{s:s}", "path", "/machine/peripheral/vblk0"), &vs, 10) < 0) {
        json_decref(qs);
        return NULL;
    }
    uint64_t base = ffwd_profile_disk_mmio_base(0);
    uint32_t r[0x74 / 4]; /* the legacy transport's registers up to Status */
    int err = hmp_xp_words(q, base, sizeof r / sizeof *r, r);
    uint32_t magic = r[0x00 / 4], version = r[0x04 / 4], devid = r[0x08 / 4], pfn = r[0x40 / 4],
             status = r[0x70 / 4], isr = r[0x60 / 4];
    if (err) {
        json_decref(qs);
        json_decref(vs);
        ffwd_seterr("cannot read the virtio-mmio transport registers at 0x%" PRIx64 " (HMP xp)", base);
        return NULL;
    }
    uint64_t desc = (uint64_t)json_integer_value(json_object_get(qs, "vring-desc"));
    uint64_t avail = (uint64_t)json_integer_value(json_object_get(qs, "vring-avail"));
    uint64_t used = (uint64_t)json_integer_value(json_object_get(qs, "vring-used"));
    json_int_t last_avail = json_integer_value(json_object_get(qs, "last-avail-idx"));
    json_int_t inuse = json_integer_value(json_object_get(qs, "inuse"));
    uint16_t avail_idx = ram_u16(ram, ram_size, avail + 2), used_idx = ram_u16(ram, ram_size, used + 2);
    if (inuse != 0 || (desc && avail_idx != (uint16_t)last_avail))
        *busy = true;
    json_t *feat = json_object_get(json_object_get(vs, "guest-features"), "dev-features");
    json_t *tr = json_object_get(json_object_get(vs, "guest-features"), "transports");
    json_t *names = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(feat, i, x) json_array_append(names, x);
    json_array_foreach(tr, i, x) json_array_append(names, x);
    json_t *queue = json_pack("{s:i,s:I,s:o,s:o,s:o,s:I,s:I,s:I,s:i,s:i,s:I}", "index", 0, "size",
                              json_integer_value(json_object_get(qs, "vring-num")), "desc", jhex(desc), "avail",
                              jhex(avail), "used", jhex(used), "last_avail_idx", last_avail, "used_idx",
                              json_integer_value(json_object_get(qs, "used-idx")), "inuse", inuse,
                              "avail_idx_in_ram", avail_idx, "used_idx_in_ram", used_idx, "align",
                              json_integer_value(json_object_get(qs, "vring-align")));
    json_t *o = json_pack("{s:s,s:s,s:o,s:i,s:o,s:i,s:i,s:o,s:o,s:o,s:o,s:[o]}", "name", "disk0", "transport",
                          "virtio-mmio", "base", jhex(base), "intid", ffwd_profile_disk_intid(0), "magic", jhex(magic),
                          "version", version, "device_id", devid, "status", jhex(status), "queue_pfn", jhex(pfn),
                          "interrupt_status", jhex(isr), "guest_features", names, "queues", queue);
    json_decref(qs);
    json_decref(vs);
    return o;
}

/* Can the device state taken at ffwd's stop stand for QEMU's later one? Only
 * while nothing is pending that the guest could change on its own: no
 * interrupt status to acknowledge, the driver running (DRIVER_OK) with its
 * queue set up. No disk at all is quiet too. */
static bool virtio_quiet(const json_t *v)
{
    if (!v)
        return true;
    const json_t *qu = json_array_get(json_object_get(v, "queues"), 0);
    uint64_t isr = strtoull(json_string_value(json_object_get(v, "interrupt_status")) ?: "1", NULL, 16);
    uint64_t status = strtoull(json_string_value(json_object_get(v, "status")) ?: "0", NULL, 16);
    uint64_t desc = strtoull(json_string_value(json_object_get(qu, "desc")) ?: "0", NULL, 16);
    return isr == 0 && (status & 4) && desc;
}

/* Did the guest make a disk request available, or see one completed, between
 * ffwd's stop (the rings' indices in v) and QEMU's (RAM image DIR/name)? The
 * device took no request then (none was pending at ffwd's stop), so the disk
 * and the device's state are as ffwd took them exactly when the rings' two
 * indices in RAM did not move. */
static bool virtio_ring_moved(const json_t *v, const char *dir, const char *name)
{
    if (!v)
        return false;
    const json_t *qu = json_array_get(json_object_get(v, "queues"), 0);
    uint64_t avail = strtoull(json_string_value(json_object_get(qu, "avail")) ?: "0", NULL, 16);
    uint64_t used = strtoull(json_string_value(json_object_get(qu, "used")) ?: "0", NULL, 16);
    char *p = xasprintf("%s/%s", dir, name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    free(p);
    uint8_t a[2] = {0}, u[2] = {0};
    bool ok = fd >= 0 && avail >= VIRT_RAM_BASE && used >= VIRT_RAM_BASE &&
              pread(fd, a, 2, (off_t)(avail + 2 - VIRT_RAM_BASE)) == 2 &&
              pread(fd, u, 2, (off_t)(used + 2 - VIRT_RAM_BASE)) == 2;
    if (fd >= 0)
        close(fd);
    return !ok || (a[0] | a[1] << 8) != json_integer_value(json_object_get(qu, "avail_idx_in_ram")) ||
           (u[0] | u[1] << 8) != json_integer_value(json_object_get(qu, "used_idx_in_ram"));
}

/* ---- PL011 / PL031 / timer ---- */
static json_t *pl011_json(const struct mig_stream *m)
{
    const struct mig_device *u = mig_device(m, "pl011", 0);
    if (!u)
        return json_null();
#define U(f) jhex(mig_u64(mig_field(u, f, 0), 0))
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "base", jhex(VIRT_UART_BASE), "cr",
                     U("cr"), "lcr_h", U("lcr"), "ibrd", U("ibrd"), "fbrd", U("fbrd"), "ifls", U("ifl"), "imsc",
                     U("int_enabled"), "ris", U("int_level"), "fr", U("flags"), "dmacr", U("dmacr"), "rsr", U("rsr"),
                     "read_count", U("read_count"));
#undef U
}

static json_t *pl031_json(const struct mig_stream *m, uint64_t virt_ns)
{
    const struct mig_device *r = mig_device(m, "pl031", 0);
    if (!r)
        return json_null();
    uint64_t tick = mig_u64(mig_field(r, "tick_offset_vmstate", 0), 0);
#define R(f) jhex(mig_u64(mig_field(r, f, 0), 0))
    return json_pack("{s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "base", jhex(VIRT_RTC_BASE), "seconds",
                     (json_int_t)(tick + virt_ns / 1000000000ULL), "tick_offset", jhex(tick), "mr", R("mr"), "lr",
                     R("lr"), "cr", R("cr"), "imsc", R("im"), "ris", R("is"));
#undef R
}

/* ---- orchestration ---- */
static char *run_file(const char *run_dir, const char *name)
{
    char *p = xasprintf("%s/%s", run_dir, name);
    char *s = read_file(p, NULL);
    free(p);
    if (s)
        s[strcspn(s, "\n")] = 0;
    return s;
}

/* ---- the guardian: a capture killed at any moment leaves the guest running ----
 *
 * `ffwd capture RUN_DIR` drives another process's QEMU: if it dies between
 * QMP stop and cont (SIGKILL, SIGINT, OOM), the guest would stay paused for
 * good and the half-written capture would stay behind. So a detached
 * guardian process holds the read end of a pipe; the capture writes 'D' when
 * it is done. End of file without 'D' means the capture died: the guardian
 * connects to the QMP socket (free again once the dead process's connection
 * is closed), cancels a migration under way, resumes the guest if it was
 * running before the capture, and removes the temporary directory. */
static void guardian_main(int rfd, const char *run_dir, const char *tmp, bool resume)
{
    char c = 0;
    ssize_t n;
    do
        n = read(rfd, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && c == 'D')
        _exit(0);
    if (tmp)
        rm_rf(tmp);
    char *qp = xasprintf("%s/qmp-ctl.sock", run_dir);
    struct qmp *q = NULL;
    for (int i = 0; i < 50 && !(q = qmp_connect(qp, 2)); i++)
        usleep(100000);
    if (q) {
        json_t *st = NULL;
        if (qmp_cmd(q, "query-migrate", NULL, &st, 5) == 0) {
            const char *ms = json_string_value(json_object_get(st, "status"));
            if (ms && (!strcmp(ms, "active") || !strcmp(ms, "setup") || !strcmp(ms, "device")))
                qmp_cmd(q, "migrate_cancel", NULL, NULL, 5);
        }
        json_decref(st);
        if (resume) {
            for (int i = 0; i < 50; i++) { /* migrate_cancel completes asynchronously */
                json_t *vs = NULL;
                qmp_cmd(q, "query-status", NULL, &vs, 5);
                bool running = json_is_true(json_object_get(vs, "running"));
                json_decref(vs);
                if (running || qmp_cmd(q, "cont", NULL, NULL, 5) == 0)
                    break;
                usleep(100000);
            }
        }
        qmp_close(q);
    }
    free(qp);
    _exit(0);
}

/* Start the guardian; returns the write end of its pipe (-1 if none). */
static int guardian_start(const char *run_dir, const char *tmp, bool resume)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        setsid(); /* not killed with the capture's process group */
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        if (fork() != 0)
            _exit(0); /* reparented to init: nobody has to wait for it */
        /* keep nothing of the capture's: above all not its QMP connection,
         * which would keep QEMU's monitor busy after the capture died */
        for (int fd = 3; fd < 4096; fd++)
            if (fd != p[0])
                close(fd);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        guardian_main(p[0], run_dir, tmp, resume);
    }
    close(p[0]);
    waitpid(pid, NULL, 0);
    return p[1];
}

static void guardian_done(int fd)
{
    if (fd < 0)
        return;
    ssize_t n;
    do
        n = write(fd, "D", 1);
    while (n < 0 && errno == EINTR);
    close(fd);
}

int ffwd_capture(const struct ffwd_capture_opts *o, struct ffwd_capture_result *res)
{
    memset(res, 0, sizeof *res);
    double timeout = o->timeout_s > 0 ? o->timeout_s : 60;
    struct stat rst;
    if (stat(o->run_dir, &rst) < 0)
        return ffwd_seterr_errno("%s", o->run_dir);
    char *pp = xasprintf("%s/profile.json", o->run_dir);
    char *prof_s = read_file(pp, NULL);
    free(pp);
    char *ram_path = run_file(o->run_dir, "ram.path");
    if (!prof_s || !ram_path) {
        free(prof_s);
        free(ram_path);
        return ffwd_seterr("%s is not an ffwd run directory (no profile.json / ram.path)", o->run_dir);
    }
    json_t *prof_j = json_loads(prof_s, 0, NULL);
    free(prof_s);
    struct ffwd_profile prof;
    ffwd_profile_default(&prof);
    prof.gic_version = (int)json_integer_value(json_object_get(prof_j, "gic_version"));
    prof.smp = (unsigned)json_integer_value(json_object_get(prof_j, "smp"));
    prof.mem_bytes = (uint64_t)json_integer_value(json_object_get(prof_j, "mem_bytes"));
    if (!prof_j || !prof.smp || !prof.mem_bytes || (prof.gic_version != 2 && prof.gic_version != 3)) {
        json_decref(prof_j);
        free(ram_path);
        return ffwd_seterr("%s/profile.json is incomplete or corrupt", o->run_dir);
    }
    struct qmp *q = o->qmp;
    bool own_qmp = false;
    if (!q) {
        char *qp = xasprintf("%s/qmp-ctl.sock", o->run_dir);
        q = qmp_connect(qp, timeout < 5 ? timeout : 5);
        free(qp);
        if (!q) {
            json_decref(prof_j);
            free(ram_path);
            return ffwd_preerr("is the QEMU of %s still running?", o->run_dir);
        }
        own_qmp = true;
    }
    int rc = -1;
    char *tmp = NULL, *final = NULL;
    json_t *cpus = NULL, *manifest = NULL;
    json_t *bg_files = NULL, *bg_disk = NULL; /* a background snapshot's files and disk, taken in the loop */
    uint64_t bg_nsect = 0, bg_nz = 0;
    uint32_t bg_crc = 0;
    double t_bg_resumed = 0, qemu_stop = 0;
    int early_misses = 0; /* early-resumed snapshots the guest's disk use made void */
    struct mig_stream ms = {0};
    const uint8_t *ram = NULL;
    bool was_running = false, stopped = false;
    int guard = -1;
    /* name and temporary directory (same file system as the result) */
    if (mkdir_p(o->out_dir, 0755) < 0)
        goto out;
    if (o->name) {
        if (strchr(o->name, '/') || o->name[0] == '.' || !o->name[0] || strchr(o->name, '%')) {
            ffwd_seterr("capture name '%s' must be a plain file name (no '/', '%%', leading '.')", o->name);
            goto out;
        }
        final = xasprintf("%s/%s", o->out_dir, o->name);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        for (int n = 0; n < 1000 && !final; n++) {
            char *c = xasprintf("%s/capture-%04d%02d%02d-%02d%02d%02d-%d", o->out_dir, tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, n);
            if (!path_exists(c))
                final = c;
            else
                free(c);
        }
    }
    if (!final || path_exists(final)) {
        ffwd_seterr("capture %s already exists; ffwd never overwrites a capture", final ? final : o->out_dir);
        goto out;
    }
    json_t *st = NULL;
    if (qmp_cmd(q, "query-status", NULL, &st, timeout) < 0)
        goto out;
    was_running = json_is_true(json_object_get(st, "running"));
    if (!strcmp(json_string_value(json_object_get(st, "status")) ?: "", "postmigrate")) {
        json_decref(st);
        ffwd_seterr("the VM is paused after an earlier capture (QEMU state 'postmigrate'); resume it (QMP cont) "
                    "before capturing again");
        goto out;
    }
    json_decref(st);
    /* under QEMU's record/replay a migration aborts QEMU: savevm instead */
    bool via_savevm = o->via_savevm;
    json_t *rr = NULL;
    if (qmp_cmd(q, "query-replay", NULL, &rr, timeout) == 0 &&
        strcmp(json_string_value(json_object_get(rr, "mode")) ?: "none", "none"))
        via_savevm = true;
    else if (!rr)
        ffwd_clearerr(); /* a QEMU without record/replay: not one */
    json_decref(rr);
    if (via_savevm && o->background) {
        ffwd_seterr("a background capture saves RAM by a migration, which %s", o->via_savevm
                        ? "--via-savevm avoids" : "aborts QEMU under record/replay: capture without --background");
        goto out;
    }

    if (!(tmp = make_owned_temp_dir(o->out_dir, ".capture-tmp-")))
        goto out;
    if (own_qmp) /* someone else's guest: it must survive our death */
        guard = guardian_start(o->run_dir, tmp, was_running);

    /* 1. stop, with the disk idle and no interrupt in a state gem5 cannot
     * take; 2. device and CPU state from QEMU's migration stream (RAM
     * excluded). Where the moment is not exact (a running guest, or
     * o->may_settle), the guest runs 2 ms more and we look again. */
    double t_stop = 0;
    json_t *virtio = NULL;
    const bool may_settle = was_running || o->may_settle;
    /* a running guest that goes on afterwards: stopped only for its device
     * state (cap_state_background); else stopped until RAM is copied */
    const bool background = was_running && o->resume && o->background;

    if (background && cap_background_setup(q, timeout) < 0)
        goto out;
    if (background && !cap_ram_premap(q, ram_path, timeout))
        ffwd_warn("QEMU maps every page of guest RAM before it write-protects them; this kernel cannot have that done "
                  "safely while the guest runs (no MADV_POPULATE_WRITE), so the guest stays stopped while it is");
    for (int attempt = 0;; attempt++) {
        if (qmp_cmd(q, "stop", NULL, NULL, timeout) < 0)
            goto out;
        stopped = true;
        t_stop = now_sec();
        if (ram)
            munmap((void *)ram, prof.mem_bytes);
        ram = NULL;
        int fd = open(ram_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            void *m = mmap(NULL, prof.mem_bytes, PROT_READ, MAP_SHARED, fd, 0);
            close(fd);
            if (m != MAP_FAILED)
                ram = m;
        }
        if (!ram) {
            ffwd_seterr_errno("cannot map guest RAM %s", ram_path);
            goto out;
        }
        bool busy = false;
        json_decref(virtio);
        virtio = NULL;
        {
            char *dp = xasprintf("%s/disk0.qcow2", o->run_dir);
            bool has_disk = path_exists(dp);
            free(dp);
            if (has_disk && !(virtio = ffwd_capture_virtio_state(q, ram, prof.mem_bytes, &busy)))
                goto out;
        }
        ffwd_debug("stopped; device checks done %.3f s after the stop", now_sec() - t_stop);
        char why[200] = "";
        if (busy)
            snprintf(why, sizeof why, "the guest's disk stayed busy (a request in flight)");
        else if (background) {
            /* disk delta first: the overlay changes as soon as the guest runs */
            mig_free(&ms);
            json_decref(bg_disk);
            bg_disk = NULL;
            json_decref(bg_files);
            bg_files = json_object();
            struct files dfs = {tmp, bg_files};
            double td = now_sec();
            int br = save_disk_delta(o->run_dir, &dfs, "disk0.delta", &bg_nsect, &bg_disk);
            ffwd_debug("disk delta in %.3f s, %.3f s after the stop", now_sec() - td, now_sec() - t_stop);
            /* early: the guest runs on while QEMU prepares, and QEMU stops
             * it again for the CPU and device state; what was taken here
             * (disk delta, virtio state) must then be proved unchanged */
            const bool early = early_misses < 2 && virtio_quiet(virtio);
            bool resumed = false;
            if (br == 0)
                br = cap_state_background(q, timeout, tmp, "ram0.bin", prof.mem_bytes, early, &ms, &bg_nz,
                                           &bg_crc, &t_bg_resumed, &resumed, &qemu_stop);
            if (resumed)
                stopped = false;
            if (br < 0) {
                json_decref(virtio);
                goto out;
            }
            if (early && virtio_ring_moved(virtio, tmp, "ram0.bin")) {
                early_misses++;
                snprintf(why, sizeof why, "the guest used its disk between ffwd's stop and QEMU's");
                ffwd_debug("%s: taken again", why);
            } else
                ffwd_capture_unsettled(&ms, prof.gic_version, prof.smp, why, sizeof why);
        } else {
            char *vmp = xasprintf("%s/vmstate.bin", tmp);
            char *uri = xasprintf("file:%s", vmp);
            int mr = qmp_cmd(q, "migrate-set-capabilities",
                             json_pack("{s:[{s:s,s:b},{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
                                       "state", 1, "capability", "background-snapshot", "state", 0),
                             NULL, timeout);
            if (mr == 0 && via_savevm)
                mr = cap_state_savevm(q, o->run_dir, vmp, timeout);
            else if (mr == 0) {
                mr = qmp_cmd(q, "migrate", json_pack("{s:s}", "uri", uri), NULL, timeout);
                if (mr == 0)
                    mr = cap_wait_migration(q, timeout);
            }
            free(uri);
            mig_free(&ms);
            if (mr == 0)
                mr = mig_parse_file(vmp, &ms);
            free(vmp);
            if (mr < 0) {
                json_decref(virtio);
                goto out;
            }
            ffwd_capture_unsettled(&ms, prof.gic_version, prof.smp, why, sizeof why);
        }
        if (!why[0]) {
            res->settle_attempts = (unsigned)attempt;
            break;
        }
        if (attempt >= 200 || !may_settle) {
            ffwd_seterr("%s for %d attempts; capture refused", why, attempt + 1);
            json_decref(virtio);
            goto out;
        }
        /* let the guest finish its request or its handler, then try again */
        if (stopped && qmp_cmd(q, "cont", NULL, NULL, timeout) < 0)
            goto out;
        stopped = false;
        usleep(2000);
    }

    struct files fs = {tmp, background ? json_incref(bg_files) : json_object()};
    /* the raw stream is kept (provenance, and for tools that read QEMU's format);
     * a background snapshot's stream holds all RAM: not kept */
    if (!background) {
        char *p = xasprintf("%s/vmstate.bin", tmp);
        size_t n;
        char *d = read_file(p, &n);
        chmod_umask(p, 0644); /* QEMU creates it 0600 */
        if (d)
            json_object_set_new(fs.list, "vmstate.bin",
                                json_pack("{s:I,s:o}", "size", (json_int_t)n, "crc32",
                                          jhex(libdeflate_crc32(0, d, n))));
        free(d);
        free(p);
    }
    unsigned ncpu = (unsigned)mig_count(&ms, "cpu");
    if (ncpu != prof.smp) {
        ffwd_seterr("the migration stream has %u vCPUs, the profile %u", ncpu, prof.smp);
        json_decref(fs.list);
        json_decref(virtio);
        goto out;
    }
    uint64_t cntfrq = 0;
    cpus = json_array();
    for (unsigned i = 0; i < ncpu; i++) {
        json_t *c = cpu_json(&ms, i, &prof, i == 0 ? &cntfrq : NULL);
        if (!c) {
            json_decref(fs.list);
            json_decref(virtio);
            goto out;
        }
        if (o->undo_irq_entry && undo_irq_entry(c))
            res->irq_entries_undone++;
        char nm[32];
        snprintf(nm, sizeof nm, "cpu%u.json", i);
        int pr = put_json(&fs, nm, c);
        json_array_append_new(cpus, c);
        if (pr < 0) {
            json_decref(fs.list);
            json_decref(virtio);
            goto out;
        }
    }
    /* generic timer: the frozen virtual clock and the per-CPU timer registers */
    const struct mig_device *tm = mig_device(&ms, "timer", 0);
    uint64_t virt_ns = mig_u64(mig_field(tm, "cpu_clock_offset", 0), 0);
    const struct mig_field *icb = mig_field(tm, "qemu_icount_bias", 0), *ic = mig_field(tm, "qemu_icount", 0);
    const char *clock_src = "cpu_clock_offset";
    if (prof_j && json_is_true(json_object_get(prof_j, "icount")) && icb && ic) {
        virt_ns = mig_u64(icb, 0) + mig_u64(ic, 0); /* shift=0: 1 ns per instruction */
        clock_src = "icount";
    }
    if (!cntfrq) {
        ffwd_seterr("CNTFRQ_EL0 is missing from the vCPU state");
        json_decref(fs.list);
        json_decref(virtio);
        goto out;
    }
    uint64_t period_ns = 1000000000ULL / cntfrq; /* QEMU: gt_cntfrq_period_ns, integer */
    uint64_t counter = period_ns ? virt_ns / period_ns : 0;
    json_t *pcpu = json_array();
    for (unsigned i = 0; i < ncpu; i++) {
        json_t *c = json_array_get(cpus, i);
        json_array_append_new(
            pcpu, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "cntkctl_el1", jhex(cj_sysreg(c, "CNTKCTL_EL1", NULL)),
                            "cntv_ctl_el0", jhex(cj_sysreg(c, "CNTV_CTL_EL0", NULL)), "cntv_cval_el0",
                            jhex(cj_sysreg(c, "CNTV_CVAL_EL0", NULL)), "cntp_ctl_el0",
                            jhex(cj_sysreg(c, "CNTP_CTL_EL0", NULL)), "cntp_cval_el0",
                            jhex(cj_sysreg(c, "CNTP_CVAL_EL0", NULL)), "cntps_ctl_el1",
                            jhex(cj_sysreg(c, "CNTPS_CTL_EL1", NULL)), "cntps_cval_el1",
                            jhex(cj_sysreg(c, "CNTPS_CVAL_EL1", NULL))));
    }
    json_t *timer = json_pack("{s:I,s:I,s:s,s:I,s:o,s:i,s:i,s:i,s:o}", "cntfrq", (json_int_t)cntfrq, "virtual_ns",
                              (json_int_t)virt_ns, "virtual_clock_source", clock_src, "counter",
                              (json_int_t)counter, "cntvoff", jhex(0), "ppi_virt", VIRT_PPI_VIRT_TIMER, "ppi_phys",
                              VIRT_PPI_PHYS_TIMER, "ppi_sec_phys", VIRT_PPI_SEC_PHYS_TIMER, "per_cpu", pcpu);
    json_t *gic;
    if (prof.gic_version == 3)
        gic = gicv3_json(&ms, ncpu);
    else {
        const struct mig_device *g2 = mig_device(&ms, "arm_gic", 0);
        gic = g2 ? gicv2_json(g2, ncpu) : NULL;
        if (!g2)
            ffwd_seterr("the migration stream has no arm_gic state");
    }
    if (!gic || put_json(&fs, "gic.json", gic) < 0 || put_json(&fs, "timer.json", timer) < 0) {
        json_decref(gic);
        json_decref(timer);
        json_decref(fs.list);
        json_decref(virtio);
        goto out;
    }
    json_decref(gic);
    json_decref(timer);
    json_t *devs = json_pack("{s:o,s:o,s:[]}", "pl011", pl011_json(&ms), "pl031", pl031_json(&ms, virt_ns),
                             "virtio_mmio");
    if (virtio)
        json_array_append_new(json_object_get(devs, "virtio_mmio"), virtio);
    json_object_set_new(devs, "qemu_raw", raw_devices_json(&ms));
    int dr = put_json(&fs, "devices.json", devs);
    json_decref(devs);
    if (dr < 0) {
        json_decref(fs.list);
        goto out;
    }

    /* 3. disk delta and 4. RAM: copied now, the VM still stopped -- or, in a
     * background snapshot, already taken (the guest runs on) */
    json_t *disk = NULL;
    uint64_t nsect = 0, nz = 0;
    double t_copied = 0;
    if (background) {
        disk = json_incref(bg_disk);
        nsect = bg_nsect, nz = bg_nz, t_copied = t_bg_resumed;
        json_object_set_new(fs.list, "ram0.bin",
                            json_pack("{s:I,s:o}", "size", (json_int_t)prof.mem_bytes, "crc32", jhex(bg_crc)));
    } else {
        if (save_disk_delta(o->run_dir, &fs, "disk0.delta", &nsect, &disk) < 0) {
            json_decref(fs.list);
            goto out;
        }
        if (save_ram(ram_path, ram, prof.mem_bytes, &fs, "ram0.bin", &nz) < 0) {
            json_decref(fs.list);
            json_decref(disk);
            goto out;
        }
        t_copied = now_sec();
    }
    res->disk_sectors = nsect;
    res->ram_bytes = prof.mem_bytes;
    res->ram_nonzero_pages = nz;
    res->background = background;

    /* 5. everything is copied: the guest may run again while the data reaches
     * the disk; the manifest that makes the capture valid comes after fsync */
    if (stopped && was_running && o->resume) {
        if (qmp_cmd(q, "cont", NULL, NULL, timeout) < 0) {
            json_decref(fs.list);
            json_decref(disk);
            stopped = false; /* do not try again in the error path */
            goto out;
        }
        stopped = false;
    }
    {
        char *rp = xasprintf("%s/ram0.bin", tmp);
        int fd = open(rp, O_RDONLY | O_CLOEXEC);
        int fr = fd >= 0 ? fsync(fd) : -1;
        if (fd >= 0)
            close(fd);
        if (fr < 0) {
            ffwd_seterr_errno("cannot write %s", rp);
            free(rp);
            json_decref(fs.list);
            json_decref(disk);
            goto out;
        }
        free(rp);
    }

    /* 6. manifest, written last */
    char *qv = NULL;
    {
        int a, b, c;
        qmp_version(q, &a, &b, &c);
        qv = xasprintf("%d.%d.%d", a, b, c);
    }
    time_t now = time(NULL);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *icount = json_object();
    json_object_set_new(icount, "total", o->icount_total >= 0 ? json_integer(o->icount_total) : json_null());
    json_t *iv = json_array();
    for (unsigned i = 0; o->icount_vcpu && i < o->icount_nvcpu; i++)
        json_array_append_new(iv, json_integer((json_int_t)o->icount_vcpu[i]));
    json_object_set_new(icount, "per_vcpu", iv);
    manifest = json_pack("{s:s,s:i,s:s,s:s,s:{s:s,s:s},s:O,s:i,s:{s:s,s:s?}}", "format", FFWD_CAPTURE_FORMAT,
                         "version", FFWD_CAPTURE_VERSION, "created_utc", ts, "ffwd_version", FFWD_VERSION, "qemu",
                         "version", qv, "machine", ms.machine ? ms.machine : "", "profile", prof_j, "vcpus", ncpu,
                         "trigger", "kind", o->trigger ? o->trigger : "on-demand", "detail", o->trigger_detail);
    free(qv);
    json_object_set_new(manifest, "instructions", icount);
    {
        /* where the guest's console stood at the capture: output after this point is
         * what a restored run must reproduce (ffwd verify) */
        char *lp = xasprintf("%s/console.log", o->run_dir);
        char *alp = realpath(lp, NULL);
        int64_t off = file_size(lp);
        json_object_set_new(manifest, "console",
                            json_pack("{s:s,s:I}", "log", alp ? alp : lp, "offset", (json_int_t)(off > 0 ? off : 0)));
        /* Was the guest kernel's random-number generator ready? Linux prints
         * "random: crng init done" once it is; a program that calls
         * getrandom() before then blocks, and after a restore in gem5
         * (deterministic timer, no host timing) it may block for good. */
        char *con = read_file(lp, NULL);
        bool ready = con && strstr(con, "crng init done");
        free(con);
        json_object_set_new(manifest, "guest_rng",
                            json_pack("{s:b,s:s}", "ready", ready, "evidence",
                                      ready ? "console: 'random: crng init done' before the capture"
                                            : "no 'crng init done' on the console before the capture"));
        free(alp);
        free(lp);
    }
    json_object_set_new(manifest, "ram",
                        json_pack("[{s:s,s:o,s:I,s:s,s:i,s:I}]", "name", "ram0", "base", jhex(VIRT_RAM_BASE), "size",
                                  (json_int_t)prof.mem_bytes, "file", "ram0.bin", "page_size", PAGE,
                                  "nonzero_pages", (json_int_t)nz));
    json_object_set_new(manifest, "disks", disk ? json_pack("[o]", disk) : json_array());
    json_object_set_new(manifest, "cpu_files", json_array());
    for (unsigned i = 0; i < ncpu; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "cpu%u.json", i);
        json_array_append_new(json_object_get(manifest, "cpu_files"), json_string(nm));
    }
    res->seconds = t_copied - t_stop + qemu_stop; /* an early-resumed snapshot: ffwd's stop and QEMU's */
    res->total_seconds = now_sec() - t_stop;
    json_object_set_new(manifest, "stopped_seconds", json_real(res->seconds));
    json_object_set_new(manifest, "ram_saved", json_string(background ? "background-snapshot" : "while-stopped"));
    json_object_set_new(manifest, "files", fs.list);
    char *mp = xasprintf("%s/manifest.json", tmp);
    char *js = json_dumps(manifest, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    int wr = write_file_atomic(mp, js, strlen(js), 0644);
    free(js);
    free(mp);
    if (wr < 0)
        goto out;
    if (rename(tmp, final) < 0) {
        ffwd_seterr_errno("cannot rename %s to %s", tmp, final);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    snprintf(res->path, sizeof res->path, "%s", final);
    rc = 0;
out:
    if (ram)
        munmap((void *)ram, prof.mem_bytes);
    if (tmp) {
        rm_rf(tmp);
        free(tmp);
    }
    if (stopped && was_running && o->resume) {
        /* keep the capture's error: resuming must not overwrite it */
        char saved[2048];
        snprintf(saved, sizeof saved, "%s", ffwd_errmsg());
        if (qmp_cmd(q, "cont", NULL, NULL, timeout) < 0 && rc == 0)
            rc = ffwd_preerr("capture written, but the guest could not be resumed");
        else if (rc < 0)
            ffwd_seterr("%s", saved);
    }
    mig_free(&ms);
    json_decref(bg_files);
    json_decref(bg_disk);
    json_decref(cpus);
    json_decref(manifest);
    json_decref(prof_j);
    free(final);
    free(ram_path);
    if (own_qmp)
        qmp_close(q);
    guardian_done(guard);
    return rc;
}

json_t *ffwd_capture_open(const char *dir)
{
    char *mp = xasprintf("%s/manifest.json", dir);
    json_error_t je;
    json_t *m = json_load_file(mp, 0, &je);
    if (!m) {
        struct stat dst;
        if (stat(dir, &dst) < 0)
            ffwd_seterr_errno("%s", dir);
        else if (!path_exists(mp))
            ffwd_seterr("%s is not a capture: no manifest.json (an unfinished capture has none)", dir);
        else
            ffwd_seterr("%s: malformed JSON at line %d: %s", mp, je.line, je.text);
        free(mp);
        return NULL;
    }
    const char *fmt = json_string_value(json_object_get(m, "format"));
    json_t *ver = json_object_get(m, "version");
    if (!fmt || strcmp(fmt, FFWD_CAPTURE_FORMAT)) {
        ffwd_seterr("%s: field 'format' must be \"%s\"", mp, FFWD_CAPTURE_FORMAT);
        goto bad;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != FFWD_CAPTURE_VERSION) {
        ffwd_seterr("%s: field 'version' is not %d (this ffwd reads version %d)", mp, FFWD_CAPTURE_VERSION,
                    FFWD_CAPTURE_VERSION);
        goto bad;
    }
    json_t *files = json_object_get(m, "files");
    if (!json_is_object(files) || !json_object_size(files)) {
        ffwd_seterr("%s: field 'files' is missing or empty", mp);
        goto bad;
    }
    const char *name;
    json_t *f;
    json_object_foreach(files, name, f)
    {
        if (!path_name_ok(name)) {
            ffwd_seterr("%s: files.%s is not a plain file name inside the capture", mp, name);
            goto bad;
        }
        char *p = xasprintf("%s/%s", dir, name);
        json_t *sz = json_object_get(f, "size");
        const char *crc_s = json_string_value(json_object_get(f, "crc32"));
        int64_t have = file_size(p);
        if (have < 0 || !json_is_integer(sz) || have != json_integer_value(sz) || !crc_s) {
            ffwd_seterr("%s: file %s is missing or has the wrong size (manifest field files.%s)", dir, name, name);
            free(p);
            goto bad;
        }
        uint32_t crc = 0;
        if (crc32_file(p, (uint64_t)have, &crc) < 0) {
            free(p);
            goto bad;
        }
        free(p);
        if (crc != (uint32_t)strtoul(crc_s, NULL, 16)) {
            ffwd_seterr("%s: file %s does not match its CRC-32 in the manifest (corrupt capture)", dir, name);
            goto bad;
        }
    }
    /* every file a reader opens is one of those checked above: a plain
     * name inside the capture, listed with its size and CRC-32 */
    {
        json_t *vc = json_object_get(m, "vcpus"), *cf = json_object_get(m, "cpu_files");
        json_t *ram = json_object_get(m, "ram"), *disks = json_object_get(m, "disks");
        json_t *prof = json_object_get(m, "profile");
        if (!json_is_integer(vc) || json_integer_value(vc) < 1 || json_integer_value(vc) > FFWD_MAX_CPUS ||
            !json_is_array(cf) || json_array_size(cf) != (size_t)json_integer_value(vc)) {
            ffwd_seterr("%s: fields vcpus and cpu_files must agree (1..%d CPUs, one file each)", mp, FFWD_MAX_CPUS);
            goto bad;
        }
        const char *need[] = {"gic.json", "timer.json", "devices.json"};
        for (size_t i = 0; i < 3; i++)
            if (!json_object_get(files, need[i])) {
                ffwd_seterr("%s: %s is not listed in field 'files'", mp, need[i]);
                goto bad;
            }
        size_t i;
        json_t *x;
        json_array_foreach(cf, i, x)
        {
            const char *n = json_string_value(x);
            if (!path_name_ok(n) || !json_object_get(files, n)) {
                ffwd_seterr("%s: cpu_files[%zu] '%s' is not a file listed in field 'files'", mp, i, n ? n : "");
                goto bad;
            }
        }
        if (!json_is_array(ram) || json_array_size(ram) != 1) {
            ffwd_seterr("%s: field 'ram' must list one RAM region", mp);
            goto bad;
        }
        json_t *r0 = json_array_get(ram, 0);
        const char *rf = json_string_value(json_object_get(r0, "file"));
        json_t *rsz = json_object_get(r0, "size");
        json_int_t want = json_integer_value(json_object_get(prof, "mem_bytes"));
        json_t *lf = rf ? json_object_get(files, rf) : NULL;
        if (!path_name_ok(rf) || !lf) {
            ffwd_seterr("%s: ram[0].file '%s' is not a file listed in field 'files'", mp, rf ? rf : "");
            goto bad;
        }
        if (!json_is_integer(rsz) || json_integer_value(rsz) < (64 << 20) || json_integer_value(rsz) % (1 << 20) ||
            json_integer_value(rsz) != want || json_integer_value(json_object_get(lf, "size")) != json_integer_value(rsz)) {
            ffwd_seterr("%s: ram[0].size %lld disagrees with profile.mem_bytes %lld or with the size of %s "
                        "(files.%s.size %lld)",
                        mp, (long long)json_integer_value(rsz), (long long)want, rf, rf,
                        (long long)json_integer_value(json_object_get(lf, "size")));
            goto bad;
        }
        if (disks && !json_is_array(disks)) {
            ffwd_seterr("%s: field 'disks' must be a list", mp);
            goto bad;
        }
        json_array_foreach(disks, i, x)
        {
            const char *n = json_string_value(json_object_get(x, "file"));
            if (!path_name_ok(n) || !json_object_get(files, n)) {
                ffwd_seterr("%s: disks[%zu].file '%s' is not a file listed in field 'files'", mp, i, n ? n : "");
                goto bad;
            }
        }
    }
    free(mp);
    return m;
bad:
    free(mp);
    json_decref(m);
    return NULL;
}
