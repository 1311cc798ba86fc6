/* writer.c -- see writer.h and docs/gem5-mapping.md. */
#define _GNU_SOURCE
#include "../common/paths.h"
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../capture/capture.h"
#include "../capture/cjson.h"
#include "../capture/delta.h"
#include "../capture/sysreg.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../qemu/profile.h"
#include "gem5src.h"
#include "ini.h"
#include "layout.h"
#include "pmem.h"

#define GEM5_TICKS_PER_S 1000000000000ULL /* gem5's default tick: 1 ps */
#define INT_REGS 42

/* Reg64Map of gem5 (src/arch/arm/regs/int.hh): X15 lives in R13_hyp, X16..X30 in banked slots. */
static const int xslot[31] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 20,
                              26, 25, 17, 16, 22, 21, 24, 23, 27, 28, 29, 30, 31, 32, 33};
int gem5_xreg_slot(int n) { return n >= 0 && n < 31 ? xslot[n] : -1; }

/* Registers whose gem5 value is kept (identification: gem5 describes the CPU it models). */
static const char *const keep_gem5[] = {
    "MIDR_EL1",     "REVIDR_EL1",    "MPIDR_EL1",    "CTR_EL0",      "DCZID_EL0",     "CLIDR_EL1",
    "CCSIDR_EL1",   "AIDR_EL1",      "RVBAR_EL1",    "RMR_EL1",      "DBGAUTHSTATUS_EL1", "MDRAR_EL1",
    "ISR_EL1",      "L2CTLR_EL1",    "L2ECTLR_EL1",  "L2ACTLR_EL1",  "CPUACTLR_EL1",  "CPUECTLR_EL1",
    "CPUMERRSR_EL1", "L2MERRSR_EL1", "CBAR_EL1",     "DBGDTR_EL0",   "DBGDTRRX_EL0",  "OSDTRRX_EL1",
    "OSDTRTX_EL1",  NULL};

/* Identification, implementation-defined, PMU and debug-channel registers keep
 * gem5's values: they describe (or belong to) the CPU gem5 models. */
static bool is_keep_gem5(const char *n)
{
    if (!strncmp(n, "ID_", 3) || !strncmp(n, "MVFR", 4) || !strncmp(n, "PM", 2) || !strncmp(n, "S3_0_C0_", 8))
        return true;
    for (const char *const *k = keep_gem5; *k; k++)
        if (!strcmp(*k, n))
            return true;
    return false;
}

/* "a b c" byte list of little-endian values */
static void bytes_le(struct sbuf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        sbuf_addf(b, "%s%u", b->len ? " " : "", (unsigned)(v >> (8 * i) & 0xff));
}

/* ---- template ---- */

static int load_template(const char *given, int gic, struct ini *t, char **what)
{
    char *path;
    if (given)
        path = path_is_dir(given) ? xasprintf("%s/m5.cpt", given) : xstrdup(given);
    else {
        char *d = ffwd_data_dir();
        path = xasprintf("%s/gem5/templates/v24.0-gicv%d.cpt.gz", d, gic);
        free(d);
    }
    size_t len;
    char *text = read_file_gz(path, &len);
    if (!text) {
        free(path);
        return -1;
    }
    int r = ini_parse(text, len, path, t);
    free(text);
    if (r == 0 && (!ini_find(t, "system.cpu.isa.miscRegs") || !ini_find(t, "root.globals") ||
                   !ini_find(t, "system.realview.sys_counter"))) {
        ini_free(t);
        r = ffwd_seterr("%s is not a 1-CPU checkpoint of the ffwd platform (no [system.cpu.isa.miscRegs], "
                        "[root.globals] or [system.realview.sys_counter])",
                        path);
    }
    if (r == 0 && gic == 3 && !ini_find(t, "system.realview.gic.distributor")) {
        ini_free(t);
        r = ffwd_seterr("%s has no GICv3 distributor but the capture has a GICv3", path);
    }
    if (r == 0 && gic == 2 && !ini_get(ini_find(t, "system.realview.gic"), "itLines")) {
        ini_free(t);
        r = ffwd_seterr("%s has no GICv2 but the capture has a GICv2", path);
    }
    *what = path;
    return r;
}

/* the legacy names the sections are filled under (layout.h renames them) */
static char *cpu_path(unsigned i, unsigned n)
{
    return gem5_list_name("system.cpu", i, n);
}

/* ---- per CPU ---- */
struct conv {
    const struct gem5_miscregs *mr;
    unsigned written, kept, unmapped;
    json_t *unmapped_list;
    uint64_t cur_tick, counter, period_ticks, cntfrq;
};

static void set_misc(struct conv *c, struct ini_sec *misc, const char *reg, uint64_t v)
{
    const struct gem5_reg_map *m = gem5_miscregs_find(c->mr, reg);
    if (!m) {
        c->unmapped++;
        json_array_append_new(c->unmapped_list, json_string(reg));
        return;
    }
    if (m->hi) {
        ini_set_u64(misc, m->lo, v & 0xffffffffULL);
        ini_set_u64(misc, m->hi, v >> 32);
    } else
        ini_set_u64(misc, m->lo, v);
    c->written++;
}

static int fill_cpu(struct conv *c, struct ini *t, const char *P, json_t *cpu, json_t *gic, unsigned idx,
                    bool irq_pending)
{
    char *xn = xasprintf("%s.xc.0", P), *mn = xasprintf("%s.isa.miscRegs", P), *in = xasprintf("%s.interrupts", P);
    struct ini_sec *x = ini_find(t, xn), *misc = ini_find(t, mn), *intr = ini_find(t, in), *cs = ini_find(t, P);
    free(xn);
    free(mn);
    free(in);
    if (!x || !misc || !intr || !cs)
        return ffwd_seterr("template lacks the sections of %s", P);
    if (!json_is_true(json_object_get(cpu, "aarch64")))
        return ffwd_seterr("vCPU %u is in AArch32 state: not supported", idx);
    uint64_t pstate = cj_hex(cpu, "pstate"), pc = cj_hex(cpu, "pc"), sp = cj_hex(cpu, "sp");
    unsigned el = (unsigned)(pstate >> 2 & 3), spsel = (unsigned)(pstate & 1);
    if (el > 1)
        return ffwd_seterr("vCPU %u is at EL%u; the ffwd gem5 platform has no EL2/EL3", idx, el);

    /* integer file */
    uint64_t ir[INT_REGS] = {0};
    json_t *xs = json_object_get(cpu, "x");
    for (int n = 0; n < 31; n++)
        ir[xslot[n]] = cj_hex_at(xs, (size_t)n);
    json_t *spel = json_object_get(cpu, "sp_el");
    ir[38] = cj_hex_at(spel, 0); /* SP_EL0 */
    ir[39] = cj_hex_at(spel, 1); /* SP_EL1 */
    /* the live SP goes where PSTATE points (QEMU's banked copy of it is stale) */
    if (el == 0 || spsel == 0)
        ir[38] = sp;
    else
        ir[39] = sp;
    struct sbuf b = {0};
    for (int i = 0; i < INT_REGS; i++)
        bytes_le(&b, ir[i], 8);
    ini_set(x, "regs.integer", b.s);
    sbuf_free(&b);
    ini_set(x, "regs.floating_point", "");
    /* vector registers: 44 x 256 bytes; elements: 44 x 64 x 8 bytes */
    json_t *v = json_object_get(cpu, "v");
    struct sbuf vb = {0}, eb = {0};
    for (int r = 0; r < 44; r++) {
        uint64_t lo = 0, hi = 0;
        if (r < 32) {
            const char *s = json_string_value(json_array_get(v, (size_t)r));
            if (s && strlen(s) == 34) {
                char h[17];
                memcpy(h, s + 2, 16);
                h[16] = 0;
                hi = strtoull(h, NULL, 16);
                lo = strtoull(s + 18, NULL, 16);
            }
        }
        bytes_le(&vb, lo, 8);
        bytes_le(&vb, hi, 8);
        for (int k = 16; k < 256; k++)
            sbuf_addf(&vb, " 0");
        uint32_t w[4] = {(uint32_t)lo, (uint32_t)(lo >> 32), (uint32_t)hi, (uint32_t)(hi >> 32)};
        for (int k = 0; k < 64; k++)
            bytes_le(&eb, k < 4 ? w[k] : 0, 8);
    }
    ini_set(x, "regs.vector", vb.s);
    ini_set(x, "regs.vector_element", eb.s);
    sbuf_free(&vb);
    sbuf_free(&eb);
    /* predicate (18 x 256) and matrix (65536) stay as the template has them: zero */
    /* condition codes: nz, c, v, ge, fp, zero */
    uint64_t n = pstate >> 31 & 1, z = pstate >> 30 & 1, cf = pstate >> 29 & 1, vf = pstate >> 28 & 1;
    struct sbuf cc = {0};
    bytes_le(&cc, n << 1 | z, 8);
    bytes_le(&cc, cf, 8);
    bytes_le(&cc, vf, 8);
    bytes_le(&cc, 0, 8);
    bytes_le(&cc, 0, 8);
    bytes_le(&cc, 0, 8);
    ini_set(x, "regs.condition_code", cc.s);
    sbuf_free(&cc);
    /* PC state: AArch64, next instruction */
    ini_set_u64(x, "_pc", pc);
    ini_set_u64(x, "_npc", pc + 4);
    ini_set(x, "_upc", "0");
    ini_set(x, "_nupc", "1");
    ini_set(x, "flags", "4");
    ini_set(x, "_size", "4");
    ini_set(x, "nextFlags", "4");
    ini_set(x, "_itstate", "0");
    ini_set(x, "_nextItstate", "0");
    ini_set_bool(x, "_illegalExec", (pstate >> 20) & 1);
    ini_set(x, "_debugStep", "false");
    ini_set(x, "_stepped", "false");
    ini_set(x, "_status", "0"); /* Active: a vCPU that sat in WFI resumes after it */
    const char *ints = irq_pending ? "false false true false false false false" : "false false false false false false false";
    ini_set(x, "interrupts", ints);
    ini_set(x, "intStatus", irq_pending ? "4" : "0");
    ini_set(intr, "interrupts", ints);
    ini_set(intr, "intStatus", irq_pending ? "4" : "0");
    ini_set(cs, "instCnt", "0");

    /* misc registers */
    ini_set_u64(misc, "cpsr", pstate & 0xffffffffULL);
    ini_set_u64(misc, "fpscr", (cj_hex(cpu, "fpcr") | cj_hex(cpu, "fpsr")) & 0xffffffffULL);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(cpu, "sysregs"), i, r)
    {
        /* name from the encoding (the capture may predate a table update) */
        struct sysreg_enc enc = {(unsigned)json_integer_value(json_object_get(r, "op0")),
                                 (unsigned)json_integer_value(json_object_get(r, "op1")),
                                 (unsigned)json_integer_value(json_object_get(r, "crn")),
                                 (unsigned)json_integer_value(json_object_get(r, "crm")),
                                 (unsigned)json_integer_value(json_object_get(r, "op2"))};
        char nbuf[48];
        const char *name = sysreg_name(enc, nbuf, sizeof nbuf);
        uint64_t val = cj_hex(r, "value");
        if (!strcmp(name, "SP_EL0") || !strcmp(name, "SP_EL1") || !strcmp(name, "FPCR") || !strcmp(name, "FPSR") ||
            !strcmp(name, "NZCV") || !strcmp(name, "DAIF"))
            continue; /* integer file / fpscr / cpsr */
        if (!strncmp(name, "CNTP", 4) || !strncmp(name, "CNTV", 4) || !strcmp(name, "CNTFRQ_EL0")) {
            set_misc(c, misc, name, val); /* also kept in the timer device, below */
            continue;
        }
        if (is_keep_gem5(name)) {
            c->kept++;
            continue;
        }
        set_misc(c, misc, name, val);
    }
    /* QEMU keeps ELR_EL1 and SPSR_EL1 outside its system-register list (env->elr_el[],
     * env->banked_spsr[]): a vCPU stopped in an exception entry needs them to return */
    set_misc(c, misc, "ELR_EL1", cj_hex_at(json_object_get(cpu, "elr_el"), 1));
    set_misc(c, misc, "SPSR_EL1", cj_hex(json_object_get(cpu, "spsr_el"), "el1") & 0xffffffffULL);
    /* the exclusive monitor is cleared; LL/SC sequences retry */
    ini_set(misc, "lockflag", "0");
    ini_set(misc, "lockaddr", "0");
    /* GICv3 CPU interface state lives in the ISA */
    if (json_integer_value(json_object_get(gic, "version")) == 3) {
        json_t *ci = json_array_get(json_object_get(gic, "cpu_interfaces"), idx);
        if (!ci)
            return ffwd_seterr("gic.json has no CPU interface for vCPU %u", idx);
        json_t *apr = json_object_get(ci, "apr"), *bpr = json_object_get(ci, "bpr"),
               *en = json_object_get(ci, "igrpen"), *ctlr = json_object_get(ci, "ctlr_el1");
        set_misc(c, misc, "ICC_PMR_EL1", cj_hex(ci, "pmr_el1"));
        set_misc(c, misc, "ICC_IGRPEN0_EL1", cj_hex_at(en, 0));
        set_misc(c, misc, "ICC_IGRPEN1_EL1", cj_hex_at(en, 2)); /* the Non-secure group 1 enable */
        set_misc(c, misc, "ICC_BPR0_EL1", cj_hex_at(bpr, 0));
        set_misc(c, misc, "ICC_BPR1_EL1", cj_hex_at(bpr, 2));
        set_misc(c, misc, "ICC_CTLR_EL1", cj_hex_at(ctlr, 1));
        set_misc(c, misc, "ICC_SRE_EL1", cj_hex(ci, "sre_el1"));
        static const char *const ap0[] = {"ICC_AP0R0_EL1", "ICC_AP0R1_EL1", "ICC_AP0R2_EL1", "ICC_AP0R3_EL1"};
        static const char *const ap1[] = {"ICC_AP1R0_EL1", "ICC_AP1R1_EL1", "ICC_AP1R2_EL1", "ICC_AP1R3_EL1"};
        for (int k = 0; k < 4; k++) {
            set_misc(c, misc, ap0[k], cj_hex_at(apr, (size_t)k));
            set_misc(c, misc, ap1[k], cj_hex_at(apr, (size_t)(8 + k)));
        }
    }
    return 0;
}

/* ---- GICv3 ---- */
static int bit(json_t *words, unsigned i) { return (int)(cj_hex_at(words, i / 32) >> (i % 32) & 1); }

static void list_bits(struct ini_sec *s, const char *key, json_t *words, unsigned n, bool as_bool)
{
    struct sbuf b = {0};
    for (unsigned i = 0; i < n; i++) {
        int v = bit(words, i);
        sbuf_addf(&b, "%s%s", i ? " " : "", as_bool ? (v ? "true" : "false") : (v ? "1" : "0"));
    }
    ini_set(s, key, b.s ? b.s : "");
    sbuf_free(&b);
}

/* A redistributor's SGI/PPI configuration and pending state. SGIs (0..15) are
 * always edge-triggered: QEMU keeps no configuration for them (its
 * edge_trigger bits there are arbitrary) and only a latched pending bit. A
 * level-sensitive PPI whose line is high is pending: devices do not
 * re-assert their lines after a restore. */
static uint32_t redist_edge(json_t *rd) { return (uint32_t)((cj_hex(rd, "edge_trigger") & 0xffff0000ULL) | 0xffffULL); }

static uint32_t redist_pending(json_t *rd)
{
    return (uint32_t)(cj_hex(rd, "ispendr0") | (cj_hex(rd, "level") & ~(uint64_t)redist_edge(rd)));
}

/* the highest-priority interrupt gem5 should see pending for CPU c (GICv3 keeps it cached) */
struct hppi {
    unsigned intid, prio;
};

static struct hppi gicv3_hppi(json_t *gic, unsigned c, unsigned ncpu)
{
    struct hppi h = {1023, 255};
    json_t *d = json_object_get(gic, "distributor");
    json_t *rd = json_array_get(json_object_get(gic, "redistributors"), c);
    uint64_t gicd_ctlr = cj_hex(d, "ctlr");
    uint32_t rpend = redist_pending(rd), en = (uint32_t)cj_hex(rd, "isenabler0"), act = (uint32_t)cj_hex(rd, "isactiver0");
    for (unsigned i = 0; i < 32; i++) {
        if (!(rpend >> i & 1) || !(en >> i & 1) || (act >> i & 1))
            continue;
        unsigned p = (unsigned)cj_hex_at(json_object_get(rd, "ipriorityr"), i);
        if (p < h.prio)
            h = (struct hppi){i, p};
    }
    if (gicd_ctlr & 2) { /* group 1 NS enabled */
        for (unsigned i = 32; i < VIRT_GIC_IT_LINES; i++) {
            int pend = bit(json_object_get(d, "ispendr"), i) ||
                       (bit(json_object_get(d, "level"), i) && !bit(json_object_get(d, "edge_trigger"), i));
            if (!pend || !bit(json_object_get(d, "isenabler"), i) || bit(json_object_get(d, "isactiver"), i))
                continue;
            uint64_t route = cj_hex_at(json_object_get(d, "irouter"), i);
            unsigned target = (unsigned)(route & 0xff) + 16 * (unsigned)(route >> 8 & 0xff);
            if (!(route >> 31 & 1) && target != c)
                continue;
            if ((route >> 31 & 1) && c != 0)
                continue; /* 1-of-N: QEMU delivers to the first CPU */
            unsigned p = (unsigned)cj_hex_at(json_object_get(d, "ipriority"), i);
            if (p < h.prio)
                h = (struct hppi){i, p};
        }
    }
    (void)ncpu;
    return h;
}

static bool gicv3_irq_for_cpu(json_t *gic, unsigned c, struct hppi h)
{
    if (h.intid == 1023)
        return false;
    json_t *ci = json_array_get(json_object_get(gic, "cpu_interfaces"), c);
    uint64_t pmr = cj_hex(ci, "pmr_el1");
    if (!(cj_hex_at(json_object_get(ci, "igrpen"), 2) & 1))
        return false;
    /* running priority: the lowest set bit of the active-priority registers */
    json_t *apr = json_object_get(ci, "apr");
    for (size_t k = 0; k < 12; k++)
        if (cj_hex_at(apr, k))
            return false; /* a handler is active: let gem5's CPU interface decide at its next update */
    return h.prio < pmr;
}

static int fill_gicv3(struct ini *t, json_t *gic, unsigned ncpu, bool *irq)
{
    json_t *d = json_object_get(gic, "distributor");
    struct ini_sec *s = ini_find(t, "system.realview.gic.distributor");
    if (!s)
        return ffwd_seterr("template has no [system.realview.gic.distributor]");
    uint64_t ctlr = cj_hex(d, "ctlr");
    const unsigned n = VIRT_GIC_IT_LINES;
    ini_set(s, "ARE", "true");
    ini_set(s, "DS", "true");
    ini_set_bool(s, "EnableGrp0", (int)(ctlr & 1));
    ini_set_bool(s, "EnableGrp1NS", (int)(ctlr >> 1 & 1));
    ini_set_bool(s, "EnableGrp1S", (int)(ctlr >> 2 & 1));
    list_bits(s, "irqGroup", json_object_get(d, "igroupr"), n, false);
    list_bits(s, "irqEnabled", json_object_get(d, "isenabler"), n, true);
    /* level-sensitive lines that are high are pending: devices do not re-assert after a restore */
    struct sbuf pb = {0}, ab = {0}, pr = {0}, cf = {0}, gm = {0}, ns = {0}, rt = {0}, ip = {0};
    for (unsigned i = 0; i < n; i++) {
        int pend = bit(json_object_get(d, "ispendr"), i) ||
                   (bit(json_object_get(d, "level"), i) && !bit(json_object_get(d, "edge_trigger"), i));
        const char *sp = i ? " " : "";
        sbuf_addf(&pb, "%s%s", sp, pend ? "true" : "false");
        sbuf_addf(&ip, "%sfalse", sp);
        sbuf_addf(&ab, "%s%s", sp, bit(json_object_get(d, "isactiver"), i) ? "true" : "false");
        sbuf_addf(&pr, "%s%u", sp, (unsigned)cj_hex_at(json_object_get(d, "ipriority"), i));
        sbuf_addf(&cf, "%s%d", sp, bit(json_object_get(d, "edge_trigger"), i));
        sbuf_addf(&gm, "%s%d", sp, bit(json_object_get(d, "igrpmodr"), i));
        sbuf_addf(&ns, "%s0", sp);
        sbuf_addf(&rt, "%s%" PRIu64, sp, cj_hex_at(json_object_get(d, "irouter"), i));
    }
    ini_set(s, "irqPending", pb.s);
    ini_set(s, "irqPendingIspendr", ip.s);
    ini_set(s, "irqActive", ab.s);
    ini_set(s, "irqPriority", pr.s);
    ini_set(s, "irqConfig", cf.s);
    ini_set(s, "irqGrpmod", gm.s);
    ini_set(s, "irqNsacr", ns.s);
    ini_set(s, "irqAffinityRouting", rt.s);
    sbuf_free(&pb), sbuf_free(&ip), sbuf_free(&ab), sbuf_free(&pr), sbuf_free(&cf), sbuf_free(&gm), sbuf_free(&ns),
        sbuf_free(&rt);
    for (unsigned c = 0; c < ncpu; c++) {
        char *rn = xasprintf("system.realview.gic.redistributors.%u", c), *cn = xasprintf("system.realview.gic.cpuInterface.%u", c);
        struct ini_sec *r = ini_find(t, rn), *ci = ini_find(t, cn);
        free(rn);
        free(cn);
        json_t *rd = json_array_get(json_object_get(gic, "redistributors"), c);
        if (!r || !ci || !rd)
            return ffwd_seterr("no redistributor state for CPU %u", c);
        uint64_t waker = cj_hex(rd, "waker"), rctlr = cj_hex(rd, "ctlr");
        ini_set_bool(r, "peInLowPowerState", (int)(waker >> 1 & 1));
        struct sbuf g = {0}, e = {0}, p = {0}, pi = {0}, a = {0}, prio = {0}, cfg = {0}, gmod = {0}, nsa = {0};
        uint32_t edge = redist_edge(rd), pend = redist_pending(rd);
        for (unsigned i = 0; i < 32; i++) {
            const char *sp = i ? " " : "";
            sbuf_addf(&g, "%s%u", sp, (unsigned)(cj_hex(rd, "igroupr0") >> i & 1));
            sbuf_addf(&e, "%s%s", sp, (cj_hex(rd, "isenabler0") >> i & 1) ? "true" : "false");
            sbuf_addf(&p, "%s%s", sp, (pend >> i & 1) ? "true" : "false");
            sbuf_addf(&pi, "%sfalse", sp);
            sbuf_addf(&a, "%s%s", sp, (cj_hex(rd, "isactiver0") >> i & 1) ? "true" : "false");
            sbuf_addf(&prio, "%s%u", sp, (unsigned)cj_hex_at(json_object_get(rd, "ipriorityr"), i));
            sbuf_addf(&cfg, "%s%u", sp, (unsigned)(edge >> i & 1));
            sbuf_addf(&gmod, "%s%u", sp, (unsigned)(cj_hex(rd, "igrpmodr0") >> i & 1));
            sbuf_addf(&nsa, "%s0", sp);
        }
        ini_set(r, "irqGroup", g.s);
        ini_set(r, "irqEnabled", e.s);
        ini_set(r, "irqPending", p.s);
        ini_set(r, "irqPendingIspendr", pi.s);
        ini_set(r, "irqActive", a.s);
        ini_set(r, "irqPriority", prio.s);
        ini_set(r, "irqConfig", cfg.s);
        ini_set(r, "irqGrpmod", gmod.s);
        ini_set(r, "irqNsacr", nsa.s);
        sbuf_free(&g), sbuf_free(&e), sbuf_free(&p), sbuf_free(&pi), sbuf_free(&a), sbuf_free(&prio),
            sbuf_free(&cfg), sbuf_free(&gmod), sbuf_free(&nsa);
        ini_set_bool(r, "DPG1S", (int)(rctlr >> 26 & 1));
        ini_set_bool(r, "DPG1NS", (int)(rctlr >> 25 & 1));
        ini_set_bool(r, "DPG0", (int)(rctlr >> 24 & 1));
        ini_set(r, "EnableLPIs", "false");
        ini_set(r, "lpiConfigurationTablePtr", "0");
        ini_set(r, "lpiIDBits", "0");
        ini_set(r, "lpiPendingTablePtr", "0");
        struct hppi h = gicv3_hppi(gic, c, ncpu);
        ini_set_u64(ci, "hppi.intid", h.intid);
        ini_set_u64(ci, "hppi.prio", h.prio);
        ini_set(ci, "hppi.group", h.intid == 1023 ? "0" : "2"); /* Group 1 Non-secure (DS=1) */
        irq[c] = gicv3_irq_for_cpu(gic, c, h);
    }
    return 0;
}

/* ---- GICv2 ---- */
static int fill_gicv2(struct ini *t, json_t *gic, unsigned ncpu)
{
    struct ini_sec *s = ini_find(t, "system.realview.gic");
    json_t *d = json_object_get(gic, "distributor");
    if (!s || !d)
        return ffwd_seterr("GICv2 state or template section missing");
    const unsigned n = VIRT_GIC_IT_LINES;
    ini_set_bool(s, "enabled", (int)(cj_hex(d, "ctlr") & 1));
    ini_set_u64(s, "itLines", n);
    static const char *const words[][2] = {
        {"intEnabled", "isenabler"}, {"pendingInt", "ispendr"}, {"activeInt", "isactiver"}, {"intGroup", "igroupr"}};
    for (int k = 0; k < 4; k++) {
        struct sbuf b = {0};
        json_t *a = json_object_get(d, words[k][1]), *lv = json_object_get(d, "level"), *cfg = json_object_get(d, "icfgr");
        for (unsigned w = 1; w < 32; w++) {
            uint64_t v = cj_hex_at(a, w);
            if (k == 1) /* pending: also level-high level-sensitive lines */
                for (unsigned bpos = 0; bpos < 32; bpos++) {
                    unsigned irq = w * 32 + bpos;
                    bool edge = cj_hex_at(cfg, irq / 16) >> (2 * (irq % 16) + 1) & 1;
                    if (!edge && (cj_hex_at(lv, w) >> bpos & 1))
                        v |= 1ULL << bpos;
                }
            sbuf_addf(&b, "%s%" PRIu64, w > 1 ? " " : "", (uint64_t)(v & 0xffffffffULL));
        }
        ini_set(s, words[k][0], b.s);
        sbuf_free(&b);
    }
    struct sbuf pr = {0}, tg = {0}, cf = {0};
    json_t *prio = json_object_get(d, "ipriority_spi"), *targ = json_object_get(d, "itargets_spi"),
           *icfgr = json_object_get(d, "icfgr");
    for (unsigned i = 0; i < 988; i++) {
        sbuf_addf(&pr, "%s%lld", i ? " " : "", i < n - 32 ? (long long)json_integer_value(json_array_get(prio, i)) : 0LL);
        sbuf_addf(&tg, "%s%lld", i ? " " : "", i < n - 32 ? (long long)json_integer_value(json_array_get(targ, i)) : 0LL);
    }
    for (unsigned w = 2; w < 64; w++)
        sbuf_addf(&cf, "%s%" PRIu64, w > 2 ? " " : "", w < n / 16 ? cj_hex_at(icfgr, w) : 0);
    ini_set(s, "intPriority", pr.s);
    ini_set(s, "cpuTarget", tg.s);
    ini_set(s, "intConfig", cf.s);
    sbuf_free(&pr), sbuf_free(&tg), sbuf_free(&cf);
    struct sbuf rpr = {0}, ctl = {0}, pmr = {0}, bpr = {0}, hi = {0}, ppa = {0}, ppp = {0};
    json_t *cis = json_object_get(gic, "cpu_interfaces"), *cpus = json_object_get(gic, "cpus");
    for (unsigned c = 0; c < 256; c++) {
        json_t *ci = c < ncpu ? json_array_get(cis, c) : NULL, *bc = c < ncpu ? json_array_get(cpus, c) : NULL;
        const char *sp = c ? " " : "";
        uint64_t r = ci ? cj_hex(ci, "rpr") : 255;
        sbuf_addf(&rpr, "%s%" PRIu64, sp, r > 255 ? 255 : r);
        sbuf_addf(&ctl, "%s%" PRIu64, sp, ci ? cj_hex(ci, "ctlr") : 0);
        sbuf_addf(&pmr, "%s%" PRIu64, sp, ci ? cj_hex(ci, "pmr") : 255);
        sbuf_addf(&bpr, "%s%" PRIu64, sp, ci ? cj_hex(ci, "bpr") : 2);
        sbuf_addf(&hi, "%s1023", sp); /* gem5 recomputes it when it resumes (GicV2::drainResume) */
        /* gem5's cpuPpi* hold PPI n (16..31) at bit n - 16 (GicV2::sendPPInt) */
        sbuf_addf(&ppa, "%s%" PRIu64, sp, bc ? (uint64_t)(cj_hex(bc, "isactiver0") >> 16 & 0xffffULL) : 0);
        uint64_t pp = 0;
        if (bc) { /* PPIs 16..31: latched pending, or a level-sensitive line that is high */
            pp = cj_hex(bc, "ispendr0") >> 16 & 0xffffULL;
            for (unsigned k = 0; k < 16; k++)
                if (!(cj_hex(bc, "icfgr1") >> (2 * k + 1) & 1) && (cj_hex(bc, "level0") >> (16 + k) & 1))
                    pp |= 1ULL << k;
        }
        sbuf_addf(&ppp, "%s%" PRIu64, sp, pp);
    }
    ini_set(s, "iccrpr", rpr.s);
    ini_set(s, "cpuControl", ctl.s);
    ini_set(s, "cpuPriority", pmr.s);
    ini_set(s, "cpuBpr", bpr.s);
    ini_set(s, "cpuHighestInt", hi.s);
    ini_set(s, "cpuPpiActive", ppa.s);
    ini_set(s, "cpuPpiPending", ppp.s);
    sbuf_free(&rpr), sbuf_free(&ctl), sbuf_free(&pmr), sbuf_free(&bpr), sbuf_free(&hi), sbuf_free(&ppa),
        sbuf_free(&ppp);
    /* SGIs: bit (8 x source + target) per SGI. An active SGI needs its
     * source too (gem5 checks the pair at EOI); QEMU keeps none, so only a
     * single CPU (source 0) has a faithful form -- the capture settles out
     * of the state otherwise, and a capture that has it is refused here. */
    struct sbuf sg = {0}, sa = {0};
    for (unsigned k = 0; k < 16; k++) {
        uint64_t v = 0, act = 0;
        for (unsigned c = 0; c < ncpu; c++) {
            json_t *bc = json_array_get(cpus, c);
            uint64_t src = cj_hex_at(json_object_get(bc, "sgi_pending_sources"), k);
            for (unsigned sc = 0; sc < 8; sc++)
                if (src >> sc & 1)
                    v |= 1ULL << (8 * sc + c);
            if (cj_hex(bc, "isactiver0") >> k & 1) {
                if (ncpu > 1) {
                    sbuf_free(&sg);
                    sbuf_free(&sa);
                    return ffwd_seterr("gic.json: vCPU %u was handling inter-processor interrupt SGI %u when the "
                                       "capture was taken; gem5's GICv2 needs the CPU that sent it, which QEMU does "
                                       "not keep (recapture: ffwd captures settle out of this state; or use --gic 3)",
                                       c, k);
                }
                act |= 1ULL << c;
            }
        }
        sbuf_addf(&sg, "%s%" PRIu64, k ? " " : "", v);
        sbuf_addf(&sa, "%s%" PRIu64, k ? " " : "", act);
    }
    ini_set(s, "cpuSgiPending", sg.s);
    ini_set(s, "cpuSgiActive", sa.s);
    sbuf_free(&sg);
    sbuf_free(&sa);
    /* banked SGI/PPI registers per CPU */
    char *prev = xstrdup("system.realview.gic");
    for (unsigned c = 0; c < ncpu; c++) {
        json_t *bc = json_array_get(cpus, c);
        char *bn = xasprintf("system.realview.gic.bankedRegs%u", c);
        struct ini_sec *bs = ini_add(t, bn, prev);
        free(prev);
        prev = bn;
        ini_set_u64(bs, "intEnabled", cj_hex(bc, "isenabler0"));
        /* gem5 keeps SGI/PPI pending and active state in cpuSgi and cpuPpi
         * (above); its banked word 0 holds them only after a guest write to
         * ISPENDR0/ISACTIVER0, and an EOI does not clear it there -- a bit
         * set here would silence that PPI (the timer) for good */
        ini_set(bs, "pendingInt", "0");
        ini_set(bs, "activeInt", "0");
        ini_set_u64(bs, "intGroup", cj_hex(bc, "igroupr0"));
        ini_setf(bs, "intConfig", "%" PRIu64 " %" PRIu64, cj_hex(bc, "icfgr0"), cj_hex(bc, "icfgr1"));
        struct sbuf p = {0};
        for (unsigned i = 0; i < 32; i++)
            sbuf_addf(&p, "%s%lld", i ? " " : "",
                      (long long)json_integer_value(json_array_get(json_object_get(bc, "ipriority0_31"), i)));
        ini_set(bs, "intPriority", p.s);
        sbuf_free(&p);
    }
    free(prev);
    return 0;
}

/* ---- timer, UART, RTC, virtio ---- */
static int fill_timer(struct conv *c, struct ini *t, json_t *timer, unsigned ncpu)
{
    struct ini_sec *sc = ini_find(t, "system.realview.sys_counter"), *gt = ini_find(t, "system.realview.generic_timer");
    if (!sc || !gt)
        return ffwd_seterr("template has no system counter / generic timer");
    ini_set(sc, "_enabled", "true");
    ini_set_u64(sc, "_freq", c->cntfrq);
    ini_set_u64(sc, "_value", c->counter);
    ini_set(sc, "_increment", "1");
    ini_setf(sc, "_freqTable", "%" PRIu64 " 0", c->cntfrq);
    ini_set(sc, "_activeFreqEntry", "0");
    ini_set_u64(sc, "_updateTick", c->cur_tick);
    ini_set(sc, "pending_freq_update", "false");
    ini_set(sc, "_nextFreqEntry", "0");
    ini_set_u64(gt, "cpu_count", ncpu);
    /* per-PE timers go after the generic timer's last existing sub-section */
    const char *after = "system.realview.generic_timer.int_el1_phys";
    if (!ini_find(t, after))
        after = "system.realview.generic_timer";
    char *prev = xstrdup(after);
    json_t *pc = json_object_get(timer, "per_cpu");
    for (unsigned i = 0; i < ncpu; i++) {
        json_t *tc = json_array_get(pc, i);
        char *pe = xasprintf("system.realview.generic_timer.pe_implementation%u", i);
        struct ini_sec *s = ini_add(t, pe, prev);
        uint64_t kctl = cj_hex(tc, "cntkctl_el1");
        ini_set_u64(s, "cntfrq", c->cntfrq);
        ini_set_u64(s, "cntkctl", kctl & 0xffffffffULL);
        ini_set(s, "cnthctl", "0");
        ini_set(s, "phys_ev_scheduled", "false");
        ini_set(s, "physEvStream.transitionTo", "1");
        ini_set(s, "physEvStream.transitionBit", "0");
        bool evnten = kctl >> 2 & 1;
        ini_set_bool(s, "virt_ev_scheduled", evnten);
        if (evnten)
            ini_set_u64(s, "virt_ev_when", c->cur_tick + c->period_ticks);
        ini_set_u64(s, "virtEvStream.transitionTo", (kctl >> 3 & 1) ? 0 : 1);
        ini_set_u64(s, "virtEvStream.transitionBit", kctl >> 4 & 0xf);
        static const char *const tn[] = {"phys_el3_timer",    "phys_el1_timer",    "virt_el1_timer",
                                         "phys_ns_el2_timer", "virt_ns_el2_timer", "phys_s_el2_timer",
                                         "virt_s_el2_timer"};
        uint64_t ctl[7] = {cj_hex(tc, "cntps_ctl_el1"), cj_hex(tc, "cntp_ctl_el0"), cj_hex(tc, "cntv_ctl_el0"), 0, 0, 0, 0};
        uint64_t cval[7] = {cj_hex(tc, "cntps_cval_el1"), cj_hex(tc, "cntp_cval_el0"), cj_hex(tc, "cntv_cval_el0"), 0, 0, 0, 0};
        char *last = xstrdup(pe);
        for (int k = 0; k < 7; k++) {
            char *tnm = xasprintf("%s.%s", pe, tn[k]);
            struct ini_sec *ts = ini_add(t, tnm, last);
            /* ISTATUS as the counter stands now (gem5 re-evaluates at resume) */
            uint64_t cv = ctl[k] & 3;
            if ((cv & 1) && c->counter >= cval[k])
                cv |= 4;
            ini_set_u64(ts, "control_serial", cv);
            ini_set_u64(ts, "_counterLimit", cval[k]);
            ini_set(ts, "_offset", "0");
            free(last);
            last = tnm;
        }
        free(prev);
        prev = last;
        free(pe);
    }
    free(prev);
    return 0;
}

static int fill_devices(struct conv *c, struct ini *t, json_t *devs, const char *cow_name, json_t **vio_info)
{
    json_t *u = json_object_get(devs, "pl011"), *r = json_object_get(devs, "pl031");
    struct ini_sec *us = ini_find(t, "system.realview.uart"), *rs = ini_find(t, "system.realview.rtc");
    if (!us || !rs)
        return ffwd_seterr("template has no UART / RTC");
    ini_set_u64(us, "control", cj_hex(u, "cr") & 0xffff);
    ini_set_u64(us, "fbrd", cj_hex(u, "fbrd") & 0xffff);
    ini_set_u64(us, "ibrd", cj_hex(u, "ibrd") & 0xffff);
    ini_set_u64(us, "lcrh", cj_hex(u, "lcr_h") & 0xffff);
    ini_set_u64(us, "ifls", cj_hex(u, "ifls") & 0xffff);
    ini_set_u64(us, "imsc_serial", cj_hex(u, "imsc") & 0xffff);
    ini_set_u64(us, "rawInt_serial", cj_hex(u, "ris") & 0xffff);
    ini_set_u64(rs, "timeVal", (uint64_t)json_integer_value(json_object_get(r, "seconds")) & 0xffffffffULL);
    ini_set_u64(rs, "lastWrittenTick", c->cur_tick);
    ini_set_u64(rs, "loadVal", cj_hex(r, "lr"));
    ini_set_u64(rs, "matchVal", cj_hex(r, "mr"));
    ini_set_bool(rs, "rawInt", (int)(cj_hex(r, "ris") & 1));
    ini_set_bool(rs, "maskInt", (int)(cj_hex(r, "imsc") & 1));
    ini_set_bool(rs, "pendingInt", (int)(cj_hex(r, "ris") & cj_hex(r, "imsc") & 1));
    ini_set(rs, "is_in_event", "false");
    json_t *v = json_array_get(json_object_get(devs, "virtio_mmio"), 0);
    struct ini_sec *vs = ini_find(t, "system.realview.vio.vio"), *qs = ini_find(t, "system.realview.vio.vio._queues.0"),
                   *is = ini_find(t, "system.realview.vio.vio.image");
    if (!v) {
        /* no disk: no virtio device in the restoring system either, so no
         * state for one (gem5 would skip it silently; ffwd's configurations
         * refuse a section without an object) */
        ini_remove_tree(t, "system.realview.vio");
        *vio_info = NULL;
        return 0;
    }
    if (!vs || !qs || !is)
        return ffwd_seterr("template has no virtio block device sections");
    json_t *q = json_array_get(json_object_get(v, "queues"), 0);
    if (json_integer_value(json_object_get(v, "version")) != 1)
        return ffwd_seterr("the capture's virtio-mmio transport is not legacy (version 1): gem5's MmioVirtIO "
                           "implements only the legacy layout");
    if (json_integer_value(json_object_get(q, "inuse")) != 0 ||
        json_integer_value(json_object_get(q, "avail_idx_in_ram")) != json_integer_value(json_object_get(q, "last_avail_idx")))
        return ffwd_seterr("the capture was taken with a disk request in flight (virtqueue not idle): gem5 cannot "
                           "resume it");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(v, "guest_features"), i, f)
    {
        const char *s = json_string_value(f);
        if (s && (strstr(s, "EVENT_IDX") || strstr(s, "INDIRECT_DESC")))
            return ffwd_seterr("the guest negotiated %s with QEMU; gem5's VirtIO has no such feature (run QEMU with "
                               "ffwd's profile)",
                               s);
    }
    /* guestFeatures: informational in gem5; the low 32 bits of the known names */
    static const struct {
        const char *name;
        int bitno;
    } fb[] = {{"VIRTIO_BLK_F_SIZE_MAX", 1},    {"VIRTIO_BLK_F_SEG_MAX", 2},  {"VIRTIO_BLK_F_GEOMETRY", 4},
              {"VIRTIO_BLK_F_RO", 5},          {"VIRTIO_BLK_F_BLK_SIZE", 6}, {"VIRTIO_BLK_F_FLUSH", 9},
              {"VIRTIO_BLK_F_TOPOLOGY", 10},   {"VIRTIO_BLK_F_CONFIG_WCE", 11}, {"VIRTIO_BLK_F_MQ", 12},
              {"VIRTIO_BLK_F_DISCARD", 13},    {"VIRTIO_BLK_F_WRITE_ZEROES", 14}};
    uint32_t feat = 0;
    json_array_foreach(json_object_get(v, "guest_features"), i, f)
    {
        const char *s = json_string_value(f);
        for (size_t k = 0; s && k < sizeof fb / sizeof *fb; k++)
            if (!strncmp(s, fb[k].name, strlen(fb[k].name)) && (s[strlen(fb[k].name)] == ':' || !s[strlen(fb[k].name)]))
                feat |= 1u << fb[k].bitno;
    }
    ini_set_u64(vs, "guestFeatures", feat);
    ini_set_u64(vs, "_deviceStatus", cj_hex(v, "status") & 0xff);
    ini_set(vs, "_queueSelect", "0");
    ini_set_u64(qs, "_address", cj_hex(v, "queue_pfn") * 4096);
    ini_set_u64(qs, "_last_avail", (uint64_t)json_integer_value(json_object_get(q, "last_avail_idx")) & 0xffff);
    ini_set(is, "cowFilename", cow_name);
    *vio_info = json_pack("{s:O,s:O,s:O}", "base", json_object_get(v, "base"), "intid", json_object_get(v, "intid"),
                          "queue_size", json_object_get(q, "size"));
    return 0;
}

/* gem5 CowDiskImage file from the capture's disk delta */
static int write_cow(const char *delta_path, const char *cow_path, uint64_t *nsect)
{
    size_t len;
    char *d = read_file(delta_path, &len);
    if (!d)
        return -1;
    uint64_t count;
    const uint8_t *entries;
    if (delta_parse(d, len, delta_path, &count, &entries) < 0) {
        free(d);
        return -1;
    }
    struct sbuf o = {0};
    uint32_t maj = 1, min = 0;
    sbuf_add(&o, "COWDISK!", 8);
    sbuf_add(&o, &maj, 4);
    sbuf_add(&o, &min, 4);
    sbuf_add(&o, &count, 8);
    sbuf_add(&o, entries, (size_t)(count * DELTA_ENTRY)); /* gem5's entry layout is the same */
    int r = write_file_atomic(cow_path, o.s, o.len, 0644);
    sbuf_free(&o);
    free(d);
    *nsect = count;
    return r;
}

static const char *const VERSION_TAGS =
    "arm-ccregs arm-contextidr-el2 arm-gem5-gic-ext arm-gicv2-banked-regs arm-hdlcd-upgrade arm-miscreg-teehbr "
    "arm-sve arm-sysreg-mapping-ns armv8 cpu-pid dvfs-perflevel etherswitch globals-to-root ide-dma-abort "
    "isa-is-simobject memory-per-range mempool-sections mempool-to-seworkload multiple-event-queues "
    "process-fdmap-rename register-files remove-arm-cpsr-mode-miscreg riscv-dyn-vlen riscv-pcstate riscv-vext "
    "ruby-block-size-bytes smt-interrupts x86-add-tlb x86-add-xcr0";

static int convert(const struct gem5_convert_opts *o, struct gem5_convert_result *res);

int gem5_convert(const struct gem5_convert_opts *o, struct gem5_convert_result *res)
{
    /* "out/" names the same folder as "out": the final rename needs the latter */
    struct gem5_convert_opts oo = *o;
    char *out = path_clean(o->out);
    oo.out = out;
    int rc = convert(&oo, res);
    free(out);
    return rc;
}

static int convert(const struct gem5_convert_opts *o, struct gem5_convert_result *res)
{
    memset(res, 0, sizeof *res);
    double t0 = now_sec();
    json_t *m = ffwd_capture_open(o->capture);
    if (!m)
        return -1;
    int rc = -1;
    struct ini t = {0};
    struct gem5_miscregs parsed = {0};
    const struct gem5_miscregs *mr = gem5_miscregs_v24();
    json_t *gic = NULL, *timer = NULL, *devs = NULL, *cpus = json_array(), *vio = NULL, *info = NULL;
    char *tmp = NULL, *tpath = NULL, *parent = NULL, *made = NULL;
    struct conv c = {.unmapped_list = json_array()};
    struct gem5_layout L = {0};
    char *cow_name = NULL, *pmem_name = NULL;
    if (path_exists(o->out)) {
        ffwd_seterr("%s already exists; ffwd never overwrites a checkpoint", o->out);
        goto out;
    }
    if (o->gem5_src) {
        if (gem5_miscregs_parse(o->gem5_src, &parsed) < 0)
            goto out;
        mr = &parsed;
    }
    c.mr = mr;
    json_t *rng = json_object_get(m, "guest_rng");
    if (json_is_object(rng) && json_is_false(json_object_get(rng, "ready")))
        ffwd_warn("%s: the guest's random-number generator was not ready at the capture (%s): in gem5 a program "
                  "that asks for randomness (getrandom(), sqlite3, Python, OpenSSL) may wait for good. Boot with "
                  "the profile's rng-seed and a kernel that credits it (CONFIG_RANDOM_TRUST_BOOTLOADER), or "
                  "capture later",
                  o->capture, json_string_value(json_object_get(rng, "evidence")));
    json_t *prof = json_object_get(m, "profile");
    int gicv = (int)json_integer_value(json_object_get(prof, "gic_version"));
    unsigned ncpu = (unsigned)json_integer_value(json_object_get(m, "vcpus"));
    if (ncpu < 1 || ncpu > 16) {
        ffwd_seterr("%s/manifest.json: field vcpus must be 1..16", o->capture);
        goto out;
    }
    /* the configuration that restores: a bad --layout fails before any work */
    if (gem5_layout_get(o->layout, ncpu, gicv, &L) < 0)
        goto out;
    cow_name = gem5_layout_cow_name(&L);
    pmem_name = gem5_layout_pmem_name(&L);
    if (!(gic = cj_load(o->capture, "gic.json")) || !(timer = cj_load(o->capture, "timer.json")) ||
        !(devs = cj_load(o->capture, "devices.json")))
        goto out;
    for (unsigned i = 0; i < ncpu; i++) {
        json_t *cpu = cj_load(o->capture, json_string_value(json_array_get(json_object_get(m, "cpu_files"), i)) ?: "?");
        if (!cpu)
            goto out;
        json_array_append_new(cpus, cpu);
    }
    if (load_template(o->template_cpt, gicv, &t, &tpath) < 0)
        goto out;
    /* time: gem5 ticks are picoseconds; the counter period must be a whole number of them */
    c.cntfrq = (uint64_t)json_integer_value(json_object_get(timer, "cntfrq"));
    c.counter = (uint64_t)json_integer_value(json_object_get(timer, "counter"));
    if (!c.cntfrq) {
        ffwd_seterr("%s/timer.json: field cntfrq is 0", o->capture);
        goto out;
    }
    c.period_ticks = GEM5_TICKS_PER_S / c.cntfrq;
    if (GEM5_TICKS_PER_S % c.cntfrq)
        ffwd_warn("CNTFRQ %llu Hz is not a whole number of gem5 ticks; guest time will drift slightly",
                  (unsigned long long)c.cntfrq);
    c.cur_tick = c.counter * c.period_ticks;

    /* per-CPU sections for N CPUs (the template has one CPU) */
    if (ncpu > 1) {
        for (unsigned i = 0; i < ncpu; i++) {
            char *p = cpu_path(i, ncpu);
            ini_clone_tree(&t, "system.cpu", p);
            free(p);
        }
        ini_remove_tree(&t, "system.cpu");
        if (gicv == 3)
            for (unsigned i = 1; i < ncpu; i++) {
                char *r = xasprintf("system.realview.gic.redistributors.%u", i);
                char *ci = xasprintf("system.realview.gic.cpuInterface.%u", i);
                ini_clone_tree(&t, "system.realview.gic.redistributors.0", r);
                ini_clone_tree(&t, "system.realview.gic.cpuInterface.0", ci);
                free(r);
                free(ci);
            }
    }
    struct ini_sec *sys = ini_find(&t, "system");
    if (!sys) {
        ffwd_seterr("template has no [system]");
        goto out;
    }
    for (unsigned i = 0; i < ncpu; i++) {
        char k[32];
        snprintf(k, sizeof k, "quiesceEndTick_%u", i);
        ini_set(sys, k, "0");
    }
    bool irq[16] = {false};
    if (gicv == 3 ? fill_gicv3(&t, gic, ncpu, irq) < 0 : fill_gicv2(&t, gic, ncpu) < 0)
        goto out;
    for (unsigned i = 0; i < ncpu; i++) {
        char *p = cpu_path(i, ncpu);
        int fr = fill_cpu(&c, &t, p, json_array_get(cpus, i), gic, i, irq[i]);
        free(p);
        if (fr < 0)
            goto out;
    }
    if (fill_timer(&c, &t, timer, ncpu) < 0)
        goto out;
    if (fill_devices(&c, &t, devs, cow_name, &vio) < 0)
        goto out;
    /* memory */
    json_t *ram = json_array_get(json_object_get(m, "ram"), 0);
    uint64_t ram_size = (uint64_t)json_integer_value(json_object_get(ram, "size"));
    struct ini_sec *pm = ini_find(&t, "system.physmem"), *st0 = ini_find(&t, "system.physmem.store0");
    if (!pm || !st0) {
        ffwd_seterr("template has no [system.physmem.store0]");
        goto out;
    }
    ini_set(pm, "nbr_of_stores", "1");
    ini_set(pm, "lal_addr", "");
    ini_set(pm, "lal_cid", "");
    ini_set(st0, "store_id", "0");
    ini_set(st0, "filename", pmem_name);
    ini_set_u64(st0, "range_size", ram_size);
    struct ini_sec *g = ini_find(&t, "root.globals");
    ini_set_u64(g, "curTick", c.cur_tick);
    ini_set(g, "version_tags", VERSION_TAGS);
    if (!ini_find(&t, "root"))
        ini_add(&t, "root", NULL);
    gem5_layout_apply(&t, &L);
    if (L.from_config && gem5_layout_check(&t, L.name) < 0)
        goto out;

    /* write everything into a temporary directory next to the result */
    parent = path_parent(o->out);
    if (strchr(o->out, '%')) {
        ffwd_seterr("checkpoint path %s must not contain '%%' (gem5 formats it with printf)", o->out);
        goto out;
    }
    if (mkdir_p_track(parent, 0755, &made) < 0 || !(tmp = make_owned_temp_dir(parent, ".ckpt-tmp-")))
        goto out;
    char *cp = xasprintf("%s/m5.cpt", tmp);
    int wr = ini_write_file(&t, "## gem5 checkpoint written by ffwd " FFWD_VERSION " (ffwd convert)", cp);
    free(cp);
    if (wr < 0)
        goto out;
    char *rp = xasprintf("%s/ram0.bin", o->capture), *pp = xasprintf("%s/%s", tmp, pmem_name);
    struct pmem_stats ps;
    long ncpus_host = sysconf(_SC_NPROCESSORS_ONLN);
    int pr = pmem_write(rp, ram_size, pp, o->level > 0 ? o->level : 6,
                        o->threads > 0 ? o->threads : (int)(ncpus_host > 0 ? ncpus_host : 1), &ps);
    free(rp);
    free(pp);
    if (pr < 0)
        goto out;
    res->pmem_bytes = ps.out_bytes;
    res->ram_bytes = ram_size;
    json_t *disk = json_array_get(json_object_get(m, "disks"), 0);
    if (disk && vio) {
        char *dp = xasprintf("%s/%s", o->capture, json_string_value(json_object_get(disk, "file")));
        char *cowp = xasprintf("%s/%s", tmp, cow_name);
        int cr = write_cow(dp, cowp, &res->cow_sectors);
        free(dp);
        free(cowp);
        if (cr < 0)
            goto out;
    }
    char *abs_cap = realpath(o->capture, NULL);
    info = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:{s:i,s:i,s:I,s:I,s:I,s:O},s:o,s:I,s:I}", "format", "ffwd-gem5-checkpoint",
                     "version", 1, "ffwd_version", FFWD_VERSION, "source_capture", abs_cap ? abs_cap : o->capture,
                     "gem5", "v24.0 (stock)", "misc_registers_from", mr->version, "platform", "gic_version", gicv,
                     "cpus", (int)ncpu, "mem_bytes", (json_int_t)ram_size, "cntfrq", (json_int_t)c.cntfrq,
                     "ram_base", (json_int_t)VIRT_RAM_BASE, "virtio", vio ? vio : json_null(),
                     "disk", disk ? json_deep_copy(disk) : json_null(), "cur_tick", (json_int_t)c.cur_tick,
                     "counter", (json_int_t)c.counter);
    free(abs_cap);
    json_object_set_new(info, "registers",
                        json_pack("{s:i,s:i,s:i,s:O}", "written", c.written, "kept_gem5_values", c.kept, "unmapped",
                                  c.unmapped, "unmapped_names", c.unmapped_list));
    json_object_set_new(info, "template", json_string(tpath));
    json_object_set_new(info, "gem5_version", json_string(mr->gem5_version ? mr->gem5_version : "unknown"));
    /* what the captured CPU (QEMU's cortex-a57 without EL2/EL3) implements, as
     * gem5's ArmRelease extensions: a restore must use the same release (gem5
     * issue #932). FEAT_PAuth: see gem5/ffwd_board.py. */
    json_object_set_new(info, "arm_release",
                        json_pack("[s,s,s,s,s,s,s]", "LPAE", "FEAT_AES", "FEAT_PMULL", "FEAT_SHA1", "FEAT_SHA256",
                                  "FEAT_CRC32", "FEAT_PAuth"));
    json_object_set_new(info, "layout", gem5_layout_json(&L));
    json_object_set_new(info, "run", json_string(gem5_layout_run_hint(&L)));
    char *js = json_dumps(info, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *ip = xasprintf("%s/ffwd-checkpoint.json", tmp);
    wr = write_file_atomic(ip, js, strlen(js), 0644);
    free(ip);
    free(js);
    if (wr < 0)
        goto out;
    if (rename(tmp, o->out) < 0) {
        ffwd_seterr_errno("cannot rename %s to %s", tmp, o->out);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    snprintf(res->path, sizeof res->path, "%s", o->out);
    res->regs_written = c.written;
    res->regs_kept_gem5 = c.kept;
    res->regs_unmapped = c.unmapped;
    res->seconds = now_sec() - t0;
    rc = 0;
out:
    if (tmp) {
        rm_rf(tmp);
        free(tmp);
    }
    if (rc < 0 && parent)
        rmdir_up(parent, made); /* folders this call made for the result */
    free(made);
    free(parent);
    free(tpath);
    free(cow_name);
    free(pmem_name);
    gem5_layout_free(&L);
    ini_free(&t);
    if (o->gem5_src)
        gem5_miscregs_free(&parsed);
    json_decref(info);
    json_decref(vio);
    json_decref(c.unmapped_list);
    json_decref(cpus);
    json_decref(gic);
    json_decref(timer);
    json_decref(devs);
    json_decref(m);
    return rc;
}
