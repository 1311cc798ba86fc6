/* cmd_guest.c -- `ffwd guest`: build the demo guest / print its paths. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../image/guest_image.h"
#include "cli.h"
#include "opts.h"

static void help(FILE *f)
{
    fprintf(f, "usage: ffwd guest build [--force]\n"
               "       ffwd guest path [kernel|initrd|disk|rootfs|dir|manifest]\n"
               "\n"
               "The demo guest is assembled from Debian arm64 packages (apt-get download:\n"
               "the kernel, busybox-static, xz-utils, libc6) and ffwd's cross-compiled\n"
               "programs, into a cache folder ($FFWD_CACHE, else ~/.cache/ffwd) keyed by\n"
               "the package versions and program hashes. `build` makes it (again with\n"
               "--force); `path` prints where a part is (building it first if needed):\n"
               "  kernel    arm64 Image          initrd    ffwd init hook + modules\n"
               "  disk      demo ext4 disk       rootfs    Debian rootfs disk booting its own init\n");
}

int cmd_guest(int argc, char **argv)
{
    static const struct option lo[] = {
        {"force", no_argument, 0, OPT_FORCE}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool force = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == OPT_FORCE)
            force = true;
        else if (c == 'h') {
            help(stdout);
            return 0;
        } else
            return cli_bad_option(c, argv, help);
    }
    if (optind >= argc)
        return cli_usage(help, "build or path?");
    const char *sub = argv[optind];
    struct guest_image g;
    if (!strcmp(sub, "build")) {
        if (guest_image_get(&(struct guest_image_opts){.force = force}, &g) < 0)
            return cli_fail();
        printf("%s\n", g.dir);
        guest_image_free(&g);
        return 0;
    }
    if (!strcmp(sub, "path")) {
        const char *what = optind + 1 < argc ? argv[optind + 1] : "dir";
        if (guest_image_get(&(struct guest_image_opts){.quiet = false}, &g) < 0)
            return cli_fail();
        const char *p = !strcmp(what, "kernel")     ? g.kernel
                        : !strcmp(what, "initrd")   ? g.initrd
                        : !strcmp(what, "disk")     ? g.demo_disk
                        : !strcmp(what, "rootfs")   ? g.rootfs_disk
                        : !strcmp(what, "manifest") ? g.manifest
                        : !strcmp(what, "dir")      ? g.dir
                                                    : NULL;
        if (!p) {
            guest_image_free(&g);
            return cli_usage(help, "guest path: unknown part '%s'", what);
        }
        printf("%s\n", p);
        guest_image_free(&g);
        return 0;
    }
    return cli_usage(help, "guest: unknown subcommand '%s'", sub);
}
