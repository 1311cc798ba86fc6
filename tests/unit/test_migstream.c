/* Unit tests: capture/migstream.c on a recorded QEMU 10.0 migration stream
 * (virt, GICv3, 1 vCPU, legacy virtio-blk, x-ignore-shared; stopped in user
 * space), plus truncated and corrupted copies of it; capture/sysreg.c; the
 * capture's check for states gem5 cannot take, on a second recorded stream. */
#include <stdlib.h>

#include "capture/capture.h"
#include "capture/migstream.h"
#include "capture/sysreg.h"
#include "common/util.h"
#include "tests/test.h"

static uint8_t *load_fixture(size_t *len)
{
    return (uint8_t *)read_file_gz(FIXTURE_DIR "/vmstate-virt10-gicv3-1cpu.bin.gz", len);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = xmalloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

int main(void)
{
    size_t len;
    uint8_t *orig = load_fixture(&len);
    CHECK(orig != NULL && len > 100000);
    if (!orig)
        return test_done();
    struct mig_stream m;
    CHECK_MSG(mig_parse(dup_bytes(orig, len), len, "fixture", &m) == 0, "%s", ffwd_errmsg());
    CHECK(m.machine && !strcmp(m.machine, "virt-10.0"));
    CHECK(m.target_page_bits == 12);
    CHECK(mig_count(&m, "cpu") == 1);
    const struct mig_device *cpu = mig_device(&m, "cpu", 0);
    CHECK(cpu && cpu->version == 22);
    CHECK(mig_u64(mig_field(cpu, "env.pc", 0), 0) == 0x400988);
    CHECK(mig_u64(mig_field(cpu, "cpsr", 0), 0) == 0); /* EL0t */
    CHECK(mig_u64(mig_field(cpu, "env.xregs", 0), 31) == 0xffffd0ee7c20ULL);
    const struct mig_field *ids = mig_field(cpu, "cpreg_vmstate_indexes", 0),
                           *vals = mig_field(cpu, "cpreg_vmstate_values", 0);
    CHECK(ids && vals && ids->count == 274 && vals->count == 274);
    struct sysreg_enc e;
    CHECK(sysreg_lookup("CNTFRQ_EL0", &e));
    uint64_t want = sysreg_kvm_id(e), frq = 0;
    for (size_t i = 0; ids && i < ids->count; i++)
        if (mig_u64(ids, i) == want)
            frq = mig_u64(vals, i);
    CHECK(frq == 62500000);
    CHECK(mig_field(cpu, "env.vfp.zregs[31].d", 0) && mig_field(cpu, "env.vfp.zregs[31].d", 0)->count == 2);
    const struct mig_device *g = mig_device(&m, "arm_gicv3", 0);
    CHECK(g && mig_u64(mig_field(g, "gicd_ctlr", 0), 0) == 0x53);
    CHECK(g && mig_u64(mig_field(g, "icc_pmr_el1", 0), 0) == 0xf0);
    CHECK(g && mig_field(g, "gicd_irouter", 0) && mig_field(g, "gicd_irouter", 0)->count == 1020);
    CHECK(g && mig_field(g, "icc_sre_el1", 0) != NULL); /* a struct's subsection */
    CHECK(mig_device(&m, "virtio-mmio@000000000a003e00/virtio-blk", 0) != NULL);
    CHECK(mig_device(&m, "timer", 0) && mig_device(&m, "pl011", 0) && mig_device(&m, "pl031", 0));
    CHECK(mig_device(&m, "cpu", 1) == NULL);
    mig_free(&m);

    /* the vmdesc is at the end: find where the device data ends */
    size_t tail = 0;
    for (size_t k = len - 5; k > 8; k--)
        if (orig[k] == 0x06 && k + 5 + ((size_t)orig[k + 1] << 24 | (size_t)orig[k + 2] << 16 |
                                        (size_t)orig[k + 3] << 8 | orig[k + 4]) == len) {
            tail = k;
            break;
        }
    CHECK(tail > 0);
    /* truncated streams: every cut of the body is an error, never a crash */
    int errors = 0, cuts = 0;
    for (size_t k = 8; k < tail; k += 1237) {
        size_t n = k + (len - tail);
        uint8_t *b = xmalloc(n);
        memcpy(b, orig, k);
        memcpy(b + k, orig + tail, len - tail);
        cuts++;
        if (mig_parse(b, n, "cut", &m) < 0)
            errors++;
        else
            mig_free(&m);
    }
    CHECK_MSG(errors == cuts, "%d of %d truncated streams were accepted", cuts - errors, cuts);
    /* plain truncation loses the vmdesc: clear error */
    CHECK(mig_parse(dup_bytes(orig, len / 2), len / 2, "half", &m) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "vmdesc");
    CHECK(mig_parse(dup_bytes((const uint8_t *)"QEVM\0\0\0\3", 8), 8, "empty", &m) < 0);
    CHECK(mig_parse(dup_bytes((const uint8_t *)"not a migration stream", 22), 22, "junk", &m) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "junk");
    /* random corruption of the body: errors or garbage values, never a crash */
    uint64_t s = 12345;
    for (int i = 0; i < 300; i++) {
        uint8_t *b = dup_bytes(orig, len);
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            b[8 + (s >> 33) % (tail - 8)] ^= (uint8_t)(1u << (s >> 20 & 7));
        }
        if (mig_parse(b, len, "flipped", &m) == 0)
            mig_free(&m);
    }
    /* corrupt vmdesc JSON */
    uint8_t *b = dup_bytes(orig, len);
    b[tail + 6] = '!';
    CHECK(mig_parse(b, len, "badjson", &m) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "vmdesc");

    /* system register names */
    char nm[48];
    CHECK(sysreg_lookup("SCTLR_EL1", &e) && !strcmp(sysreg_name(e, nm, sizeof nm), "SCTLR_EL1"));
    CHECK(sysreg_kvm_id(e) == 0x603000000013c080ULL); /* QEMU's id, as in qemu-facts */
    CHECK(sysreg_lookup("ttbr1_el1", &e) && sysreg_kvm_id(e) == 0x603000000013c101ULL);
    CHECK(sysreg_lookup("S3_2_C15_C15_7", &e) && !strcmp(sysreg_name(e, nm, sizeof nm), "S3_2_C15_C15_7"));
    CHECK(sysreg_lookup("S3_1_C15_C2_0", &e) && !strcmp(sysreg_name(e, nm, sizeof nm), "CPUACTLR_EL1"));
    CHECK(sysreg_lookup("S3_3_C14_C8_5", &e) && !strcmp(sysreg_name(e, nm, sizeof nm), "PMEVCNTR5_EL0"));
    CHECK(sysreg_lookup("S3_3_C14_C13_2", &e) && !strcmp(sysreg_name(e, nm, sizeof nm), "PMEVTYPER10_EL0"));
    CHECK(sysreg_lookup("S3_3_C14_C15_7", &e) && !strcmp(sysreg_name(e, nm, sizeof nm), "PMCCFILTR_EL0"));
    CHECK(sysreg_lookup("DBGBVR5_EL1", &e) && e.crm == 5 && e.op2 == 4 &&
          !strcmp(sysreg_name(e, nm, sizeof nm), "DBGBVR5_EL1"));
    CHECK(!sysreg_lookup("NOT_A_REGISTER", &e));
    CHECK(!sysreg_from_kvm_id(0x40200000000f0000ULL, &e)); /* an AArch32 cp15 id */

    /* a state no gem5 checkpoint carries: a second recorded stream (virt,
     * GICv2, 2 vCPUs) stopped while vCPU 0 was inside the handler of SGI 1 */
    char why[300] = "";
    CHECK(mig_parse(dup_bytes(orig, len), len, "fixture", &m) == 0);
    CHECK(!ffwd_capture_unsettled(&m, 3, 1, why, sizeof why) && !why[0]);
    mig_free(&m);
    size_t l2;
    uint8_t *v2 = (uint8_t *)read_file_gz(FIXTURE_DIR "/vmstate-virt10-gicv2-2cpu-sgi-active.bin.gz", &l2);
    CHECK(v2 && mig_parse(v2, l2, "gicv2 fixture", &m) == 0);
    if (v2) {
        CHECK(mig_count(&m, "cpu") == 2);
        CHECK(ffwd_capture_unsettled(&m, 2, 2, why, sizeof why));
        CHECK_MSG(strstr(why, "vCPU 0 stayed inside the handler of inter-processor interrupt SGI 1"), "%s", why);
        why[0] = 0; /* one CPU: the sender can only be CPU 0, nothing is missing */
        CHECK(!ffwd_capture_unsettled(&m, 2, 1, why, sizeof why) && !why[0]);
        mig_free(&m);
    }
    free(orig);
    return test_done();
}
