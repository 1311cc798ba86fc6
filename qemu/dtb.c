/* dtb.c -- see dtb.h. */
#include "dtb.h"

#include <libfdt.h>
#include <stdio.h>
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

int dtb_set_rng_seed(void **blob, size_t *bloblen, uint64_t seed, size_t len)
{
    if (len == 0 || len > 4096)
        return ffwd_seterr("device tree: rng-seed of %zu bytes (1..4096)", len);
    /* bytes i*32.. = SHA-256("ffwd rng-seed <seed> <i>"): the same seed
     * always gives the same bytes, different seeds unrelated ones. QEMU
     * overwrites them at reset (qemu_fdt_randomize_seeds) with bytes of its
     * own -seed generator, which ffwd seeds with the same number (vm.c):
     * the property must exist for that, and a reader of this file sees
     * bytes that depend on the seed alone. */
    uint8_t *bytes = xmalloc(len + 32);
    for (size_t i = 0; i * 32 < len; i++) {
        char in[64], hex[65];
        int n = snprintf(in, sizeof in, "ffwd rng-seed %llu %zu", (unsigned long long)seed, i);
        sha256_data(in, (size_t)n, hex);
        char *raw = hex_decode(hex, NULL);
        memcpy(bytes + i * 32, raw, 32);
        free(raw);
    }
    size_t cap = fdt_totalsize(*blob) + len + 256;
    void *fdt = xmalloc(cap);
    int err = fdt_open_into(*blob, fdt, (int)cap);
    int chosen = err ? err : fdt_path_offset(fdt, "/chosen");
    if (!err && chosen < 0)
        chosen = fdt_add_subnode(fdt, 0, "chosen");
    if (!err && chosen >= 0)
        err = fdt_setprop(fdt, chosen, "rng-seed", bytes, (int)len);
    free(bytes);
    if (err || chosen < 0) {
        free(fdt);
        return ffwd_seterr("device tree: cannot set /chosen/rng-seed: %s", fdt_strerror(err ? err : chosen));
    }
    fdt_pack(fdt);
    free(*blob);
    *blob = fdt;
    *bloblen = fdt_totalsize(fdt);
    return 0;
}
