/*
 * vm.h -- launching and supervising one QEMU guest under the ffwd profile.
 *
 * A run lives in a run directory:
 *   qmp.sock, gdb.sock, console.sock   control sockets (unix); qmp.sock belongs to
 *                                      the supervising ffwd, qmp-ctl.sock is for other
 *                                      tools (ffwd capture)
 *   ram.path                           where guest RAM lives: a shared file
 *                                      (/dev/shm/ffwd-PID-*.ram) QEMU maps with share=on,
 *                                      so ffwd reads RAM directly while the VM is stopped
 *   disk.base                          absolute path of the base disk image
 *   console.log                        everything the guest printed
 *   qemu.log                           QEMU's own stderr
 *   disk0.qcow2                        the guest disk: a qcow2 overlay over the base
 *   virt.dtb (virt-full.dtb)           trimmed (and original) device tree
 *   qemu.cmdline, profile.json         what was run
 * QEMU is killed when ffwd exits for any reason (PR_SET_PDEATHSIG), and on
 * every error path, so it is never left running.
 */
#ifndef FFWD_VM_H
#define FFWD_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile.h"
#include "qmp.h"

#define FFWD_MIN_QEMU_MAJOR 10

struct ffwd_vm_config {
    struct ffwd_profile prof;
    const char *qemu;        /* binary; NULL: $FFWD_QEMU or qemu-system-aarch64 */
    const char *kernel;      /* arm64 Linux Image */
    const char *initrd;      /* optional */
    const char *disk;        /* base image (raw or qcow2); never written */
    const char *append;      /* extra kernel command line */
    const char *cmd;         /* command to run in the guest (ffwd init hook) */
    const char *run_dir;     /* NULL: a fresh directory under $TMPDIR/ffwd-UID */
    bool echo_console;       /* copy guest output to our stdout */
    const char *plugin;      /* optional TCG plugin(s): "file,k=v,..." per line */
    const uint64_t *insn_targets; /* stop at these retired-instruction counts (trigger plugin) */
    unsigned ninsn_targets;
    const uint64_t *insn_landmark_pc; /* optional, per target: hold at the block at this PC (0: none) */
    const uint64_t *insn_landmark_lo; /*   once this many were counted (the profile's PREFIX.landmarks), */
    const uint64_t *insn_landmark_hi; /*   by count from this many if it did not come */
    int insn_scope;          /* -1: all vCPUs together; k: vCPU k only */
    const char *insn_filter; /* what the targets count: the BBV plugin's filters ("mode=user,process=roi");
                                NULL: every retired instruction */
    const char *rr_mode;     /* QEMU record/replay: "record" or "replay" (docs/record-replay.md); NULL: off */
    const char *rr_file;     /*   the record (and RR_FILE.json: the machine it was recorded on) */
};

/* Check a record/replay configuration; for a replay, that the machine, the
 * guest's files and command are those of the record (RR_FILE.json); for a
 * record, remove an earlier RR_FILE.json. Errors name the file and what differs. */
int ffwd_vm_rr_prepare(const struct ffwd_vm_config *cfg);
/* After a record ran to its end: write RR_FILE.json (before, there is none). */
int ffwd_vm_rr_record_done(const struct ffwd_vm_config *cfg);
/* Are the instruction-count stops taken by QEMU's replay (`replay-break` at
 * its instruction count, exact: no trigger plugin)? Then QEMU starts
 * paused (-S) and the targets count every instruction of the one vCPU. */
bool ffwd_vm_replay_stops(const struct ffwd_vm_config *cfg);

/* Does the guest use its disk (a disk given, and not ffwd.root=none)? */
bool ffwd_vm_disk_in_use(const struct ffwd_vm_config *cfg);
/* NULL when a rerun of this configuration executes the same instructions
 * (--deterministic, no disk in use), else why not (for the profile and the
 * warnings of `ffwd sample`). */
const char *ffwd_vm_unreproducible(const struct ffwd_vm_config *cfg);

enum ffwd_vm_event_kind {
    VM_EV_LINE,     /* a protocol line "@ffwd: <event> <text>" */
    VM_EV_KERNEL,   /* first kernel line seen */
    VM_EV_PANIC,    /* the guest kernel panicked */
    VM_EV_EXIT,     /* QEMU exited */
    VM_EV_TIMEOUT,  /* nothing within the timeout */
    VM_EV_TRIGGER,  /* the trigger plugin says: "reached N count=C vcpu=I tb=T stop=S [lm=..]" (in text) */
};

struct ffwd_vm_event {
    enum ffwd_vm_event_kind kind;
    char name[32];        /* protocol event name, e.g. "marker" */
    char text[1024];      /* its text */
    int exit_status;      /* VM_EV_EXIT: QEMU's exit status (or 128+signal) */
};

struct ffwd_vm {
    pid_t pid;
    char *run_dir;
    bool own_run_dir;
    int console_fd;
    struct qmp *qmp;
    bool echo;
    struct sbuf line;     /* partial console line */
    bool kernel_seen;
    bool exited;
    int exit_status;
    double t_start;
    char *ram_path;       /* shared RAM backing file, removed when QEMU ends */
    int trig_fd;          /* connection from the trigger plugin, or -1 */
    struct sbuf trig_line;
    uint64_t ram_size;
};

/* Validate the inputs, prepare the run directory and start QEMU. */
int ffwd_vm_start(const struct ffwd_vm_config *cfg, struct ffwd_vm **out);
/* Next guest event, waiting up to timeout_s. */
int ffwd_vm_next_event(struct ffwd_vm *vm, double timeout_s, struct ffwd_vm_event *ev);
/* Ask QEMU to quit (QMP), then SIGTERM/SIGKILL; reap it. */
void ffwd_vm_kill(struct ffwd_vm *vm);
/* Has QEMU exited (waiting up to wait_s for it)? Its status is kept for the exit event. */
bool ffwd_vm_exited(struct ffwd_vm *vm, double wait_s);
/* Wait for QEMU to exit by itself (guest power-off) for up to timeout_s. */
int ffwd_vm_wait_exit(struct ffwd_vm *vm, double timeout_s);
void ffwd_vm_free(struct ffwd_vm *vm);

/* Helpers shared with tests and other commands. */
int ffwd_qemu_version(const char *qemu, int *major, int *minor, int *micro);
int ffwd_check_kernel(const char *path);
/* Returns "raw" or "qcow2" (static string) or NULL with an error. */
const char *ffwd_check_disk(const char *path);
/* Build QEMU's argv for cfg into a NULL-terminated array (free with ffwd_argv_free). */
char **ffwd_qemu_argv(const struct ffwd_vm_config *cfg, const char *run_dir, const char *disk_overlay,
                      const char *dtb, const char *ram_path);
void ffwd_argv_free(char **argv);
/* The -machine option value for a profile (optionally with dumpdtb=PATH). */
char *ffwd_machine_opt(const struct ffwd_profile *p, const char *dumpdtb, bool ram_backend);
/* Path of one of ffwd's QEMU plugins ("trigger", "icount"): $FFWD_PLUGIN_DIR or
 * the plugins/ folder next to the ffwd binary. */
char *ffwd_plugin_path(const char *name);
/* After a trigger: release the held vCPU and read exact counts ("counts TOTAL C0 C1..."). */
int ffwd_vm_trigger_go(struct ffwd_vm *vm);
/* Exact counts of the stopped machine: every retired instruction (all vCPUs,
 * per vCPU) and, when counted != NULL, what the trigger counts per vCPU. */
int ffwd_vm_trigger_counts(struct ffwd_vm *vm, uint64_t *total, uint64_t *per_vcpu, uint64_t *counted, unsigned max,
                           unsigned *n);
/* The last target was not reached after all (an exception cut the block
 * short): the trigger stops at it again. */
int ffwd_vm_trigger_again(struct ffwd_vm *vm);
/* The default QEMU binary name ($FFWD_QEMU or qemu-system-aarch64). */
const char *ffwd_qemu_binary(const char *override);

#endif
