/* vm.c -- start and supervise QEMU under the ffwd profile (see vm.h). */
#define _GNU_SOURCE
#include "vm.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/paths.h"
#include "../guest/protocol.h"
#include "dtb.h"

char *ffwd_plugin_path(const char *name)
{
    char *d = ffwd_plugin_dir();
    char *p = xasprintf("%s/libffwd-%s.so", d, name);
    free(d);
    return p;
}

const char *ffwd_qemu_binary(const char *override)
{
    if (override && *override)
        return override;
    const char *e = getenv("FFWD_QEMU");
    return e && *e ? e : "qemu-system-aarch64";
}

static bool prog_available(const char *p)
{
    return strchr(p, '/') ? access(p, X_OK) == 0 : have_program(p);
}

int ffwd_qemu_version(const char *qemu, int *major, int *minor, int *micro)
{
    if (!prog_available(qemu))
        return ffwd_seterr("QEMU not found: '%s' is not %s (run scripts/install-deps.sh, or set FFWD_QEMU)", qemu,
                           strchr(qemu, '/') ? "an executable file" : "in PATH");
    struct sbuf out = {0};
    char *argv[] = {(char *)qemu, "--version", NULL};
    int st = run_cmd(argv, &(struct run_opts){.out = &out, .merge_stderr = true});
    if (st != 0) {
        sbuf_free(&out);
        return st < 0 ? -1 : ffwd_seterr("'%s --version' failed (exit %d)", qemu, st);
    }
    const char *v = strstr(out.s, "version ");
    int a = 0, b = 0, c = 0;
    if (!v || sscanf(v, "version %d.%d.%d", &a, &b, &c) < 2) {
        ffwd_seterr("cannot read the QEMU version from '%s --version': %.80s", qemu, out.s);
        sbuf_free(&out);
        return -1;
    }
    sbuf_free(&out);
    *major = a;
    *minor = b;
    *micro = c;
    return 0;
}

int ffwd_check_kernel(const char *path)
{
    if (!path)
        return ffwd_seterr("no kernel given (--kernel IMAGE)");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ffwd_seterr_errno("kernel %s", path);
    unsigned char h[0x240] = {0};
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    if (n < 0)
        return ffwd_seterr_errno("kernel %s: cannot read", path);
    if (n >= 0x40 && h[0x38] == 'A' && h[0x39] == 'R' && h[0x3a] == 'M' && h[0x3b] == 0x64)
        return 0; /* arm64 Linux Image (Documentation/arch/arm64/booting.rst) */
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        return 0; /* gzip'ed Image: QEMU decompresses it */
    if (n >= 20 && !memcmp(h, "\177ELF", 4)) {
        unsigned mach = h[5] == 2 ? (unsigned)(h[18] << 8 | h[19]) : (unsigned)(h[18] | h[19] << 8);
        return ffwd_seterr("kernel %s is an ELF file for machine %u%s, not an arm64 Linux Image (use the "
                           "arch/arm64/boot/Image or Debian's /boot/vmlinuz-*-arm64)",
                           path, mach, mach == 62 ? " (x86-64)" : mach == 183 ? " (aarch64 vmlinux)" : "");
    }
    if (n >= 0x206 && !memcmp(h + 0x202, "HdrS", 4))
        return ffwd_seterr("kernel %s is an x86 bzImage, not an arm64 Linux Image", path);
    if (n >= 0x40 && h[0x38] == 'R' && h[0x39] == 'I' && h[0x3a] == 'S' && h[0x3b] == 'C')
        return ffwd_seterr("kernel %s is a RISC-V Image, not an arm64 Linux Image", path);
    return ffwd_seterr("kernel %s is not an arm64 Linux Image (no 'ARM\\x64' magic at offset 0x38)", path);
}

const char *ffwd_check_disk(const char *path)
{
    if (!path) {
        ffwd_seterr("no disk given (--disk BASE)");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ffwd_seterr_errno("disk %s", path);
        return NULL;
    }
    struct stat st;
    unsigned char h[4] = {0};
    ssize_t n = read(fd, h, 4);
    fstat(fd, &st);
    close(fd);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        ffwd_seterr("disk %s is not a regular file", path);
        return NULL;
    }
    if (n == 4 && !memcmp(h, "QFI\xfb", 4))
        return "qcow2";
    if (st.st_size == 0 || st.st_size % 512) {
        ffwd_seterr("disk %s: a raw disk image must be a non-empty multiple of 512 bytes (it has %lld)", path,
                    (long long)st.st_size);
        return NULL;
    }
    return "raw";
}

char *ffwd_machine_opt(const struct ffwd_profile *p, const char *dumpdtb, bool ram_backend)
{
    struct sbuf b = {0};
    sbuf_addf(&b, "%s,gic-version=%d", p->machine, p->gic_version);
    if (p->gic_version == 3)
        sbuf_addf(&b, ",its=%s", p->its ? "on" : "off");
    sbuf_addf(&b, ",secure=off,virtualization=off,dtb-randomness=%s", p->dtb_randomness ? "on" : "off");
    if (dumpdtb)
        sbuf_addf(&b, ",dumpdtb=%s", dumpdtb);
    if (ram_backend)
        sbuf_addf(&b, ",memory-backend=ffwd-ram");
    return b.s;
}

struct argv_b {
    char **v;
    size_t n, cap;
};

static void av(struct argv_b *a, char *s) /* takes ownership */
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void av2(struct argv_b *a, const char *opt, char *val)
{
    av(a, xstrdup(opt));
    av(a, val);
}

bool ffwd_vm_disk_in_use(const struct ffwd_vm_config *cfg)
{
    /* ffwd's init mounts the root disk unless told ffwd.root=none; any other init mounts it too */
    return cfg->disk && !(cfg->append && strstr(cfg->append, "ffwd.root=none"));
}

const char *ffwd_vm_unreproducible(const struct ffwd_vm_config *cfg)
{
    if (cfg->rr_mode) /* recorded (or replayed): the replay reproduces everything */
        return NULL;
    if (!cfg->prof.icount)
        return "not --deterministic: host timing decides where timer and device interrupts fall";
    if (ffwd_vm_disk_in_use(cfg))
        return "--deterministic with a disk: a disk request completes at a host-time moment, which -icount "
               "cannot place (QEMU's record/replay can, with one vCPU: see docs/record-replay.md)";
    return NULL;
}

/* ---- record/replay: the machine a record belongs to ---- */
/* Everything a replay must share with its record: QEMU's command line
 * without per-run paths and plugins (they may differ: they do not change
 * what the guest does), and the size and time of every file the guest
 * boots from. */
static json_t *rr_machine(const struct ffwd_vm_config *cfg)
{
    struct ffwd_vm_config c = *cfg;
    c.rr_mode = NULL, c.plugin = NULL;
    c.insn_targets = NULL, c.ninsn_targets = 0;
    char **av = ffwd_qemu_argv(&c, "RUN_DIR", cfg->disk ? "RUN_DIR/disk0.qcow2" : NULL, "RUN_DIR/virt.dtb",
                               "RAM_FILE");
    json_t *argv = json_array();
    for (char **p = av + 1; *p; p++) /* not the binary's path */
        json_array_append_new(argv, json_string(*p));
    ffwd_argv_free(av);
    json_t *files = json_object();
    const char *paths[] = {cfg->kernel, cfg->initrd, cfg->disk};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (paths[i] && stat(paths[i], &st) == 0)
            json_object_set_new(files, paths[i],
                                json_pack("{s:I,s:I}", "size", (json_int_t)st.st_size, "mtime", (json_int_t)st.st_mtime));
    }
    return json_pack("{s:s,s:i,s:o,s:o}", "format", "ffwd-record", "version", 1, "qemu_args", argv, "files", files);
}

int ffwd_vm_rr_prepare(const struct ffwd_vm_config *cfg)
{
    if (!cfg->rr_mode)
        return 0;
    if (cfg->prof.smp > 1)
        return ffwd_seterr("record/replay needs --smp 1 (QEMU refuses it with several vCPUs: one record orders the "
                           "events of one instruction stream)");
    if (cfg->prof.icount)
        return ffwd_seterr("record/replay sets QEMU's instruction clock itself: drop --deterministic");
    if (strcmp(cfg->prof.accel, "tcg"))
        return ffwd_seterr("record/replay needs --accel tcg");
    if (cfg->ninsn_targets && !strcmp(cfg->rr_mode, "record"))
        return ffwd_seterr("instruction-count stops are taken in a replay of the record, not while recording");
    if (cfg->ninsn_targets && cfg->insn_filter && strcmp(cfg->insn_filter, "mode=all"))
        return ffwd_seterr("a replay stops at QEMU's own instruction count, which counts every instruction: "
                           "targets counted with filters (%s) cannot be stopped at; profile the record without "
                           "--user, --roi, --range or --process",
                           cfg->insn_filter);
    char *jp = xasprintf("%s.json", cfg->rr_file);
    int rc = 0;
    if (!strcmp(cfg->rr_mode, "record")) {
        /* written once the record is complete (ffwd_vm_rr_record_done): an
         * earlier one must not vouch for a record that fails half-way */
        if (unlink(jp) < 0 && errno != ENOENT)
            rc = ffwd_seterr_errno("%s", jp);
    } else {
        json_error_t je;
        json_t *was = json_load_file(jp, 0, &je), *now = rr_machine(cfg);
        if (!path_exists(cfg->rr_file))
            rc = ffwd_seterr("%s: no such record", cfg->rr_file);
        else if (!was)
            rc = ffwd_seterr("%s: %s (the description of the machine the record %s was made on)", jp, je.text,
                             cfg->rr_file);
        else if (!json_equal(json_object_get(was, "files"), json_object_get(now, "files")))
            rc = ffwd_seterr("%s: the kernel, initrd or disk is not the one the record was made with (size or time "
                             "differs)", jp);
        else {
            json_t *a = json_object_get(was, "qemu_args"), *b = json_object_get(now, "qemu_args");
            for (size_t i = 0; rc == 0 && i < json_array_size(a) + 1; i++) {
                const char *x = json_string_value(json_array_get(a, i)), *y = json_string_value(json_array_get(b, i));
                if ((x || y) && (!x || !y || strcmp(x, y)))
                    rc = ffwd_seterr("%s: the replay's machine or command differs from the record's: argument %zu is "
                                     "'%.200s' there, '%.200s' now",
                                     jp, i + 1, x ? x : "(none)", y ? y : "(none)");
            }
        }
        json_decref(was);
        json_decref(now);
    }
    free(jp);
    return rc;
}

bool ffwd_vm_replay_stops(const struct ffwd_vm_config *cfg)
{
    return cfg->rr_mode && !strcmp(cfg->rr_mode, "replay") && cfg->ninsn_targets;
}

int ffwd_vm_rr_record_done(const struct ffwd_vm_config *cfg)
{
    if (!cfg->rr_mode || strcmp(cfg->rr_mode, "record"))
        return 0;
    char *jp = xasprintf("%s.json", cfg->rr_file);
    json_t *now = rr_machine(cfg);
    char *text = json_dumps(now, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = write_file_atomic(jp, text, strlen(text), 0644);
    if (rc < 0)
        ffwd_preerr("%s", jp);
    free(text), free(jp);
    json_decref(now);
    return rc;
}

static void common_machine_args(struct argv_b *a, const struct ffwd_profile *p, const char *dumpdtb,
                                const char *ram_path, bool disk_io)
{
    av(a, xstrdup("-nodefaults"));
    av(a, xstrdup("-no-user-config"));
    av2(a, "-display", xstrdup("none"));
    av2(a, "-machine", ffwd_machine_opt(p, dumpdtb, ram_path != NULL));
    if (ram_path)
        av2(a, "-object", xasprintf("memory-backend-file,id=ffwd-ram,size=%lluM,mem-path=%s,share=on",
                                    (unsigned long long)(p->mem_bytes >> 20), ram_path));
    av2(a, "-cpu", xasprintf("%s,pmu=%s", p->cpu, p->pmu ? "on" : "off"));
    av2(a, "-smp", xasprintf("%u", p->smp));
    av2(a, "-m", xasprintf("%lluM", (unsigned long long)(p->mem_bytes >> 20)));
    av2(a, "-accel", xstrdup(p->accel));
    /* QEMU's reset handler (qemu_fdt_randomize_seeds, registered by
     * arm_load_dtb for every DTB, -dtb included) overwrites each rng-seed and
     * kaslr-seed property with bytes from qemu_guest_getrandom: host
     * randomness unless -seed makes them a fixed pseudo-random sequence. So
     * the seed the guest gets is QEMU's, from this number. */
    if (ffwd_profile_rng_seed_bytes(p))
        av2(a, "-seed", xasprintf("%llu", (unsigned long long)p->rng_seed));
    if (p->icount) {
        /* sleep=off: an idle vCPU jumps to the next timer at once -- the same
         * instructions every run, as long as nothing outside the guest is
         * waited for. A disk request is: with sleep=off the guest clock races
         * through every wait for the host (minutes of guest time, hung-task
         * reports), so with a disk in use the idle guest's clock follows the
         * host's (sleep=on). Such a run is not reproducible either way
         * (ffwd_vm_unreproducible). */
        av2(a, "-icount", xstrdup(disk_io ? "shift=0,sleep=on,align=off" : "shift=0,sleep=off,align=off"));
        /* the RTC follows the virtual clock from a fixed date: no host time leaks in */
        av2(a, "-rtc", xstrdup("base=2026-01-01T00:00:00,clock=vm"));
    }
}

char **ffwd_qemu_argv(const struct ffwd_vm_config *cfg, const char *run_dir, const char *disk_overlay,
                      const char *dtb, const char *ram_path)
{
    const struct ffwd_profile *p = &cfg->prof;
    struct argv_b a = {0};
    av(&a, xstrdup(ffwd_qemu_binary(cfg->qemu)));
    common_machine_args(&a, p, NULL, ram_path, ffwd_vm_disk_in_use(cfg));
    av(&a, xstrdup("-no-reboot")); /* a guest reboot or panic ends QEMU */
    if (cfg->rr_mode) /* the guest's clock is its instruction count; every outside event goes to (or comes from) the record */
        av2(&a, "-icount", xasprintf("shift=auto,rr=%s,rrfile=%s", cfg->rr_mode, cfg->rr_file));
    if (ffwd_vm_replay_stops(cfg)) /* paused until the first replay-break is set: it may be at the start */
        av(&a, xstrdup("-S"));
    av2(&a, "-kernel", xstrdup(cfg->kernel));
    if (cfg->initrd)
        av2(&a, "-initrd", xstrdup(cfg->initrd));
    if (dtb)
        av2(&a, "-dtb", xstrdup(dtb));
    struct sbuf app = {0};
    sbuf_addf(&app, "%s", p->append_base);
    if (cfg->append && *cfg->append)
        sbuf_addf(&app, " %s", cfg->append);
    if (cfg->cmd) {
        char *hex = hex_encode(cfg->cmd, strlen(cfg->cmd));
        sbuf_addf(&app, " %s%s", FFWD_CMDLINE_CMD, hex);
        free(hex);
    }
    av2(&a, "-append", app.s);
    av2(&a, "-chardev",
        xasprintf("socket,id=con0,path=%s/console.sock,server=on,wait=on,logfile=%s/console.log,logappend=off",
                  run_dir, run_dir));
    av2(&a, "-serial", xstrdup("chardev:con0"));
    av2(&a, "-chardev", xasprintf("socket,id=qmp0,path=%s/qmp.sock,server=on,wait=off", run_dir));
    av2(&a, "-mon", xstrdup("chardev=qmp0,mode=control"));
    av2(&a, "-chardev", xasprintf("socket,id=qmp1,path=%s/qmp-ctl.sock,server=on,wait=off", run_dir));
    av2(&a, "-mon", xstrdup("chardev=qmp1,mode=control"));
    av2(&a, "-chardev", xasprintf("socket,id=gdb0,path=%s/gdb.sock,server=on,wait=off", run_dir));
    av2(&a, "-gdb", xstrdup("chardev:gdb0"));
    if (disk_overlay) {
        av2(&a, "-global", xasprintf("virtio-mmio.force-legacy=%s", p->virtio_legacy ? "true" : "false"));
        if (cfg->rr_mode) { /* disk completions recorded and replayed: the blkreplay filter over the overlay */
            av2(&a, "-drive", xasprintf("file=%s,if=none,id=img-direct,format=qcow2,discard=ignore", disk_overlay));
            av2(&a, "-drive", xstrdup("driver=blkreplay,if=none,image=img-direct,id=vd0"));
        } else
            av2(&a, "-drive", xasprintf("file=%s,if=none,id=vd0,format=qcow2,discard=ignore", disk_overlay));
        av2(&a, "-device",
            xasprintf("virtio-blk-device,drive=vd0,id=vblk0,queue-size=%u,event_idx=%s,indirect_desc=%s,"
                      "discard=%s,write-zeroes=%s",
                      p->virtio_queue_size, p->virtio_event_idx ? "on" : "off",
                      p->virtio_indirect_desc ? "on" : "off", p->virtio_discard ? "on" : "off",
                      p->virtio_discard ? "on" : "off"));
    }
    /* ffwd's plugins count per block and correct at exceptions; icount's I/O
     * recompiles leave a block early without one: count per instruction there */
    const char *count_mode = p->icount || cfg->rr_mode ? ",count=insn" : "";
    if (cfg->plugin) { /* several plugins: one per line */
        char *copy = xstrdup(cfg->plugin);
        for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
            /* the shared object's file name: before the first comma (its
             * arguments may hold paths), after the path's last slash */
            const char *comma = strchr(t, ','), *so = t;
            for (const char *c = t; *c && (!comma || c < comma); c++)
                if (*c == '/')
                    so = c + 1;
            bool ours = !strncmp(so, "libffwd-", 8);
            av2(&a, "-plugin", xasprintf("%s%s", t, ours ? count_mode : ""));
        }
        free(copy);
    }
    if (cfg->ninsn_targets && !ffwd_vm_replay_stops(cfg)) {
        struct sbuf t = {0};
        char *pp = ffwd_plugin_path("trigger");
        /* the list is a file (ffwd_vm_start writes it): hundreds of targets
         * with landmarks would not fit one argument */
        sbuf_addf(&t, "%s,sock=%s/trigger.sock,targets=%s/trigger.targets", pp, run_dir, run_dir);
        free(pp);
        if (cfg->insn_scope >= 0)
            sbuf_addf(&t, ",scope=vcpu%d", cfg->insn_scope);
        if (cfg->insn_filter && *cfg->insn_filter)
            sbuf_addf(&t, ",%s", cfg->insn_filter);
        sbuf_addf(&t, "%s", count_mode);
        av2(&a, "-plugin", t.s);
    }
    return a.v;
}

void ffwd_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

/* A unix socket path that answers a connect() belongs to a live process. */
static int check_socket_free(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return ffwd_seterr("socket path too long (%zu bytes, max %zu): %s; use a shorter --run-dir", strlen(path),
                           sizeof sa.sun_path - 1, path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        close(fd);
        return ffwd_seterr("socket %s is in use by another process (is a QEMU still running in this run "
                           "directory?)",
                           path);
    }
    if (fd >= 0)
        close(fd);
    if (unlink(path) < 0 && errno != ENOENT)
        return ffwd_seterr_errno("cannot remove the stale socket %s", path);
    return 0;
}

static char *default_run_parent(void)
{
    const char *t = getenv("TMPDIR");
    return xasprintf("%s/ffwd-%ld", t && *t ? t : "/tmp", (long)getuid());
}

/* QEMU's last words from its log: the whole lines within the last `max`
 * bytes (a plugin's complaint comes a line before QEMU's own "could not
 * load plugin"), without QEMU's "info:" lines about waiting for sockets. */
static char *tail_of_file(const char *path, size_t max)
{
    size_t len;
    char *s = read_file(path, &len);
    if (!s)
        return xstrdup("");
    char *start = s;
    if (len > max) {
        start = s + len - max;
        char *nl = strchr(start, '\n');
        start = nl ? nl + 1 : start; /* from a line's beginning */
    }
    struct sbuf r = {0};
    for (char *save = NULL, *l = strtok_r(start, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
        if (!strstr(l, ": info: "))
            sbuf_addf(&r, "%s%s", r.len ? "\n" : "", l);
    free(s);
    return r.s ? r.s : xstrdup("");
}

/* Has the QEMU just started died? Then the error is its last words. */
static bool exited_at_start(struct ffwd_vm *vm, pid_t pid, const char *logp)
{
    int st;
    if (waitpid(pid, &st, WNOHANG) != pid)
        return false;
    vm->pid = -1;
    char *t = tail_of_file(logp, 1000);
    ffwd_seterr("QEMU exited at start (status %d): %s", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), t);
    free(t);
    return true;
}

static int make_dtb(const struct ffwd_vm_config *cfg, const char *run_dir, char **dtb_out)
{
    char *full = xasprintf("%s/virt-full.dtb", run_dir);
    struct argv_b a = {0};
    av(&a, xstrdup(ffwd_qemu_binary(cfg->qemu)));
    common_machine_args(&a, &cfg->prof, full, NULL, false);
    struct sbuf out = {0};
    int st = run_cmd(a.v, &(struct run_opts){.out = &out, .merge_stderr = true});
    ffwd_argv_free(a.v);
    if (st != 0) {
        if (st > 0)
            ffwd_seterr("QEMU could not create the machine's device tree: %s", out.s ? out.s : "");
        sbuf_free(&out);
        free(full);
        return -1;
    }
    sbuf_free(&out);
    size_t len;
    char *blob = read_file(full, &len);
    free(full);
    if (!blob)
        return -1;
    uint64_t keep[1] = {ffwd_profile_disk_mmio_base(0)};
    void *trimmed;
    size_t tlen;
    struct dtb_trim_report rep;
    int r = dtb_trim(blob, len, keep, cfg->disk ? 1 : 0, &trimmed, &tlen, &rep);
    free(blob);
    if (r < 0)
        return ffwd_preerr("trimming QEMU's device tree");
    unsigned seed_bytes = ffwd_profile_rng_seed_bytes(&cfg->prof);
    if (seed_bytes && dtb_set_rng_seed(&trimmed, &tlen, cfg->prof.rng_seed, seed_bytes) < 0) {
        free(trimmed);
        return -1;
    }
    char *dtb = xasprintf("%s/virt.dtb", run_dir);
    r = write_file_atomic(dtb, trimmed, tlen, 0644);
    free(trimmed);
    if (r < 0) {
        free(dtb);
        return -1;
    }
    ffwd_debug("device tree: removed %u nodes, kept %u virtio-mmio transport(s)", rep.removed, rep.virtio_kept);
    *dtb_out = dtb;
    return 0;
}

/* RAM files of QEMUs whose ffwd died without cleaning up (ffwd-PID-*.ram). */
static void clean_stale_shm(void)
{
    struct sbuf o = {0};
    char *argv[] = {"ls", "/dev/shm", NULL};
    if (run_cmd(argv, &(struct run_opts){.out = &o, .quiet = true}) != 0) {
        sbuf_free(&o);
        return;
    }
    for (char *save = NULL, *l = strtok_r(o.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        long pid;
        if (sscanf(l, "ffwd-%ld-", &pid) == 1 && pid > 0 && strstr(l, ".ram") && kill((pid_t)pid, 0) < 0 &&
            errno == ESRCH) {
            char *p = xasprintf("/dev/shm/%s", l);
            unlink(p);
            free(p);
        }
    }
    sbuf_free(&o);
}

static char *abspath(const char *p)
{
    char *r = realpath(p, NULL);
    return r ? r : xstrdup(p);
}

int ffwd_vm_start(const struct ffwd_vm_config *cfg, struct ffwd_vm **out)
{
    *out = NULL;
    if (ffwd_profile_check(&cfg->prof) < 0)
        return -1;
    const char *qemu = ffwd_qemu_binary(cfg->qemu);
    int maj, min, mic;
    if (ffwd_qemu_version(qemu, &maj, &min, &mic) < 0)
        return -1;
    if (maj < FFWD_MIN_QEMU_MAJOR)
        return ffwd_seterr("%s is QEMU %d.%d.%d; ffwd needs QEMU %d or newer (Debian: bookworm-backports, see "
                           "scripts/install-deps.sh)",
                           qemu, maj, min, mic, FFWD_MIN_QEMU_MAJOR);
    if (ffwd_check_kernel(cfg->kernel) < 0)
        return -1;
    if (cfg->initrd && access(cfg->initrd, R_OK) < 0)
        return ffwd_seterr_errno("initrd %s", cfg->initrd);
    const char *disk_fmt = NULL;
    if (cfg->disk && !(disk_fmt = ffwd_check_disk(cfg->disk)))
        return -1;
    if (cfg->cmd && strlen(cfg->cmd) * 2 + strlen(cfg->prof.append_base) + (cfg->append ? strlen(cfg->append) : 0) >
                        1900)
        return ffwd_seterr("--cmd is too long for the kernel command line (%zu bytes; put longer scripts on the "
                           "disk)",
                           strlen(cfg->cmd));
    if (!strcmp(cfg->prof.accel, "kvm") && access("/dev/kvm", R_OK | W_OK) < 0)
        return ffwd_seterr_errno("--accel kvm: /dev/kvm");

    struct ffwd_vm *vm = xcalloc(1, sizeof *vm);
    vm->console_fd = -1;
    vm->trig_fd = -1;
    vm->pid = -1;
    vm->echo = cfg->echo_console;
    if (cfg->run_dir) {
        if (mkdir_p(cfg->run_dir, 0755) < 0)
            goto fail;
        vm->run_dir = abspath(cfg->run_dir);
    } else {
        char *parent = default_run_parent();
        vm->run_dir = make_temp_dir(parent, "run-");
        free(parent);
        if (!vm->run_dir)
            goto fail;
        vm->own_run_dir = true;
    }
    const char *socks[] = {"console.sock", "qmp.sock", "qmp-ctl.sock", "gdb.sock"};
    for (int i = 0; i < 4; i++) {
        char *s = xasprintf("%s/%s", vm->run_dir, socks[i]);
        int r = check_socket_free(s);
        free(s);
        if (r < 0)
            goto fail;
    }

    char *overlay = NULL, *dtb = NULL;
    if (cfg->disk) {
        overlay = xasprintf("%s/disk0.qcow2", vm->run_dir);
        unlink(overlay);
        char *base = abspath(cfg->disk);
        char *img = xstrdup("qemu-img");
        if (strchr(qemu, '/')) { /* prefer the qemu-img next to a given QEMU */
            char *d = xstrdup(qemu);
            *strrchr(d, '/') = 0;
            char *cand = xasprintf("%s/qemu-img", d);
            free(d);
            if (access(cand, X_OK) == 0) {
                free(img);
                img = cand;
            } else
                free(cand);
        }
        char *argv[] = {img, "create", "-q", "-f", "qcow2", "-F", (char *)disk_fmt, "-b", base, overlay, NULL};
        struct sbuf o = {0};
        int st = run_cmd(argv, &(struct run_opts){.out = &o, .merge_stderr = true});
        free(img);
        free(base);
        if (st != 0) {
            if (st > 0)
                ffwd_seterr("cannot create the disk overlay %s: %s", overlay, o.s ? o.s : "");
            sbuf_free(&o);
            free(overlay);
            goto fail;
        }
        sbuf_free(&o);
    }
    if (make_dtb(cfg, vm->run_dir, &dtb) < 0) {
        free(overlay);
        goto fail;
    }
    {
        struct sbuf pj = {0};
        ffwd_profile_print(&cfg->prof, &pj, true);
        char *pp = xasprintf("%s/profile.json", vm->run_dir);
        write_file_atomic(pp, pj.s, pj.len, 0644);
        free(pp);
        sbuf_free(&pj);
    }
    clean_stale_shm();
    if (path_is_dir("/dev/shm") && access("/dev/shm", W_OK) == 0)
        vm->ram_path = xasprintf("/dev/shm/ffwd-%ld-%s.ram", (long)getpid(), strrchr(vm->run_dir, '/') + 1);
    else
        vm->ram_path = xasprintf("%s/ram.mem", vm->run_dir);
    unlink(vm->ram_path);
    vm->ram_size = cfg->prof.mem_bytes;
    {
        char *rp = xasprintf("%s/ram.path", vm->run_dir);
        char *txt = xasprintf("%s\n", vm->ram_path);
        write_file_atomic(rp, txt, strlen(txt), 0644);
        free(txt);
        free(rp);
        if (cfg->disk) {
            char *bp = xasprintf("%s/disk.base", vm->run_dir), *base = abspath(cfg->disk);
            txt = xasprintf("%s\n", base);
            write_file_atomic(bp, txt, strlen(txt), 0644);
            free(txt);
            free(base);
            free(bp);
        }
    }
    int trig_listen = -1;
    if (cfg->ninsn_targets && !ffwd_vm_replay_stops(cfg)) {
        char *pp = ffwd_plugin_path("trigger");
        bool ok = access(pp, R_OK) == 0;
        if (!ok)
            ffwd_seterr("the instruction-count trigger plugin %s is missing (build ffwd, or set FFWD_PLUGIN_DIR)",
                        pp);
        free(pp);
        char *tp = xasprintf("%s/trigger.sock", vm->run_dir);
        struct sockaddr_un tsa = {.sun_family = AF_UNIX};
        snprintf(tsa.sun_path, sizeof tsa.sun_path, "%s", tp);
        unlink(tp);
        free(tp);
        if (ok) {
            struct sbuf tl = {0};
            for (unsigned i = 0; i < cfg->ninsn_targets; i++) {
                sbuf_addf(&tl, "%llu", (unsigned long long)cfg->insn_targets[i]);
                if (cfg->insn_landmark_pc && cfg->insn_landmark_pc[i])
                    sbuf_addf(&tl, " %llx %llu %llu", (unsigned long long)cfg->insn_landmark_pc[i],
                              (unsigned long long)cfg->insn_landmark_lo[i],
                              (unsigned long long)cfg->insn_landmark_hi[i]);
                sbuf_addf(&tl, "\n");
            }
            char *tfp = xasprintf("%s/trigger.targets", vm->run_dir);
            ok = write_file_atomic(tfp, tl.s, tl.len, 0644) == 0;
            free(tfp);
            sbuf_free(&tl);
        }
        if (ok) {
            trig_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (trig_listen < 0 || bind(trig_listen, (struct sockaddr *)&tsa, sizeof tsa) < 0 ||
                listen(trig_listen, 1) < 0) {
                ffwd_seterr_errno("cannot listen on %s", tsa.sun_path);
                ok = false;
            }
        }
        if (!ok) {
            if (trig_listen >= 0)
                close(trig_listen);
            free(overlay);
            free(dtb);
            goto fail;
        }
    }
    char **argv = ffwd_qemu_argv(cfg, vm->run_dir, overlay, dtb, vm->ram_path);
    free(overlay);
    free(dtb);
    {
        struct sbuf c = {0};
        for (char **p = argv; *p; p++)
            sbuf_addf(&c, "%s%s", p == argv ? "" : " ", *p);
        sbuf_addc(&c, '\n');
        char *cp = xasprintf("%s/qemu.cmdline", vm->run_dir);
        write_file_atomic(cp, c.s, c.len, 0644);
        free(cp);
        ffwd_debug("qemu: %s", c.s);
        sbuf_free(&c);
    }
    char *logp = xasprintf("%s/qemu.log", vm->run_dir);
    int logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0) {
        ffwd_seterr_errno("cannot create %s", logp);
        free(logp);
        ffwd_argv_free(argv);
        goto fail;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        ffwd_seterr_errno("fork");
        close(logfd);
        free(logp);
        ffwd_argv_free(argv);
        goto fail;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        setpgid(0, 0);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    ffwd_argv_free(argv);
    vm->pid = pid;
    vm->t_start = now_sec();
    {
        char *pp = xasprintf("%s/qemu.pid", vm->run_dir);
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
        write_file_atomic(pp, buf, (size_t)n, 0644);
        free(pp);
    }

    /* Console first: QEMU waits for it (wait=on) before running the guest. */
    char *cons = xasprintf("%s/console.sock", vm->run_dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", cons);
    free(cons);
    double deadline = now_sec() + 30;
    for (;;) {
        if (exited_at_start(vm, pid, logp)) {
            free(logp);
            goto fail;
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            vm->console_fd = fd;
            break;
        }
        if (fd >= 0)
            close(fd);
        if (now_sec() > deadline) {
            ffwd_seterr("QEMU did not open its console socket within 30 s (see %s)", logp);
            free(logp);
            goto fail;
        }
        usleep(10000);
    }
    if (trig_listen >= 0) {
        /* the plugin connected while QEMU loaded it (before the guest runs) */
        struct pollfd tp = {trig_listen, POLLIN, 0};
        if (poll(&tp, 1, 30000) <= 0) {
            close(trig_listen);
            char *t = tail_of_file(logp, 1000);
            ffwd_seterr("the trigger plugin did not connect (QEMU says: %s)", t);
            free(t);
            free(logp);
            goto fail;
        }
        vm->trig_fd = accept4(trig_listen, NULL, NULL, SOCK_CLOEXEC);
        close(trig_listen);
        char hello[64];
        ssize_t hn = vm->trig_fd >= 0 ? read(vm->trig_fd, hello, sizeof hello - 1) : -1;
        if (hn <= 0 || strncmp(hello, "hello", 5)) {
            ffwd_seterr("the trigger plugin did not say hello");
            free(logp);
            goto fail;
        }
    }
    /* QMP: QEMU may still die after the console connected (a plugin that
     * refuses its arguments is loaded later): its stale socket file would
     * only say "connection refused", so watch the process while trying */
    char *qp = xasprintf("%s/qmp.sock", vm->run_dir);
    deadline = now_sec() + 30;
    while (!vm->qmp) {
        if (exited_at_start(vm, pid, logp))
            break;
        vm->qmp = qmp_connect(qp, 0.25);
        if (!vm->qmp && now_sec() > deadline)
            break; /* qmp_connect's error names the socket */
    }
    free(qp);
    free(logp);
    if (!vm->qmp)
        goto fail;
    *out = vm;
    return 0;
fail:
    ffwd_vm_kill(vm);
    ffwd_vm_free(vm);
    return -1;
}

/* Take one complete line out of vm->line (without the newline). */
static bool take_line(struct ffwd_vm *vm, char *out, size_t outsz)
{
    char *nl = vm->line.s ? memchr(vm->line.s, '\n', vm->line.len) : NULL;
    if (!nl)
        return false;
    size_t n = (size_t)(nl - vm->line.s);
    size_t c = n < outsz - 1 ? n : outsz - 1;
    memcpy(out, vm->line.s, c);
    out[c] = 0;
    while (c && (out[c - 1] == '\r'))
        out[--c] = 0;
    memmove(vm->line.s, nl + 1, vm->line.len - n - 1);
    vm->line.len -= n + 1;
    return true;
}

static bool classify(struct ffwd_vm *vm, const char *line, struct ffwd_vm_event *ev)
{
    const char *l = line;
    while (*l == '\r')
        l++;
    if (str_starts(l, FFWD_PROTO_PREFIX)) {
        const char *p = l + strlen(FFWD_PROTO_PREFIX);
        size_t nl = strcspn(p, " ");
        if (nl == 0 || nl >= sizeof ev->name)
            return false;
        ev->kind = VM_EV_LINE;
        memcpy(ev->name, p, nl);
        ev->name[nl] = 0;
        snprintf(ev->text, sizeof ev->text, "%s", p[nl] ? p + nl + 1 : "");
        return true;
    }
    if (!vm->kernel_seen && strstr(l, "Booting Linux on physical CPU")) {
        vm->kernel_seen = true;
        ev->kind = VM_EV_KERNEL;
        snprintf(ev->text, sizeof ev->text, "%s", l);
        return true;
    }
    if (strstr(l, "Kernel panic - not syncing")) {
        ev->kind = VM_EV_PANIC;
        snprintf(ev->text, sizeof ev->text, "%s", l);
        return true;
    }
    return false;
}

static void reap(struct ffwd_vm *vm, double timeout_s)
{
    if (vm->pid < 0)
        return;
    double deadline = now_sec() + timeout_s;
    for (;;) {
        int st;
        pid_t r = waitpid(vm->pid, &st, WNOHANG);
        if (r == vm->pid) {
            vm->exited = true;
            vm->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            vm->pid = -1;
            return;
        }
        if (r < 0 && errno != EINTR) {
            vm->pid = -1;
            return;
        }
        if (now_sec() > deadline)
            return;
        usleep(10000);
    }
}

bool ffwd_vm_exited(struct ffwd_vm *vm, double wait_s)
{
    reap(vm, wait_s);
    return vm->pid < 0;
}

int ffwd_vm_next_event(struct ffwd_vm *vm, double timeout_s, struct ffwd_vm_event *ev)
{
    memset(ev, 0, sizeof *ev);
    double deadline = now_sec() + timeout_s;
    char line[2048];
    for (;;) {
        while (take_line(vm, line, sizeof line))
            if (classify(vm, line, ev))
                return 0;
        if (vm->console_fd < 0) {
            reap(vm, 10);
            ev->kind = VM_EV_EXIT;
            ev->exit_status = vm->exit_status;
            return 0;
        }
        double left = deadline - now_sec();
        if (left <= 0) {
            ev->kind = VM_EV_TIMEOUT;
            return 0;
        }
        /* a complete line from the trigger plugin? */
        char *tnl = vm->trig_line.s ? memchr(vm->trig_line.s, '\n', vm->trig_line.len) : NULL;
        if (tnl) {
            size_t n = (size_t)(tnl - vm->trig_line.s);
            ev->kind = VM_EV_TRIGGER;
            snprintf(ev->text, sizeof ev->text, "%.*s", (int)n, vm->trig_line.s);
            memmove(vm->trig_line.s, tnl + 1, vm->trig_line.len - n - 1);
            vm->trig_line.len -= n + 1;
            return 0;
        }
        struct pollfd pfd[2] = {{vm->console_fd, POLLIN, 0}, {vm->trig_fd, POLLIN, 0}};
        int r = poll(pfd, vm->trig_fd >= 0 ? 2 : 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ffwd_seterr_errno("poll on the guest console");
        if (r == 0)
            continue;
        if (vm->trig_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP))) {
            char tb[512];
            ssize_t tn = read(vm->trig_fd, tb, sizeof tb);
            if (tn <= 0) {
                close(vm->trig_fd);
                vm->trig_fd = -1;
            } else
                sbuf_add(&vm->trig_line, tb, (size_t)tn);
            if (!(pfd[0].revents & (POLLIN | POLLHUP)))
                continue;
        }
        char buf[16384];
        ssize_t n = read(vm->console_fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            close(vm->console_fd);
            vm->console_fd = -1;
            if (vm->line.len)
                sbuf_addc(&vm->line, '\n');
            continue;
        }
        if (vm->echo) {
            fwrite(buf, 1, (size_t)n, stdout);
            fflush(stdout);
        }
        sbuf_add(&vm->line, buf, (size_t)n);
    }
}

int ffwd_vm_wait_exit(struct ffwd_vm *vm, double timeout_s)
{
    double deadline = now_sec() + timeout_s;
    struct ffwd_vm_event ev;
    for (;;) {
        double left = deadline - now_sec();
        if (ffwd_vm_next_event(vm, left > 0 ? left : 0, &ev) < 0)
            return -1;
        if (ev.kind == VM_EV_EXIT)
            return 0;
        if (ev.kind == VM_EV_TIMEOUT)
            return ffwd_seterr("QEMU did not exit within %.0f s", timeout_s);
    }
}

void ffwd_vm_kill(struct ffwd_vm *vm)
{
    if (!vm)
        return;
    if (vm->pid > 0 && vm->qmp) {
        /* a QEMU that does not answer is killed below: its silence is no
         * news, and must not replace the error that brought us here */
        char *was = xstrdup(ffwd_errmsg());
        json_t *r = NULL;
        if (qmp_cmd(vm->qmp, "quit", NULL, &r, 3) == 0)
            json_decref(r);
        else if (*was)
            ffwd_seterr("%s", was);
        else
            ffwd_clearerr();
        free(was);
        reap(vm, 5);
    }
    if (vm->pid > 0) {
        kill(vm->pid, SIGTERM);
        reap(vm, 3);
    }
    if (vm->pid > 0) {
        kill(vm->pid, SIGKILL);
        reap(vm, 5);
    }
}

void ffwd_vm_free(struct ffwd_vm *vm)
{
    if (!vm)
        return;
    if (vm->pid > 0)
        ffwd_vm_kill(vm);
    if (vm->console_fd >= 0)
        close(vm->console_fd);
    if (vm->trig_fd >= 0)
        close(vm->trig_fd);
    sbuf_free(&vm->trig_line);
    qmp_close(vm->qmp);
    sbuf_free(&vm->line);
    if (vm->ram_path)
        unlink(vm->ram_path);
    free(vm->ram_path);
    free(vm->run_dir);
    free(vm);
}

int ffwd_vm_trigger_go(struct ffwd_vm *vm)
{
    if (vm->trig_fd < 0)
        return ffwd_seterr("the trigger plugin is not connected");
    if (send(vm->trig_fd, "go\n", 3, MSG_NOSIGNAL) != 3)
        return ffwd_seterr_errno("cannot talk to the trigger plugin");
    return 0;
}

int ffwd_vm_trigger_again(struct ffwd_vm *vm)
{
    if (vm->trig_fd < 0)
        return ffwd_seterr("the trigger plugin is not connected");
    if (send(vm->trig_fd, "again\n", 6, MSG_NOSIGNAL) != 6)
        return ffwd_seterr_errno("cannot talk to the trigger plugin");
    return 0;
}

int ffwd_vm_trigger_counts(struct ffwd_vm *vm, uint64_t *total, uint64_t *per_vcpu, uint64_t *counted, unsigned max,
                           unsigned *n)
{
    if (vm->trig_fd < 0)
        return ffwd_seterr("the trigger plugin is not connected");
    if (send(vm->trig_fd, "query\n", 6, MSG_NOSIGNAL) != 6)
        return ffwd_seterr_errno("cannot talk to the trigger plugin");
    double deadline = now_sec() + 10;
    for (;;) {
        char *nl = vm->trig_line.s ? memchr(vm->trig_line.s, '\n', vm->trig_line.len) : NULL;
        if (nl && !strncmp(vm->trig_line.s, "counts ", 7)) {
            *nl = 0;
            char *p = vm->trig_line.s + 7, *end;
            *total = strtoull(p, &end, 10);
            *n = 0;
            for (p = end; *p && *n < max; p = end) {
                uint64_t v = strtoull(p, &end, 10);
                if (end == p)
                    break;
                per_vcpu[(*n)++] = v;
            }
            /* " counted K0 K1 ...": as many as vCPUs */
            char *k = strstr(p, " counted");
            for (unsigned i = 0; counted && i < *n; i++) {
                counted[i] = 0;
                if (k) {
                    k += i ? 0 : 8;
                    counted[i] = strtoull(k, &end, 10);
                    k = end;
                }
            }
            if (counted && !k) {
                *nl = '\n';
                break; /* an old trigger plugin */
            }
            size_t used = (size_t)(nl - vm->trig_line.s) + 1;
            memmove(vm->trig_line.s, nl + 1, vm->trig_line.len - used);
            vm->trig_line.len -= used;
            return 0;
        }
        if (nl)
            break; /* some other line first: the protocol is out of step */
        struct pollfd p = {vm->trig_fd, POLLIN, 0};
        if (now_sec() > deadline || poll(&p, 1, 1000) < 0)
            return ffwd_seterr("the trigger plugin did not report its counts");
        char b[512];
        ssize_t r = read(vm->trig_fd, b, sizeof b);
        if (r <= 0)
            return ffwd_seterr("the trigger plugin went away");
        sbuf_add(&vm->trig_line, b, (size_t)r);
    }
    return ffwd_seterr("unexpected message from the trigger plugin");
}
