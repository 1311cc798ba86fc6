/* boot_args.c -- guest/run options shared by `boot`, `profile` and `sample`. */
#include "boot_args.h"

#include <string.h>

#include "../common/err.h"
#include "cli.h"

void boot_args_init(struct boot_args *b)
{
    memset(b, 0, sizeof *b);
    ffwd_profile_default(&b->cfg.prof);
    b->ro.timeout_s = 600;
    b->ro.progress = true;
    b->cfg.insn_scope = -1;
}

int boot_args_opt(struct boot_args *b, int opt, const char *arg)
{
    int r = cli_profile_opt(&b->cfg.prof, opt, arg);
    if (r)
        return r;
    switch (opt) {
    case OPT_KERNEL: b->cfg.kernel = arg; return 1;
    case OPT_DISK: b->cfg.disk = arg; return 1;
    case OPT_INITRD: b->cfg.initrd = arg; return 1;
    case OPT_APPEND: b->cfg.append = arg; return 1;
    case OPT_CMD: b->cfg.cmd = arg; return 1;
    case OPT_EXPECT: b->ro.expect_marker = arg; return 1;
    case OPT_RUN_DIR: b->cfg.run_dir = arg; return 1;
    case OPT_KEEP_RUN_DIR: b->ro.keep_run_dir = true; return 1;
    case OPT_CONSOLE: b->cfg.echo_console = true; return 1;
    case OPT_QEMU: b->cfg.qemu = arg; return 1;
    case OPT_TIMEOUT: return cli_seconds("--timeout", arg, &b->ro.timeout_s) < 0 ? -1 : 1;
    }
    return 0;
}

int boot_args_check(struct boot_args *b)
{
    struct ffwd_vm_config *cfg = &b->cfg;
    if (ffwd_profile_check(&cfg->prof) < 0)
        return -1;
    if (cfg->insn_scope >= (int)cfg->prof.smp)
        return ffwd_seterr("--insn-scope: vcpu%d does not exist with --smp %u", cfg->insn_scope, cfg->prof.smp);
    if (b->ninsn && strcmp(cfg->prof.accel, "tcg"))
        return ffwd_seterr("instruction-count stops need --accel tcg (instructions are counted by a TCG plugin)");
    if (cfg->prof.icount && cfg->prof.smp > 1 && (cfg->plugin || b->ninsn))
        /* observed with Debian's QEMU 10.0: qemu aborts in boot ("arm_mmu_idx_el:
         * code should not be reached") with any TCG plugin, even one that only
         * counts instructions inline, when -icount runs more than one vCPU */
        return ffwd_seterr("--deterministic with --smp %u cannot load a TCG plugin (QEMU 10 aborts: "
                           "arm_mmu_idx_el); use --smp 1, or drop --deterministic",
                           cfg->prof.smp);
    if (b->ro.capture_marker && !b->ro.capture_dir)
        return ffwd_seterr("--capture-at-marker needs --capture-dir DIR");
    if (cfg->cmd && !cfg->initrd && cfg->kernel)
        return ffwd_seterr("--cmd needs ffwd's init hook: pass --initrd \"$(ffwd guest path initrd)\" (it carries "
                           "the modules of the Debian arm64 kernel), or run the command from your own init");
    return 0;
}

int boot_args_prepare(struct boot_args *b)
{
    struct ffwd_vm_config *cfg = &b->cfg;
    if (!cfg->kernel) {
        if (guest_image_get(&(struct guest_image_opts){0}, &b->gi) < 0)
            return -1;
        cfg->kernel = b->gi.kernel;
        if (!cfg->initrd)
            cfg->initrd = b->gi.initrd;
        if (!cfg->disk)
            cfg->disk = b->gi.demo_disk;
    }
    cfg->insn_targets = b->insn;
    cfg->ninsn_targets = b->ninsn;
    b->ro.insn_scope = cfg->insn_scope;
    return 0;
}

void boot_args_free(struct boot_args *b)
{
    guest_image_free(&b->gi);
    free(b->insn);
    b->insn = NULL;
    b->ninsn = b->cap_insn = 0;
}
