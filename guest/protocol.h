/*
 * protocol.h -- the guest <-> host line protocol, shared by the guest
 * utility (ffwd-guest, aarch64) and the host (ffwd). One place, both sides.
 *
 * The guest talks to the host by writing whole lines to the console
 * (/dev/console = the PL011 UART ttyAMA0, QEMU serial0, gem5's terminal):
 *
 *     @ffwd: <event> [<text>]\n
 *
 * The host recognises a line only when "@ffwd: " starts it (after an
 * optional '\r'), so program output that merely contains the text is never
 * taken for an event. Events:
 *
 *   init                 the ffwd init (initramfs /init) started: kernel is up
 *   modules N            N kernel modules loaded
 *   root DEV             the root disk DEV is mounted
 *   cmd-start            the user command (kernel cmdline ffwd.cmd=HEX) starts
 *   marker TEXT          `ffwd-guest marker TEXT` was run
 *   cmd-exit STATUS      the user command ended with exit status STATUS
 *   error TEXT           the init failed (TEXT says why); it powers off next
 *   poweroff             the guest is about to power off
 *   checkpoint NAME PADDR NONCE
 *                        `ffwd-guest checkpoint NAME`: the guest now waits until
 *                        the 8-byte word at guest physical address PADDR equals
 *                        NONCE (the host writes it after capturing the stopped
 *                        machine) -- or until it finds itself running in gem5
 *                        (restored from that capture), or 60 s pass
 *   roi-begin / roi-end  region of interest markers (`ffwd-guest roi-begin`)
 *   exit CODE            `ffwd-guest exit CODE` under QEMU (powers off next)
 *   resetstats, dumpstats, work-begin ID, work-end ID
 *                        gem5 statistics operations run under QEMU: announced only
 *
 * Kernel command line keys read by the ffwd init (all optional):
 *   ffwd.cmd=HEX         command for /bin/sh -c, hex-encoded (no quoting issues)
 *   ffwd.root=DEV        root disk (default /dev/vda); "none": run ffwd.cmd inside the
 *                        initramfs (busybox, ffwd-guest and the workloads are there too)
 *                        without touching a disk -- deterministic runs need that
 *   ffwd.fstype=TYPE     its file system (default ext4)
 *   ffwd.rootwait=SEC    how long to wait for DEV to appear (default 10)
 */
#ifndef FFWD_GUEST_PROTOCOL_H
#define FFWD_GUEST_PROTOCOL_H

#define FFWD_PROTO_PREFIX "@ffwd: "
#define FFWD_PROTO_INIT "init"
#define FFWD_PROTO_MODULES "modules"
#define FFWD_PROTO_ROOT "root"
#define FFWD_PROTO_CMD_START "cmd-start"
#define FFWD_PROTO_MARKER "marker"
#define FFWD_PROTO_CMD_EXIT "cmd-exit"
#define FFWD_PROTO_ERROR "error"
#define FFWD_PROTO_POWEROFF "poweroff"
#define FFWD_PROTO_CHECKPOINT "checkpoint"
#define FFWD_PROTO_ROI_BEGIN "roi-begin"
#define FFWD_PROTO_ROI_END "roi-end"
#define FFWD_PROTO_EXIT "exit"

/* How long `ffwd-guest checkpoint` waits for the host before giving up. */
#define FFWD_CHECKPOINT_WAIT_S 60

#define FFWD_CMDLINE_CMD "ffwd.cmd="
#define FFWD_CMDLINE_ROOT "ffwd.root="
#define FFWD_CMDLINE_FSTYPE "ffwd.fstype="
#define FFWD_CMDLINE_ROOTWAIT "ffwd.rootwait="

/* Where the init finds the modules to load, in order (one file name per line,
 * relative to /lib/modules/ffwd/). */
#define FFWD_MODULE_DIR "/lib/modules/ffwd"
#define FFWD_MODULE_ORDER "/lib/modules/ffwd/order"

/* Inside a root file system without ffwd-guest, the init provides it here. */
#define FFWD_GUEST_RUNDIR "/run/ffwd"

#endif
