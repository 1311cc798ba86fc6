/* guest_image.c -- build (or find in the cache) the demo guest; see guest_image.h. */
#define _GNU_SOURCE
#include "../common/paths.h"
#include "guest_image.h"

#include <elf.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../guest/protocol.h"
#include "cpio.h"
#include "debpkg.h"
#include "modinfo.h"

#define IMAGE_FORMAT "ffwd-guest-image 4"
#define DEMO_DISK_SIZE "160M"
#define ROOTFS_DISK_SIZE "64M"

/* index 0 is resolved from the linux-image-arm64 meta package */
enum {
    PKG_KERNEL, PKG_BUSYBOX_STATIC, PKG_BUSYBOX, PKG_XZ, PKG_LZMA, PKG_LIBC,
    PKG_REAL0, /* from here: real programs (and their libraries) on the demo disk */
    NPKG = PKG_REAL0 + 8
};
const char *const guest_image_packages[] = {"linux-image-arm64", "busybox-static", "busybox", "xz-utils",
                                            "liblzma5", "libc6",
                                            /* real programs: bzip2, sqlite3 (writes its database to
                                             * the disk; asks the kernel for randomness), lua5.4 */
                                            "bzip2", "libbz2-1.0", "sqlite3", "libsqlite3-0", "libreadline8",
                                            "libtinfo6", "zlib1g", "lua5.4", NULL};

/* Modules the profile's devices need when the kernel has them as modules. */
static const char *const module_roots[] = {"virtio_mmio", "virtio_blk", "ext4", "crc32c_generic", NULL};

static const char *const guest_programs[] = {"ffwd-guest", "ffwd-ptrchase", "ffwd-sort", "ffwd-matmul",
                                             "ffwd-memtouch", NULL};

static const char *const busybox_applets[] = {
    "sh",    "ash",   "cat",    "echo",  "ls",    "mkdir", "mount", "umount", "poweroff", "reboot", "sync",
    "sleep", "md5sum", "sha256sum", "head", "tail", "wc", "dd", "cp", "mv", "rm", "ln", "grep", "sed", "awk",
    "test",  "[",     "true",   "false", "env",   "printf", "uname", "dmesg", "date", "free", "ps", "kill",
    "chmod", "find",  "xargs",  "tee",   "cut",   "uniq",  "hexdump", "od", "seq", "time", "nproc", "init",
    "cmp",   "tr",    "expr",   "hostname", "stat", NULL};

void guest_image_input(unsigned char *buf, size_t len)
{
    /* Text-like, compressible but not trivially: words from a small
     * vocabulary chosen by a fixed PRNG, with numbers mixed in. */
    static const char *const words[] = {"gem5", "qemu", "checkpoint", "simpoint", "cache", "branch", "load",
                                        "store", "interval", "phase", "vector", "cluster", "warmup", "restore",
                                        "kernel", "guest", "register", "memory", "the", "a", "of", "and"};
    uint64_t s = 0x1234567887654321ULL;
    size_t o = 0;
    while (o < len) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        char w[48];
        int n;
        if (s % 11 == 0)
            n = snprintf(w, sizeof w, "%llu ", (unsigned long long)(s >> 40));
        else
            n = snprintf(w, sizeof w, "%s%s", words[(s >> 8) % (sizeof words / sizeof *words)],
                         (s >> 20) % 13 == 0 ? ".\n" : " ");
        for (int i = 0; i < n && o < len; i++)
            buf[o++] = (unsigned char)w[i];
    }
}

/* The base every ffwd disk shares; see guest_image.h. */
int guest_image_base_root(const char *root, const char *bindir, const char *busybox_static_deb,
                          const char *hostname)
{
    static const char *const dirs[] = {"bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root",
                                       "data", "usr/bin", "etc/init.d", NULL};
    if (img_mkdirs(root, dirs) < 0 || img_extract(busybox_static_deb, root) < 0)
        return -1;
    for (const char *const *a = busybox_applets; *a; a++) {
        char *n = xasprintf("bin/%s", *a);
        if (strcmp(*a, "init") == 0) {
            free(n);
            n = xstrdup("sbin/init");
        }
        char *p = xasprintf("%s/%s", root, n);
        int exists = access(p, F_OK) == 0;
        free(p);
        int sr = exists ? 0 : img_symlink_at(root, n, "/bin/busybox");
        free(n);
        if (sr < 0)
            return -1;
    }
    for (const char *const *g = guest_programs; *g; g++) {
        char *src = xasprintf("%s/%s", bindir, *g), *dst = xasprintf("%s/bin/%s", root, *g);
        int cr = copy_file(src, dst, 0755);
        free(src);
        free(dst);
        if (cr < 0)
            return -1;
    }
    char *hn = xasprintf("%s\n", hostname);
    int r = img_write_text(root, "etc/inittab",
                           "::sysinit:/etc/init.d/rcS\nconsole::askfirst:-/bin/sh\n::shutdown:/bin/sync\n", 0644) < 0 ||
                    img_write_text(root, "etc/init.d/rcS",
                                   "#!/bin/sh\nmount -t tmpfs tmpfs /tmp\n/bin/ffwd-guest marker demo-init\n", 0755) < 0 ||
                    img_write_text(root, "etc/hostname", hn, 0644) < 0
                ? -1
                : 0;
    free(hn);
    return r;
}

/* apt-cache lookups: the meta package's current kernel and every candidate version. */
static int resolve_packages(char *names[NPKG], char *versions[NPKG])
{
    struct sbuf out = {0};
    char *dep_argv[] = {"apt-cache", "depends", "linux-image-arm64:arm64", NULL};
    if (run_cmd(dep_argv, &(struct run_opts){.out = &out, .quiet = true}) != 0 || !strstr(out.s, "linux-image-")) {
        sbuf_free(&out);
        return ffwd_seterr("apt-cache knows no linux-image-arm64:arm64 package: the arm64 architecture or the "
                           "package lists are missing (run scripts/install-deps.sh)");
    }
    char *dep = strstr(out.s, "Depends: linux-image-");
    if (!dep) {
        sbuf_free(&out);
        return ffwd_seterr("cannot find the kernel package linux-image-arm64:arm64 depends on");
    }
    dep += strlen("Depends: ");
    size_t n = strcspn(dep, ":\n ");
    names[PKG_KERNEL] = xasprintf("%.*s", (int)n, dep);
    sbuf_free(&out);
    for (int i = 1; i < NPKG; i++)
        names[i] = xstrdup(guest_image_packages[i]);
    struct deb_list l = {0};
    for (int i = 0; i < NPKG; i++)
        deb_list_add(&l, names[i]);
    int r = l.n == NPKG ? img_deb_versions(&l) : ffwd_seterr("the demo guest's package list names a package twice");
    for (int i = 0; i < NPKG && r == 0; i++)
        versions[i] = xstrdup(l.version[i]);
    deb_list_free(&l);
    return r;
}

/* apt-cache takes ~1 s per call; remember its answer while the package
 * lists are unchanged (their mtimes are the stamp). */
static int resolve_packages_cached(const char *root, char *names[NPKG], char *versions[NPKG])
{
    char *stamp = img_apt_stamp();
    char *cp = xasprintf("%s/apt-resolve.json", root);
    json_t *j = stamp ? json_load_file(cp, 0, NULL) : NULL;
    if (j && !strcmp(json_string_value(json_object_get(j, "stamp")) ?: "", stamp)) {
        json_t *n = json_object_get(j, "names"), *v = json_object_get(j, "versions");
        if (json_array_size(n) == NPKG && json_array_size(v) == NPKG) {
            for (int i = 0; i < NPKG; i++) {
                names[i] = xstrdup(json_string_value(json_array_get(n, i)) ?: "");
                versions[i] = xstrdup(json_string_value(json_array_get(v, i)) ?: "");
            }
            json_decref(j);
            free(cp);
            free(stamp);
            return 0;
        }
    }
    json_decref(j);
    int r = resolve_packages(names, versions);
    if (r == 0 && stamp && mkdir_p(root, 0755) == 0) {
        json_t *n = json_array(), *v = json_array();
        for (int i = 0; i < NPKG; i++) {
            json_array_append_new(n, json_string(names[i]));
            json_array_append_new(v, json_string(versions[i]));
        }
        json_t *o = json_pack("{s:s,s:o,s:o}", "stamp", stamp, "names", n, "versions", v);
        char *js = json_dumps(o, JSON_COMPACT);
        write_file_atomic(cp, js, strlen(js), 0644); /* a cache: failure to write is harmless */
        free(js);
        json_decref(o);
    }
    free(cp);
    free(stamp);
    return r;
}

static int check_aarch64_static(const char *path)
{
    size_t len;
    char *d = read_file(path, &len);
    if (!d)
        return ffwd_preerr("guest program missing (build with 'make')");
    int r = 0;
    Elf64_Ehdr eh;
    if (len < sizeof eh || memcmp(d, ELFMAG, SELFMAG))
        r = ffwd_seterr("%s is not an ELF program", path);
    else {
        memcpy(&eh, d, sizeof eh);
        if (eh.e_machine != EM_AARCH64)
            r = ffwd_seterr("%s is not an aarch64 program (ELF machine %u)", path, eh.e_machine);
    }
    free(d);
    return r;
}

/* ---- kernel modules ---- */
static struct {
    char **name, **path;
    size_t n;
    const char *root;
} modidx;

static void modname(char *s)
{
    for (; *s; s++)
        if (*s == '-')
            *s = '_';
}

static int mod_walk(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    size_t l = strlen(p);
    const char *base = strrchr(p, '/') + 1;
    if (l > 3 && !strcmp(p + l - 3, ".ko")) {
        modidx.name = xrealloc(modidx.name, (modidx.n + 1) * sizeof(char *));
        modidx.path = xrealloc(modidx.path, (modidx.n + 1) * sizeof(char *));
        char *nm = xasprintf("%.*s", (int)(strlen(base) - 3), base);
        modname(nm);
        modidx.name[modidx.n] = nm;
        modidx.path[modidx.n] = xstrdup(p);
        modidx.n++;
    } else if (strstr(base, ".ko.")) {
        modidx.name = xrealloc(modidx.name, (modidx.n + 1) * sizeof(char *));
        modidx.path = xrealloc(modidx.path, (modidx.n + 1) * sizeof(char *));
        char *nm = xasprintf("%.*s", (int)(strstr(base, ".ko.") - base), base);
        modname(nm);
        modidx.name[modidx.n] = nm;
        modidx.path[modidx.n] = xstrdup(p); /* compressed: rejected by modinfo_depends */
        modidx.n++;
    }
    return 0;
}

static const char *mod_path(const char *name)
{
    for (size_t i = 0; i < modidx.n; i++)
        if (!strcmp(modidx.name[i], name))
            return modidx.path[i];
    return NULL;
}

struct modlist {
    char **v;
    size_t n;
};

static bool in_list(struct modlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return true;
    return false;
}

static int mod_visit(const char *name, struct modlist *order, struct modlist *stack)
{
    if (in_list(order, name))
        return 0;
    if (in_list(stack, name))
        return ffwd_seterr("kernel module dependency cycle at %s", name);
    const char *p = mod_path(name);
    if (!p) {
        /* Not a module: fine if built in (CONFIG_...=y). */
        return 0;
    }
    size_t len;
    char *ko = read_file(p, &len);
    if (!ko)
        return -1;
    char deps[1024];
    int r = modinfo_depends(ko, len, deps, sizeof deps, p);
    free(ko);
    if (r < 0)
        return -1;
    stack->v = xrealloc(stack->v, (stack->n + 1) * sizeof(char *));
    stack->v[stack->n++] = (char *)name;
    for (char *save = NULL, *d = strtok_r(deps, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        modname(d);
        if (mod_visit(d, order, stack) < 0)
            return -1;
    }
    stack->n--;
    order->v = xrealloc(order->v, (order->n + 1) * sizeof(char *));
    order->v[order->n++] = xstrdup(name);
    return 0;
}

static void modidx_free(void)
{
    for (size_t i = 0; i < modidx.n; i++) {
        free(modidx.name[i]);
        free(modidx.path[i]);
    }
    free(modidx.name);
    free(modidx.path);
    memset(&modidx, 0, sizeof modidx);
}

static int build(const char *tmp, const char *bindir, char *names[NPKG])
{
    char *debs = xasprintf("%s/debs", tmp);
    struct deb_list l = {0};
    for (int i = 0; i < NPKG; i++)
        deb_list_add(&l, names[i]);
    int st = img_deb_download(&l, debs); /* the candidate versions, as resolved */
    deb_list_free(&l);
    if (st < 0) {
        free(debs);
        return -1;
    }

    int r = -1;
    char *kx = xasprintf("%s/kernel", tmp), *demo = xasprintf("%s/demo-root", tmp);
    char *rootfs = xasprintf("%s/rootfs-root", tmp);
    char *deb[NPKG] = {0};
    for (int i = 0; i < NPKG; i++)
        if (!(deb[i] = img_find_deb(debs, names[i])))
            goto out;

    /* kernel */
    if (img_extract(deb[PKG_KERNEL], kx) < 0)
        goto out;
    {
        struct sbuf ls = {0};
        char *bootd = xasprintf("%s/boot", kx);
        char *argv[] = {"ls", bootd, NULL};
        run_cmd(argv, &(struct run_opts){.out = &ls, .quiet = true});
        char *vm = ls.s ? strstr(ls.s, "vmlinuz-") : NULL;
        if (!vm) {
            ffwd_seterr("no boot/vmlinuz-* in %s", deb[PKG_KERNEL]);
            free(bootd);
            sbuf_free(&ls);
            goto out;
        }
        char *src = xasprintf("%s/%.*s", bootd, (int)strcspn(vm, "\n"), vm);
        char *dst = xasprintf("%s/Image", tmp);
        int cr = copy_file(src, dst, 0644);
        free(src);
        free(dst);
        free(bootd);
        sbuf_free(&ls);
        if (cr < 0)
            goto out;
    }

    /* initramfs: ffwd-guest as /init + modules in dependency order */
    {
        char *modroot = xasprintf("%s/lib/modules", kx);
        modidx_free();
        if (nftw(modroot, mod_walk, 32, FTW_PHYS) < 0) {
            ffwd_seterr_errno("cannot read %s", modroot);
            free(modroot);
            goto out;
        }
        free(modroot);
        struct modlist order = {0}, stack = {0};
        for (const char *const *m = module_roots; *m; m++)
            if (mod_visit(*m, &order, &stack) < 0) {
                free(stack.v);
                goto out;
            }
        free(stack.v);
        char *ip = xasprintf("%s/initramfs.cpio.gz", tmp);
        struct cpio *c = cpio_create(ip);
        free(ip);
        if (!c)
            goto out;
        char *self = xasprintf("%s/ffwd-guest", bindir);
        struct sbuf ord = {0};
        int cr = cpio_dir(c, "dev", 0755) | cpio_chardev(c, "dev/console", 0600, 5, 1) | cpio_dir(c, "proc", 0755) |
                 cpio_dir(c, "sys", 0755) | cpio_dir(c, "newroot", 0755) | cpio_dir(c, "lib", 0755) |
                 cpio_dir(c, "lib/modules", 0755) | cpio_dir(c, "lib/modules/ffwd", 0755) |
                 cpio_file_from(c, "init", 0755, self);
        free(self);
        for (size_t i = 0; i < order.n && cr == 0; i++) {
            char *nm = xasprintf("lib/modules/ffwd/%s.ko", order.v[i]);
            cr = cpio_file_from(c, nm, 0644, mod_path(order.v[i]));
            sbuf_addf(&ord, "%s.ko\n", order.v[i]);
            free(nm);
        }
        if (cr == 0)
            cr = cpio_file(c, "lib/modules/ffwd/order", 0644, ord.s ? ord.s : "", ord.len);
        /* a shell and the workloads, for ffwd.root=none (runs without a disk) */
        if (cr == 0) {
            char *bb = xasprintf("%s/bbs", tmp);
            cr = img_extract(deb[PKG_BUSYBOX_STATIC], bb);
            char *bbbin = xasprintf("%s/bin/busybox", bb);
            cr = cr ? cr : cpio_dir(c, "bin", 0755) | cpio_file_from(c, "bin/busybox", 0755, bbbin) |
                               cpio_dir(c, "tmp", 01777);
            for (const char *const *a = busybox_applets; *a && cr == 0; a++) {
                if (!strcmp(*a, "init"))
                    continue;
                char *nm = xasprintf("bin/%s", *a);
                cr = cpio_symlink(c, nm, "busybox");
                free(nm);
            }
            for (const char *const *g = guest_programs; *g && cr == 0; g++) {
                char *src = xasprintf("%s/%s", bindir, *g), *nm = xasprintf("bin/%s", *g);
                cr = cpio_file_from(c, nm, 0755, src);
                free(src);
                free(nm);
            }
            free(bbbin);
            rm_rf(bb);
            free(bb);
        }
        sbuf_free(&ord);
        for (size_t i = 0; i < order.n; i++)
            free(order.v[i]);
        free(order.v);
        if (cr != 0) {
            cpio_abort(c);
            goto out;
        }
        if (cpio_finish(c) < 0)
            goto out;
    }

    /* demo disk */
    {
        if (guest_image_base_root(demo, bindir, deb[PKG_BUSYBOX_STATIC], "ffwd-demo") < 0)
            goto out;
        if (img_extract(deb[PKG_LIBC], demo) < 0 || img_extract(deb[PKG_LZMA], demo) < 0 ||
            img_extract(deb[PKG_XZ], demo) < 0)
            goto out;
        for (int i = PKG_REAL0; i < NPKG; i++)
            if (img_extract(deb[i], demo) < 0)
                goto out;
        unsigned char *in = xmalloc(GUEST_INPUT_SIZE);
        guest_image_input(in, GUEST_INPUT_SIZE);
        char *ip = xasprintf("%s/data/input.txt", demo);
        int wr = write_file_atomic(ip, in, GUEST_INPUT_SIZE, 0644);
        free(ip);
        free(in);
        if (wr < 0)
            goto out;
        char *img = xasprintf("%s/demo.img", tmp);
        int mr = img_mke2fs(demo, img, DEMO_DISK_SIZE, "ffwd-demo");
        free(img);
        if (mr < 0)
            goto out;
    }

    /* Debian rootfs disk: its own init (Debian's dynamically linked busybox) */
    {
        static const char *const dirs[] = {"bin", "sbin", "etc/init.d", "proc", "sys", "dev", "run", "tmp", "root",
                                           NULL};
        if (img_mkdirs(rootfs, dirs) < 0)
            goto out;
        if (img_extract(deb[PKG_BUSYBOX], rootfs) < 0 || img_extract(deb[PKG_LIBC], rootfs) < 0 ||
            img_extract(deb[PKG_LZMA], rootfs) < 0 || img_extract(deb[PKG_XZ], rootfs) < 0)
            goto out;
        if (img_symlink_at(rootfs, "bin/sh", "busybox") < 0 || img_symlink_at(rootfs, "sbin/init", "/bin/busybox") < 0 ||
            img_symlink_at(rootfs, "sbin/poweroff", "/bin/busybox") < 0 ||
            img_write_text(rootfs, "etc/inittab", "::sysinit:/etc/init.d/rcS\n::shutdown:/bin/busybox sync\n", 0644) <
                0 ||
            img_write_text(rootfs, "etc/init.d/rcS",
                       "#!/bin/sh\n"
                       "# rcS of the ffwd test rootfs: run by Debian's busybox init (PID 1).\n"
                       "/bin/busybox mount -t tmpfs tmpfs /tmp\n"
                       "echo \"rootfs-init: pid=$$ init=$(/bin/busybox readlink /proc/1/exe)\"\n"
                       "echo \"rootfs-init: $(/usr/bin/xz --version | /bin/busybox head -1)\"\n"
                       "/bin/busybox poweroff -f\n",
                       0755) < 0)
            goto out;
        char *img = xasprintf("%s/rootfs.img", tmp);
        int mr = img_mke2fs(rootfs, img, ROOTFS_DISK_SIZE, "ffwd-rootfs");
        free(img);
        if (mr < 0)
            goto out;
    }
    r = 0;
out:
    modidx_free();
    for (int i = 0; i < NPKG; i++)
        free(deb[i]);
    /* the extracted trees are only build inputs */
    rm_rf(kx);
    rm_rf(demo);
    rm_rf(rootfs);
    rm_rf(debs);
    free(kx);
    free(demo);
    free(rootfs);
    free(debs);
    return r;
}

static void fill_paths(struct guest_image *g, const char *dir)
{
    g->dir = xstrdup(dir);
    g->kernel = xasprintf("%s/Image", dir);
    g->initrd = xasprintf("%s/initramfs.cpio.gz", dir);
    g->demo_disk = xasprintf("%s/demo.img", dir);
    g->rootfs_disk = xasprintf("%s/rootfs.img", dir);
    g->manifest = xasprintf("%s/guest.json", dir);
}

int guest_image_get(const struct guest_image_opts *o, struct guest_image *out)
{
    memset(out, 0, sizeof *out);
    char bindir[4096];
    char *gdir = o->guest_bin ? xstrdup(o->guest_bin) : ffwd_guest_bin_dir();
    snprintf(bindir, sizeof bindir, "%s", gdir);
    free(gdir);
    char *names[NPKG] = {0}, *versions[NPKG] = {0};
    int r = -1;
    char *root = img_cache_root(o->cache_dir), *final = NULL, *tmp = NULL;
    json_t *man = NULL;
    if (resolve_packages_cached(root, names, versions) < 0)
        goto done;
    struct sbuf key = {0};
    sbuf_addf(&key, "%s\n", IMAGE_FORMAT);
    for (int i = 0; i < NPKG; i++)
        sbuf_addf(&key, "%s=%s\n", names[i], versions[i]);
    man = json_object();
    json_object_set_new(man, "format", json_string(IMAGE_FORMAT));
    json_t *pk = json_object();
    for (int i = 0; i < NPKG; i++)
        json_object_set_new(pk, names[i], json_string(versions[i]));
    json_object_set_new(man, "debian_arm64_packages", pk);
    json_t *progs = json_object();
    for (const char *const *g = guest_programs; *g; g++) {
        char *p = xasprintf("%s/%s", bindir, *g);
        char h[65];
        if (check_aarch64_static(p) < 0 || sha256_file(p, h) < 0) {
            free(p);
            sbuf_free(&key);
            goto done;
        }
        free(p);
        sbuf_addf(&key, "%s=%s\n", *g, h);
        json_object_set_new(progs, *g, json_string(h));
    }
    json_object_set_new(man, "guest_programs_sha256", progs);
    char kh[65];
    sha256_data(key.s, key.len, kh);
    sbuf_free(&key);
    kh[16] = 0;
    json_object_set_new(man, "key", json_string(kh));
    final = xasprintf("%s/guest-%s", root, kh);
    char *ready = xasprintf("%s/guest.json", final);
    bool have = path_exists(ready);
    free(ready);
    if (have && !o->force) {
        fill_paths(out, final);
        r = 0;
        goto done;
    }
    if (!o->quiet)
        ffwd_progress("building the demo guest from Debian arm64 packages (%s %s) into %s", names[PKG_KERNEL],
                      versions[PKG_KERNEL], final);
    if (!(tmp = make_temp_dir(root, "tmp-guest-")))
        goto done;
    if (build(tmp, bindir, names) < 0)
        goto done;
    struct stat st;
    const char *files[] = {"Image", "initramfs.cpio.gz", "demo.img", "rootfs.img"};
    json_t *sizes = json_object();
    for (int i = 0; i < 4; i++) {
        char *p = xasprintf("%s/%s", tmp, files[i]);
        if (stat(p, &st) == 0)
            json_object_set_new(sizes, files[i], json_integer((json_int_t)st.st_size));
        free(p);
    }
    json_object_set_new(man, "sizes", sizes);
    char *mp = xasprintf("%s/guest.json", tmp);
    char *js = json_dumps(man, JSON_INDENT(2) | JSON_SORT_KEYS);
    int wr = write_file_atomic(mp, js, strlen(js), 0644); /* written last: marks the folder complete */
    free(js);
    free(mp);
    if (wr < 0)
        goto done;
    if (o->force && path_exists(final)) {
        char *old = xasprintf("%s.old.%ld", final, (long)getpid());
        rename(final, old);
        rm_rf(old);
        free(old);
    }
    if (rename(tmp, final) < 0) {
        if (!path_exists(final)) { /* a concurrent build may have won; use its result */
            ffwd_seterr_errno("cannot rename %s to %s", tmp, final);
            goto done;
        }
        rm_rf(tmp);
    }
    free(tmp);
    tmp = NULL;
    fill_paths(out, final);
    if (!o->quiet)
        ffwd_progress("demo guest ready");
    r = 0;
done:
    if (tmp) {
        rm_rf(tmp);
        free(tmp);
    }
    json_decref(man);
    for (int i = 0; i < NPKG; i++) {
        free(names[i]);
        free(versions[i]);
    }
    free(final);
    free(root);
    return r;
}

void guest_image_free(struct guest_image *g)
{
    free(g->dir);
    free(g->kernel);
    free(g->initrd);
    free(g->demo_disk);
    free(g->rootfs_disk);
    free(g->manifest);
    memset(g, 0, sizeof *g);
}
