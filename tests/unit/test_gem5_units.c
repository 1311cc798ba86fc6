/* Unit tests: gem5/ini.c (gem5's INI rules, fuzz), gem5/cow.c (format, fuzz),
 * gem5/gem5src.c (misc.hh/misc.cc parsing on a synthetic tree in gem5's
 * format), the integer-file layout, and the verify output filter. */
#include <stdlib.h>

#include "common/err.h"
#include "common/util.h"
#include "gem5/cow.h"
#include "gem5/gem5src.h"
#include "gem5/ini.h"
#include "gem5/layout.h"
#include "gem5/verify.h"
#include "gem5/writer.h"
#include "tests/test.h"

static void t_ini(void)
{
    const char *txt = "## header line, ignored\n"
                      "stray text before sections is ignored too\n"
                      "[a]\n  x = 1 \ny=\nz=a b  c\n\n"
                      "[b.c]\nk=v\n[a]\nw=2\nx=3\n";
    struct ini f;
    CHECK(ini_parse(txt, strlen(txt), "t", &f) == 0);
    CHECK(f.n == 2);
    struct ini_sec *a = ini_find(&f, "a");
    CHECK(a && !strcmp(ini_get(a, "x"), "3") && !strcmp(ini_get(a, "y"), "") && !strcmp(ini_get(a, "z"), "a b  c") &&
          !strcmp(ini_get(a, "w"), "2")); /* re-opened section merges; repeated key overrides */
    ini_set_u64(a, "big", 18446744073709551615ULL);
    ini_set_bool(a, "t", 1);
    ini_add(&f, "a.sub", "a");
    CHECK(!strcmp(f.s[1].name, "a.sub"));
    ini_clone_tree(&f, "a", "q");
    CHECK(ini_find(&f, "q") && ini_find(&f, "q.sub") && !strcmp(ini_get(ini_find(&f, "q"), "big"), "18446744073709551615"));
    ini_remove_tree(&f, "a");
    CHECK(!ini_find(&f, "a") && !ini_find(&f, "a.sub") && ini_find(&f, "b.c"));
    struct sbuf out = {0};
    ini_write(&f, "## x", &out);
    CHECK_STR_HAS(out.s, "[q]\nx=3\n");
    CHECK_STR_HAS(out.s, "t=true\n");
    struct ini g;
    CHECK(ini_parse(out.s, out.len, "again", &g) == 0 && g.n == f.n);
    ini_free(&g);
    sbuf_free(&out);
    ini_free(&f);
    /* gem5 refuses a line without '=' inside a section: so do we, naming the line */
    const char *bad = "[s]\nk=v\n# a comment\n";
    CHECK(ini_parse(bad, strlen(bad), "bad.cpt", &f) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "bad.cpt:3");
    CHECK(ini_parse("[oops\n", 6, "b2", &f) < 0);
    /* fuzz: random bytes and mutated valid input never crash */
    uint64_t s = 99;
    char buf[512];
    for (int i = 0; i < 3000; i++) {
        size_t n = 0;
        for (; n < sizeof buf; n++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            static const char alpha[] = "[]=\n ab.\r\t";
            buf[n] = (i & 1) ? alpha[(s >> 40) % (sizeof alpha - 1)] : (char)(s >> 56);
        }
        if (ini_parse(buf, (s >> 20) % sizeof buf, "fuzz", &f) == 0)
            ini_free(&f);
    }
}

static void t_cow(void)
{
    struct sbuf b = {0};
    uint32_t maj = 1, min = 0;
    uint64_t n = 2, s1 = 7, s2 = 3;
    uint8_t d[512];
    memset(d, 0xab, sizeof d);
    sbuf_add(&b, "COWDISK!", 8);
    sbuf_add(&b, &maj, 4);
    sbuf_add(&b, &min, 4);
    sbuf_add(&b, &n, 8);
    sbuf_add(&b, &s1, 8);
    sbuf_add(&b, d, 512);
    sbuf_add(&b, &s2, 8);
    sbuf_add(&b, d, 512);
    struct cow_entry *e;
    uint64_t cnt;
    CHECK(cow_parse((uint8_t *)b.s, b.len, "c", &e, &cnt) == 0 && cnt == 2 && e[0].sector == 3 && e[1].sector == 7 &&
          e[0].data[511] == 0xab);
    free(e);
    CHECK(cow_parse((uint8_t *)b.s, b.len - 1, "short", &e, &cnt) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "count");
    memcpy(b.s + 8 + 4 + 4 + 8 + 520, &s1, 8); /* duplicate sector */
    CHECK(cow_parse((uint8_t *)b.s, b.len, "dup", &e, &cnt) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "twice");
    CHECK(cow_parse((const uint8_t *)"COWDISK?", 8, "m", &e, &cnt) < 0);
    uint64_t s = 5;
    for (int i = 0; i < 2000; i++) {
        uint8_t *f = xmalloc(b.len);
        memcpy(f, b.s, b.len);
        for (int k = 0; k < 3; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            f[(s >> 33) % 40] ^= (uint8_t)(s >> 20);
        }
        size_t len = (s >> 45) % (b.len + 1);
        if (cow_parse(f, len, "fuzz", &e, &cnt) == 0) {
            CHECK(24 + cnt * 520 == len);
            free(e);
        }
        free(f);
    }
    sbuf_free(&b);
}

/* A tree in gem5's source format, written from the built-in table, parses back
 * into the same table (the real v24.0 tree is compared by the gem5 check). */
static void t_gem5src(void)
{
    const struct gem5_miscregs *v = gem5_miscregs_v24();
    CHECK(v->nphys == 1057);
    CHECK(!strcmp(v->keys[0], "cpsr"));
    const struct gem5_reg_map *m = gem5_miscregs_find(v, "MAIR_EL1");
    CHECK(m && !strcmp(m->lo, "prrr_ns") && m->hi && !strcmp(m->hi, "nmrr_ns"));
    m = gem5_miscregs_find(v, "SCTLR_EL1");
    CHECK(m && !strcmp(m->lo, "sctlr_ns") && !m->hi);
    m = gem5_miscregs_find(v, "ICC_IGRPEN1_EL1");
    CHECK(m && !strcmp(m->lo, "icc_igrpen1_ns"));
    m = gem5_miscregs_find(v, "SPSR_EL1");
    CHECK(m && !strcmp(m->lo, "spsr_svc"));
    m = gem5_miscregs_find(v, "TPIDR_EL1");
    CHECK(m && !strcmp(m->lo, "tpidrprw_ns"));
    CHECK(gem5_miscregs_has_key(v, "vbar_ns") && !gem5_miscregs_has_key(v, "num_phys_regs"));

    char *dir = make_temp_dir("/tmp", "ffwd-test-g5-");
    char *rd = xasprintf("%s/src/arch/arm/regs", dir);
    mkdir_p(rd, 0755);
    struct sbuf h = {0}, c = {0};
    sbuf_addf(&h, "// synthetic\nnamespace gem5 {\n    enum MiscRegIndex\n    {\n        MISCREG_CPSR = 0, /* c */\n");
    sbuf_addf(&h, "        MISCREG_SCTLR_NS,\n        MISCREG_PRRR_NS,\n        MISCREG_NMRR_NS,\n"
                  "        MISCREG_ICC_BPR1_NS,\n        MISCREG_SCTLR_EL1,\n        MISCREG_MAIR_EL1,\n"
                  "        MISCREG_ELR_EL1,\n        MISCREG_ICC_BPR1_EL1,\n        MISCREG_ICC_BPR1_EL1_NS,\n"
                  "        NUM_PHYS_MISCREGS,\n        MISCREG_RAZ,\n        NUM_MISCREGS\n    };\n");
    sbuf_addf(&h, "    const char * const miscRegName[] = {\n        \"cpsr\", \"sctlr_ns\", \"prrr_ns\", \"nmrr_ns\", "
                  "\"icc_bpr1_ns\",\n        \"sctlr_el1\", \"mair_el1\", \"elr_el1\", \"icc_bpr1_el1\", "
                  "\"icc_bpr1_el1_ns\",\n        \"num_phys_regs\", \"raz\"\n    };\n}\n");
    sbuf_addf(&c, "InitReg(MISCREG_SCTLR_EL1)\n  .allPrivileges() // x;\n  .mapsTo(MISCREG_SCTLR_NS);\n"
                  "InitReg(MISCREG_MAIR_EL1)\n  .mapsTo(MISCREG_PRRR_NS, MISCREG_NMRR_NS);\n"
                  "InitReg(MISCREG_ELR_EL1)\n  .allPrivileges().exceptUserMode();\n"
                  "InitReg(MISCREG_ICC_BPR1_EL1)\n  .banked64()\n  .mapsTo(MISCREG_RAZ);\n"
                  "InitReg(MISCREG_ICC_BPR1_EL1_NS)\n  .bankedChild()\n  .mapsTo(MISCREG_ICC_BPR1_NS);\n");
    char *hp = xasprintf("%s/misc.hh", rd), *cp = xasprintf("%s/misc.cc", rd);
    write_file_atomic(hp, h.s, h.len, 0644);
    write_file_atomic(cp, c.s, c.len, 0644);
    struct gem5_miscregs p;
    CHECK_MSG(gem5_miscregs_parse(dir, &p) == 0, "%s", ffwd_errmsg());
    CHECK(p.nphys == 10);
    m = gem5_miscregs_find(&p, "MAIR_EL1");
    CHECK(m && !strcmp(m->lo, "prrr_ns") && !strcmp(m->hi, "nmrr_ns"));
    m = gem5_miscregs_find(&p, "ELR_EL1");
    CHECK(m && !strcmp(m->lo, "elr_el1"));
    m = gem5_miscregs_find(&p, "ICC_BPR1_EL1"); /* banked64 -> _NS entry -> its mapsTo */
    CHECK(m && !strcmp(m->lo, "icc_bpr1_ns"));
    /* each mapping of the synthetic tree agrees with the built-in v24.0 table */
    const char *regs[] = {"SCTLR_EL1", "MAIR_EL1", "ELR_EL1", "ICC_BPR1_EL1"};
    for (int i = 0; i < 4; i++) {
        const struct gem5_reg_map *x = gem5_miscregs_find(&p, regs[i]), *y = gem5_miscregs_find(v, regs[i]);
        CHECK(x && y && !strcmp(x->lo, y->lo) && (!x->hi) == (!y->hi));
    }
    gem5_miscregs_free(&p);
    /* emitted C for a table contains every key */
    FILE *f = tmpfile();
    gem5_miscregs_emit_c(v, f);
    long sz = ftell(f);
    CHECK(sz > 30000);
    fclose(f);
    /* a tree without the files: clear error */
    CHECK(gem5_miscregs_parse("/nonexistent/gem5", &p) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "misc.hh");
    sbuf_free(&h);
    sbuf_free(&c);
    free(hp);
    free(cp);
    free(rd);
    rm_rf(dir);
    free(dir);
}

static void t_layout(void)
{
    /* gem5 Reg64Map (src/arch/arm/regs/int.hh) */
    CHECK(gem5_xreg_slot(0) == 0 && gem5_xreg_slot(14) == 14 && gem5_xreg_slot(15) == 20);
    CHECK(gem5_xreg_slot(18) == 17 && gem5_xreg_slot(19) == 16 && gem5_xreg_slot(30) == 33);
    CHECK(gem5_xreg_slot(31) == -1);
    bool used[42] = {false};
    for (int i = 0; i < 31; i++) {
        int s = gem5_xreg_slot(i);
        CHECK(s >= 0 && s < 34 && !used[s]);
        if (s >= 0)
            used[s] = true;
    }
    char *f = gem5_verify_filter("[    1.234] kernel says\r\nhello\n@ffwd: checkpoint a 0x1 0x2\n"
                                 "@ffwd: marker m\nmatmul: checksum 1\n@ffwd: exit 0\nafter\n",
                                 1);
    CHECK(!strcmp(f, "hello\n@ffwd: marker m\nmatmul: checksum 1\n"));
    free(f);
}

/* section names for the configuration that restores: the built-in template
 * renamed for the stdlib board matches the config.ini gem5 itself wrote for
 * gem5/ffwd_stdlib.py (1 CPU, GICv3); the legacy names do not, and the error
 * names the section; the layout derived from that config.ini is the built-in one */
static void t_section_names(void)
{
    char *l0 = gem5_list_name("c", 0, 1), *l1 = gem5_list_name("c", 3, 4), *l2 = gem5_list_name("c", 3, 11);
    CHECK(!strcmp(l0, "c") && !strcmp(l1, "c3") && !strcmp(l2, "c03"));
    free(l0);
    free(l1);
    free(l2);
    const char *cfg = FFWD_SOURCE_DIR "/tests/data/stdlib-switchable-1cpu-gicv3.config.ini.gz";
    size_t n;
    char *text = read_file_gz(FFWD_SOURCE_DIR "/gem5/templates/v24.0-gicv3.cpt.gz", &n);
    CHECK(text);
    struct ini t;
    CHECK(text && ini_parse(text, n, "template", &t) == 0);
    free(text);
    CHECK(gem5_layout_check(&t, cfg) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "belongs to no object");
    CHECK_STR_HAS(ffwd_errmsg(), "[system");
    struct gem5_layout sw, derived;
    CHECK(gem5_layout_get("stdlib-switchable", 1, 3, &sw) == 0);
    gem5_layout_apply(&t, &sw);
    CHECK(ini_find(&t, "board.processor.start.core.xc.0") && !ini_find(&t, "system.membus"));
    CHECK_MSG(gem5_layout_check(&t, cfg) == 0, "%s", ffwd_errmsg());
    CHECK_MSG(gem5_layout_get(cfg, 1, 3, &derived) == 0, "%s", ffwd_errmsg());
    CHECK(derived.from_config && !strcmp(derived.system, sw.system) && !strcmp(derived.platform, sw.platform) &&
          !strcmp(derived.cpus[0], sw.cpus[0]));
    gem5_layout_free(&derived);
    CHECK(gem5_layout_get(cfg, 2, 3, &derived) < 0); /* one CPU switched in, not two */
    CHECK(gem5_layout_get(cfg, 1, 2, &derived) < 0); /* a GICv3, not a GICv2 */
    CHECK_STR_HAS(ffwd_errmsg(), "Gicv3");
    gem5_layout_free(&sw);
    ini_free(&t);

    /* more config.ini files written by gem5 v24.0.0.1 itself (zero-tick
     * restores of ffwd checkpoints: gem5/ffwd_stdlib.py, with --processor
     * simple for "stdlib"): each derives the layout of its name, and gem5's own
     * 2-CPU GICv2 checkpoint, relabelled, has every section there */
    static const struct {
        const char *file, *layout;
        unsigned ncpu;
        int gicv;
    } refs[] = {{"stdlib-switchable-2cpu-gicv2", "stdlib-switchable", 2, 2},
                {"stdlib-switchable-4cpu-gicv3", "stdlib-switchable", 4, 3},
                {"stdlib-2cpu-gicv2", "stdlib", 2, 2},
                {"stdlib-1cpu-gicv2", "stdlib", 1, 2},
                {"stdlib-1cpu-gicv3", "stdlib", 1, 3},
                {"stdlib-4cpu-gicv3", "stdlib", 4, 3}};
    for (size_t r = 0; r < sizeof refs / sizeof *refs; r++) {
        char *rc = xasprintf("%s/tests/data/%s.config.ini.gz", FFWD_SOURCE_DIR, refs[r].file);
        struct gem5_layout named, got;
        CHECK(gem5_layout_get(refs[r].layout, refs[r].ncpu, refs[r].gicv, &named) == 0);
        CHECK_MSG(gem5_layout_get(rc, refs[r].ncpu, refs[r].gicv, &got) == 0, "%s: %s", rc, ffwd_errmsg());
        CHECK(got.ncpu == named.ncpu && !strcmp(got.system, named.system) && !strcmp(got.platform, named.platform));
        for (unsigned i = 0; i < got.ncpu && i < named.ncpu; i++)
            CHECK_MSG(!strcmp(got.cpus[i], named.cpus[i]), "%s: CPU %u is %s, layout %s says %s", rc, i, got.cpus[i],
                      refs[r].layout, named.cpus[i]);
        gem5_layout_free(&got);
        if (refs[r].ncpu == 2 && refs[r].gicv == 2) {
            char *g = read_file_gz(FFWD_SOURCE_DIR "/tests/data/gem5-v24.0-gicv2-2cpu.cpt.gz", &n);
            struct ini c2;
            CHECK(g && ini_parse(g, n, "gem5 2-CPU GICv2 checkpoint", &c2) == 0);
            free(g);
            CHECK(gem5_layout_check(&c2, rc) < 0); /* the legacy names: no object here */
            gem5_layout_apply(&c2, &named);
            CHECK_MSG(gem5_layout_check(&c2, rc) == 0, "%s: %s", rc, ffwd_errmsg());
            /* the other processor's names are refused, by section */
            const char *other = strcmp(refs[r].layout, "stdlib") ? "stdlib-2cpu-gicv2" : "stdlib-switchable-2cpu-gicv2";
            char *oc = xasprintf("%s/tests/data/%s.config.ini.gz", FFWD_SOURCE_DIR, other);
            CHECK(gem5_layout_check(&c2, oc) < 0);
            CHECK_STR_HAS(ffwd_errmsg(), "belongs to no object");
            CHECK_STR_HAS(ffwd_errmsg(), "board.processor.");
            free(oc);
            ini_free(&c2);
        }
        gem5_layout_free(&named);
        free(rc);
    }
}

int main(void)
{
    t_section_names();
    t_ini();
    t_cow();
    t_gem5src();
    t_layout();
    return test_done();
}
