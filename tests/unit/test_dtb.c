/* Unit tests: qemu/dtb.c on the device tree QEMU 10 really generates. */
#include <libfdt.h>
#include <stdlib.h>

#include "common/util.h"
#include "qemu/dtb.h"
#include "qemu/profile.h"
#include "qemu/vm.h"
#include "tests/test.h"

static int count_compat(const void *fdt, const char *c)
{
    int n = 0, off = -1;
    while ((off = fdt_node_offset_by_compatible(fdt, off, c)) >= 0)
        n++;
    return n;
}

static void check_gic(int gic)
{
    char *dir = make_temp_dir("/tmp", "ffwd-test-dtb-");
    char *path = xasprintf("%s/virt.dtb", dir);
    struct ffwd_profile p;
    ffwd_profile_default(&p);
    p.gic_version = gic;
    p.smp = 2;
    char *m = ffwd_machine_opt(&p, path, false);
    char *argv[] = {(char *)ffwd_qemu_binary(NULL), "-machine", m, "-cpu", "cortex-a57,pmu=off", "-smp", "2",
                    "-m", "512M", "-display", "none", "-nodefaults", NULL};
    CHECK(run_cmd(argv, &(struct run_opts){.quiet = true}) == 0);
    size_t len;
    char *blob = read_file(path, &len);
    CHECK(blob != NULL);
    if (blob) {
        CHECK(count_compat(blob, "virtio,mmio") == 32);
        CHECK(count_compat(blob, "pci-host-ecam-generic") == 1);
        CHECK(count_compat(blob, "arm,armv8-pmuv3") == 0); /* pmu=off */
        CHECK(count_compat(blob, "arm,gic-v3-its") == 0);  /* its=off */
        uint64_t keep = ffwd_profile_disk_mmio_base(0);
        void *out;
        size_t outlen;
        struct dtb_trim_report rep;
        CHECK(dtb_trim(blob, len, &keep, 1, &out, &outlen, &rep) == 0);
        CHECK(outlen < len);
        CHECK(rep.virtio_kept == 1);
        for (const char *const *c = dtb_removed_compatibles; *c; c++)
            CHECK_MSG(count_compat(out, *c) == 0, "%s still present", *c);
        CHECK(count_compat(out, "virtio,mmio") == 1);
        int v = fdt_node_offset_by_compatible(out, -1, "virtio,mmio");
        const fdt32_t *reg = fdt_getprop(out, v, "reg", NULL);
        CHECK(reg && fdt32_to_cpu(reg[1]) == 0x0a003e00);
        const fdt32_t *irq = fdt_getprop(out, v, "interrupts", NULL);
        CHECK(irq && fdt32_to_cpu(irq[0]) == 0 && fdt32_to_cpu(irq[1]) + 32 == ffwd_profile_disk_intid(0));
        /* what the guest needs is still there */
        CHECK(count_compat(out, gic == 3 ? "arm,gic-v3" : "arm,cortex-a15-gic") == 1);
        CHECK(count_compat(out, "arm,pl011") == 1);
        CHECK(count_compat(out, "arm,pl031") == 1);
        CHECK(count_compat(out, "arm,armv8-timer") == 1);
        CHECK(fdt_path_offset(out, "/psci") >= 0);
        CHECK(fdt_path_offset(out, "/memory@40000000") >= 0);
        CHECK(fdt_path_offset(out, "/cpus/cpu@1") >= 0);
        CHECK(fdt_path_offset(out, "/chosen") >= 0);
        /* no disk: no transport at all */
        void *out2;
        size_t len2;
        CHECK(dtb_trim(blob, len, NULL, 0, &out2, &len2, &rep) == 0 && count_compat(out2, "virtio,mmio") == 0);
        free(out2);
        /* a transport QEMU does not have is an error, not a silent success */
        uint64_t bogus = 0x12345000;
        CHECK(dtb_trim(blob, len, &bogus, 1, &out2, &len2, &rep) < 0);
        CHECK_STR_HAS(ffwd_errmsg(), "virtio-mmio");
        free(out);
    }
    /* garbage in: clear error */
    void *o;
    size_t ol;
    CHECK(dtb_trim("not a dtb at all, really not", 28, NULL, 0, &o, &ol, NULL) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "device tree");
    if (blob) /* truncated blob */
        CHECK(dtb_trim(blob, 100, NULL, 0, &o, &ol, NULL) < 0);
    free(blob);
    free(m);
    rm_rf(dir);
    free(dir);
    free(path);
}

int main(void)
{
    check_gic(3);
    check_gic(2);
    return test_done();
}
