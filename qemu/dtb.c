/* dtb.c -- see dtb.h. */
#include "dtb.h"

#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

const char *const dtb_removed_compatibles[] = {
    "pci-host-ecam-generic", /* PCIe host bridge */
    "qemu,fw-cfg-mmio",      /* firmware config interface */
    "cfi-flash",             /* the two 64 MiB flash banks */
    "arm,pl061",             /* GPIO controller */
    "gpio-keys",             /* power button wired to the PL061 */
    "qemu,platform",         /* dynamic sysbus platform bus */
    "arm,armv8-pmuv3",       /* PMU (absent with pmu=off; removed if present) */
    NULL,
};

static uint64_t reg_base(const void *fdt, int node)
{
    int len;
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
    if (!reg || len < 8)
        return ~0ULL;
    /* virt uses #address-cells = 2 at the root */
    return ((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]);
}

int dtb_trim(const void *in, size_t inlen, const uint64_t *keep_mmio, unsigned nkeep, void **out, size_t *outlen,
             struct dtb_trim_report *rep)
{
    struct dtb_trim_report r = {0};
    if (inlen < sizeof(struct fdt_header) || fdt_check_header(in) != 0 || fdt_totalsize(in) > inlen)
        return ffwd_seterr("not a valid device tree blob (%zu bytes)", inlen);
    size_t cap = fdt_totalsize(in) + 4096;
    void *fdt = xmalloc(cap);
    int err = fdt_open_into(in, fdt, (int)cap);
    if (err) {
        free(fdt);
        return ffwd_seterr("device tree: %s", fdt_strerror(err));
    }
    for (const char *const *c = dtb_removed_compatibles; *c; c++) {
        int off;
        while ((off = fdt_node_offset_by_compatible(fdt, -1, *c)) >= 0) {
            if ((err = fdt_del_node(fdt, off))) {
                free(fdt);
                return ffwd_seterr("device tree: cannot delete a %s node: %s", *c, fdt_strerror(err));
            }
            r.removed++;
        }
    }
    /* virtio-mmio: keep only the transports in use. Deleting shifts offsets,
     * so restart the scan after each deletion. */
    for (;;) {
        int off = -1, victim = -1;
        while ((off = fdt_node_offset_by_compatible(fdt, off, "virtio,mmio")) >= 0) {
            uint64_t base = reg_base(fdt, off);
            bool keep = false;
            for (unsigned i = 0; i < nkeep; i++)
                keep |= keep_mmio[i] == base;
            if (!keep) {
                victim = off;
                break;
            }
        }
        if (victim < 0)
            break;
        if ((err = fdt_del_node(fdt, victim))) {
            free(fdt);
            return ffwd_seterr("device tree: cannot delete a virtio-mmio node: %s", fdt_strerror(err));
        }
        r.removed++;
    }
    int off = -1;
    while ((off = fdt_node_offset_by_compatible(fdt, off, "virtio,mmio")) >= 0)
        r.virtio_kept++;
    if (r.virtio_kept != nkeep) {
        free(fdt);
        return ffwd_seterr("device tree: expected %u virtio-mmio transports for the disks, found %u", nkeep,
                           r.virtio_kept);
    }
    fdt_pack(fdt);
    *out = fdt;
    *outlen = fdt_totalsize(fdt);
    if (rep)
        *rep = r;
    return 0;
}
