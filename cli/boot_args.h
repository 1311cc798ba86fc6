/*
 * boot_args.h -- the guest/run options shared by every command that boots a
 * guest (`boot`, `profile`, `sample`): one parser, one help text.
 */
#ifndef FFWD_BOOT_ARGS_H
#define FFWD_BOOT_ARGS_H

#include <getopt.h>
#include <stdbool.h>

#include "../image/guest_image.h"
#include "../qemu/run.h"
#include "opts.h"

struct boot_args {
    struct ffwd_vm_config cfg;
    struct ffwd_run_opts ro;
    uint64_t *insn; /* --capture-at-insn */
    unsigned ninsn, cap_insn;
    struct guest_image gi;
};

#define BOOT_LONGOPTS                                                                                              \
    PROFILE_LONGOPTS, {"kernel", required_argument, 0, OPT_KERNEL}, {"disk", required_argument, 0, OPT_DISK},     \
        {"initrd", required_argument, 0, OPT_INITRD}, {"append", required_argument, 0, OPT_APPEND},               \
        {"cmd", required_argument, 0, OPT_CMD}, {"expect-marker", required_argument, 0, OPT_EXPECT},              \
        {"run-dir", required_argument, 0, OPT_RUN_DIR}, {"console", no_argument, 0, OPT_CONSOLE},                 \
        {"timeout", required_argument, 0, OPT_TIMEOUT}, {"qemu", required_argument, 0, OPT_QEMU},                \
        {"keep-run-dir", no_argument, 0, OPT_KEEP_RUN_DIR}

#define FFWD_BOOT_OPTS_HELP                                                                                        \
    "Guest and run (as `ffwd boot`):\n"                                                                            \
    "  --kernel IMAGE       arm64 Linux Image (default: the demo guest's)\n"                                        \
    "  --disk BASE          base disk image, raw or qcow2; never written (runs on an overlay)\n"                    \
    "  --initrd FILE        initramfs (default with the demo kernel: ffwd's init hook)\n"                           \
    "  --append ARGS        extra kernel command line\n"                                                            \
    "  --cmd 'COMMAND'      run COMMAND with the root disk's /bin/sh once the guest is up, then\n"                  \
    "                       power off; needs ffwd's initramfs (ffwd guest path initrd)\n"                           \
    "  --expect-marker TEXT fail unless the guest runs `ffwd-guest marker TEXT`\n"                                  \
    "  --run-dir DIR        run directory (sockets, console.log, disk overlay); default: new\n"                     \
    "                       folder under $TMPDIR/ffwd-UID, removed after a run that succeeded\n"                   \
    "                       (kept after a failure, its path printed)\n"                                            \
    "  --keep-run-dir       keep that folder after success too\n"                                                  \
    "  --console            copy the guest console to standard output\n"                                           \
    "  --timeout SEC        give up (and stop QEMU) after SEC seconds (default 600)\n"                              \
    "  --qemu PATH          qemu-system-aarch64 to use (default: $FFWD_QEMU or PATH)\n"

void boot_args_init(struct boot_args *b);
/* 1: option consumed, 0: not a boot option, -1: bad value (error set). */
int boot_args_opt(struct boot_args *b, int opt, const char *arg);
/* Check the combination of options (a failure is bad usage: exit 2). */
int boot_args_check(struct boot_args *b);
/* Fill in the demo guest where none was given (after boot_args_check). */
int boot_args_prepare(struct boot_args *b);
void boot_args_free(struct boot_args *b);

#endif
