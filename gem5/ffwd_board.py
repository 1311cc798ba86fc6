# ffwd_board.py -- restore ffwd checkpoints in a gem5 standard-library configuration.
#
# Put gem5/ (this folder) on gem5's Python path (the config script's own folder
# is on it) and build the system the study needs from gem5's own components:
#
#   from ffwd_board import FfwdBoard
#   board = FfwdBoard(checkpoint=CKPT, processor=SimpleSwitchableProcessor(
#                         starting_core_type=CPUTypes.ATOMIC, switch_core_type=CPUTypes.O3,
#                         isa=ISA.ARM, num_cores=N),
#                     memory=DualChannelDDR4_2400(size=...), cache_hierarchy=
#                     PrivateL1PrivateL2CacheHierarchy(l1d_size=..., l1i_size=..., l2_size=...))
#   Simulator(board=board).run()
#
# The board is ffwd's platform (QEMU -M virt as ffwd's profile configures it:
# RAM at 0x40000000, GICv3 or GICv2, PL011, PL031, generic timer, one legacy
# virtio-mmio block device); everything about it -- RAM base and size, CPUs,
# GIC, counter frequency, disk, the Arm release -- comes from the checkpoint's
# ffwd-checkpoint.json, so it cannot disagree with the state. The guest keeps
# the device tree QEMU gave it: no DTB, no boot loader, no kernel is loaded.
#
# The checkpoint's section names must be the ones this configuration has
# (`ffwd convert --layout stdlib-switchable` for a SimpleSwitchableProcessor,
# `--layout stdlib` for a SimpleProcessor, `--layout config.ini` for anything
# else). gem5 itself skips a section it has no object for without a word; the
# board checks every section against the instantiated objects before the
# first tick and stops, naming the section, when one belongs to nothing.
#
# gem5/ffwd_stdlib.py is a complete configuration built on this module, with
# the SimPoint driver (run_simpoint) that `ffwd sample-run --config` uses.
import json
import os
import re
import sys
from pathlib import Path

import m5
from m5.objects import (
    AddrRange,
    ArmFsWorkload,
    ArmPPI,
    ArmRelease,
    ArmSPI,
    ArmSystem,
    BadAddr,
    Bridge,
    CowDiskImage,
    GenericTimer,
    Gicv3,
    GicV2,
    IOXBar,
    MmioVirtIO,
    NULL,
    PL031,
    Pl011,
    RawDiskImage,
    RealView,
    SystemCounter,
    Terminal,
    VirtIOBlock,
)

from m5.defines import buildEnv

import gem5.utils.requires
from gem5.components.boards.abstract_board import AbstractBoard
from gem5.utils.override import overrides

# gem5 v24.0's stdlib cannot build a single core in a gem5 without Ruby:
# every component's requires() asks for the build's coherence protocol, and
# gem5.runtime raises "Protocol '' not recognized" when there is none
# (PROTOCOL=''), whether or not a protocol was required. The classic cache
# hierarchies need no protocol, so in such a build the question gets "none";
# a component that does require one still fails, with gem5's own message.
if not str(buildEnv.get("PROTOCOL", "") or ""):
    gem5.utils.requires.get_runtime_coherence_protocol = lambda: None


class FfwdError(Exception):
    """A checkpoint this configuration cannot restore faithfully."""


def fail(msg):
    """Stop the run with ffwd's message (exit status 2, before any tick)."""
    print("ffwd_board: error: " + msg, file=sys.stderr)
    sys.exit(2)


def load_info(ckpt):
    """ffwd-checkpoint.json of checkpoint directory ckpt, checked."""
    path = os.path.join(ckpt, "ffwd-checkpoint.json")
    try:
        with open(path) as f:
            info = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s (is %s an ffwd checkpoint?)" % (path, e, ckpt))
    if info.get("format") != "ffwd-gem5-checkpoint" or info.get("version") != 1:
        fail("%s: not an ffwd gem5 checkpoint (version 1)" % path)
    return info


def check_gem5_version(info, allow_other=False):
    """gem5 checkpoints do not move between gem5 releases (v24 -> v25 fails
    even after cpt_upgrader.py, gem5 issue #2430): say so before anything."""
    want = str(info.get("gem5_version", "24.0.0.1"))
    from _m5 import core as _core

    have = _core.gem5Version
    if want.split(".")[:2] != have.split(".")[:2] and want != "unknown":
        msg = ("the checkpoint was written for gem5 %s, this is gem5 %s: restore it in gem5 %s, or convert the "
               "capture again with `ffwd convert --gem5-src` pointing at this gem5's source" % (want, have, want))
        if not allow_other:
            fail(msg)
        print("ffwd_board: warning: " + msg, file=sys.stderr)


class QemuVirt(RealView):
    """QEMU -M virt as ffwd's profile configures it (reuses C++ RealView); the
    platform of both FfwdBoard and gem5/ffwd_restore.py. Devices on the memory
    side of the CPUs: gic (on-chip) and _off_chip (uart, rtc, vio), whose
    address ranges are _off_ranges."""

    def __init__(self, info, disk=None):
        super().__init__()
        plat = info["platform"]
        F = int(plat["cntfrq"])
        self.uart = Pl011(pio_addr=0x09000000, interrupt=ArmSPI(num=33))
        self.rtc = PL031(pio_addr=0x09010000, interrupt=ArmSPI(num=34))
        self.sys_counter = SystemCounter(freqs=[F])
        self.generic_timer = GenericTimer(
            cntfrq=F,
            int_el3_phys=ArmPPI(num=29), int_el1_phys=ArmPPI(num=30),
            int_el1_virt=ArmPPI(num=27), int_el2_ns_phys=ArmPPI(num=26),
            int_el2_ns_virt=ArmPPI(num=28), int_el2_s_phys=ArmPPI(num=20),
            int_el2_s_virt=ArmPPI(num=19))
        if int(plat["gic_version"]) == 3:
            self.gic = Gicv3(dist_addr=0x08000000, redist_addr=0x080A0000, gicv4=False,
                             it_lines=288, maint_int=ArmPPI(num=25), its=NULL)
        else:
            self.gic = GicV2(dist_addr=0x08000000, cpu_addr=0x08010000, it_lines=288)
        self.terminal = Terminal()
        self.uart.device = self.terminal
        self._off_chip = [self.uart, self.rtc]
        self._off_ranges = [AddrRange(0x09000000, size=0x1000), AddrRange(0x09010000, size=0x1000)]
        vio = plat.get("virtio")
        if vio:
            base = disk or (info.get("disk") or {}).get("base_image")
            if not base or not os.path.exists(base):
                raise FfwdError("base disk image %s not found" % base)
            self.vio = MmioVirtIO(pio_addr=int(vio["base"], 16), pio_size=0x200,
                                  interrupt=ArmSPI(num=int(vio["intid"])))
            self.vio.vio = VirtIOBlock(queueSize=int(vio["queue_size"]), image=CowDiskImage(
                child=RawDiskImage(read_only=True, image_file=os.path.abspath(base)), image_file=""))
            self._off_chip.append(self.vio)
            self._off_ranges.append(AddrRange(int(vio["base"], 16), size=0x200))


def arm_release(info):
    # QEMU's cortex-a57 without EL2/EL3, as the checkpoint records it (gem5
    # issue #932: the release must match between checkpoint and restore).
    # FEAT_PAuth is there although the guest's CPU lacks it: a kernel built
    # with pointer authentication runs PACIASP/AUTIASP hints, and without
    # FEAT_PAuth gem5 v24 executes them without writing X30 -- harmless on
    # the simple CPUs, but O3 then reads an unwritten renamed register. With
    # FEAT_PAuth and SCTLR_EL1.EnIA = 0 (as the guest set it up under QEMU)
    # the hints leave X30 unchanged, as on the real CPU.
    ext = info.get("arm_release") or ["LPAE", "FEAT_AES", "FEAT_PMULL", "FEAT_SHA1",
                                      "FEAT_SHA256", "FEAT_CRC32", "FEAT_PAuth"]
    return ArmRelease(extensions=list(ext))


# Sub-sections gem5's objects write below their own path (layout.h in ffwd).
_SUB = re.compile(r"\.(xc\.\d+|miscRegs|physmem(\.store\d+)?|distributor|redistributors\.\d+|"
                  r"cpuInterface\.\d+|bankedRegs\d+|_queues\.\d+|pe_implementation\d+(\.\w+)?|globals)$")


def checkpoint_sections(ckpt):
    with open(os.path.join(ckpt, "m5.cpt")) as f:
        return [l.strip()[1:-1] for l in f if l.lstrip().startswith("[") and l.strip().endswith("]")]


def check_sections(ckpt, root):
    """Every section of ckpt/m5.cpt belongs to an object under root, and the
    CPUs it holds state for are the switched-in ones; else stop, naming it."""
    objs = {o.path(): o for o in root.descendants()}
    objs["root"] = root
    for name in checkpoint_sections(ckpt):
        if name in objs:
            continue
        m = _SUB.search(name)
        owner = objs.get(name[:m.start()]) if m else None
        if owner is None:
            fail("checkpoint section [%s] belongs to no object of this configuration: gem5 would skip it "
                 "without a word and run from reset state. Convert the capture with the --layout of this "
                 "configuration (`ffwd convert --layout stdlib|stdlib-switchable|CONFIG.INI`)" % name)
        if m.group(1).startswith("xc.") and getattr(owner, "switched_out", False):
            fail("checkpoint section [%s] holds the state of a CPU, but %s is switched out at the start"
                 % (name, owner.path()))


class FfwdBoard(ArmSystem, AbstractBoard):
    """ffwd's platform as a gem5 standard-library board, restoring one checkpoint."""

    def __init__(self, checkpoint, processor, memory, cache_hierarchy, clk_freq="1GHz",
                 disk=None, readfile=None, allow_other_gem5=False):
        self._ckpt = os.path.abspath(checkpoint)
        self._info = load_info(self._ckpt)
        check_gem5_version(self._info, allow_other_gem5)
        self._disk = disk
        self._readfile = readfile
        plat = self._info["platform"]
        if processor.get_num_cores() != int(plat["cpus"]):
            fail("the processor has %d core(s), the checkpoint %s has %s CPU(s)"
                 % (processor.get_num_cores(), self._ckpt, plat["cpus"]))
        if cache_hierarchy is not None and cache_hierarchy.is_ruby():
            fail("Ruby cache hierarchies need DMA-capable devices on the board; ffwd's board is "
                 "checked with the classic hierarchies only")
        super().__init__()
        AbstractBoard.__init__(self, clk_freq=clk_freq, processor=processor, memory=memory,
                               cache_hierarchy=cache_hierarchy)
        self._set_fullsystem(True)
        self._checkpoint = Path(self._ckpt)  # what Simulator restores
        self.release = arm_release(self._info)
        self.multi_proc = processor.get_num_cores() > 1

    @overrides(AbstractBoard)
    def _setup_memory_ranges(self):
        plat = self._info["platform"]
        size = int(plat["mem_bytes"])
        if self.get_memory().get_size() != size:
            fail("the memory is %d bytes, the checkpoint's RAM %d: give the memory size=%d"
                 % (self.get_memory().get_size(), size, size))
        self.mem_ranges = [AddrRange(int(plat["ram_base"]), size=size)]
        self.get_memory().set_memory_range(self.mem_ranges)

    @overrides(AbstractBoard)
    def _setup_board(self):
        self.workload = ArmFsWorkload(object_file="")
        self.have_large_asid_64 = True
        self.phys_addr_range_64 = 40
        try:
            self.realview = QemuVirt(self._info, self._disk)
        except FfwdError as e:
            fail("%s (pass disk= to FfwdBoard)" % e)
        self.iobus = IOXBar()
        self.iobus.badaddr_responder = BadAddr()
        self.iobus.default = self.iobus.badaddr_responder.pio
        if self._readfile:
            self.readfile = os.path.abspath(self._readfile)

    @overrides(AbstractBoard)
    def has_io_bus(self):
        return True

    @overrides(AbstractBoard)
    def get_io_bus(self):
        return self.iobus

    # virtio-mmio reaches guest memory through the system's port proxy, not a
    # DMA port: no I/O cache and no DMA ports are needed
    @overrides(AbstractBoard)
    def has_coherent_io(self):
        return False

    @overrides(AbstractBoard)
    def get_mem_side_coherent_io_port(self):
        raise NotImplementedError("FfwdBoard has no coherent I/O")

    @overrides(AbstractBoard)
    def has_dma_ports(self):
        return False

    @overrides(AbstractBoard)
    def get_dma_ports(self):
        return []

    @overrides(AbstractBoard)
    def connect_system_port(self, port):
        self.system_port = port

    @overrides(AbstractBoard)
    def get_mem_ports(self):
        return self.get_memory().get_mem_ports()

    @overrides(AbstractBoard)
    def _pre_instantiate(self):
        super()._pre_instantiate()  # memory, caches, processor
        # the GIC on the memory bus (as gem5's ArmBoard keeps on-chip devices),
        # the rest behind a bridge on the I/O bus
        membus_port = self.get_cache_hierarchy().get_mem_side_port()
        rv = self.realview
        rv.gic.pio = membus_port
        self.iobridge = Bridge(delay="50ns", ranges=rv._off_ranges)
        self.iobridge.cpu_side_port = membus_port
        self.iobridge.mem_side_port = self.iobus.cpu_side_ports
        for d in rv._off_chip:
            d.pio = self.iobus.mem_side_ports

    @overrides(AbstractBoard)
    def _post_instantiate(self):
        super()._post_instantiate()
        check_sections(self._ckpt, m5.objects.Root.getInstance())

    def terminal_file(self):
        """Where gem5 writes the guest's console (in m5out)."""
        return os.path.join(m5.options.outdir, self.realview.terminal.path())

    def createCCObject(self):
        super()._connect_things_check()
        super().createCCObject()


def run_simpoint(simulator, board, warmup_insts, measure_insts, switch=True):
    """gem5's SimPoint restore on the user's board: switch after the first tick
    (O3 asserts before startup()), warm up, reset the statistics, measure the
    profiled window on CPU 0, dump the statistics. Returns the final tick.

    The window also ends where the region does: `ffwd-guest roi` ends it with
    an m5 work-end, which stops the simulation here (exit_on_work_items) --
    a window never measures past the region. The phases run on m5.simulate()
    itself so the Simulator's default work-item handlers (reset or dump the
    statistics and go on) never touch the measurement."""
    from gem5.simulate.exit_event import ExitEvent

    if not getattr(simulator, "_instantiated", False):
        board.exit_on_work_items = True
    simulator.run(max_ticks=1)
    proc = board.get_processor()
    if switch and hasattr(proc, "switch"):
        proc.switch()
    core = proc.get_cores()[0].get_simobject()
    ended = False
    for name, n in (("warm-up", warmup_insts), ("measurement", measure_insts)):
        if n <= 0:
            continue
        if name == "measurement":
            m5.stats.reset()
        core.scheduleInstStopAnyThread(n)
        while True:
            cause = m5.simulate(m5.MaxTick - m5.curTick()).getCause()
            kind = ExitEvent.translate_exit_status(cause)
            if kind != ExitEvent.WORKBEGIN:
                break
        if kind == ExitEvent.WORKEND and name == "measurement":
            ended = True
        elif kind != ExitEvent.MAX_INSTS:
            print("ffwd_board: exit at tick %d during the %s: %s" % (m5.curTick(), name, cause))
            sys.exit(3)
    m5.stats.dump()
    print("ffwd_board: measured %s: warm-up %d, measured %d instructions, tick %d%s"
          % (core.path(), warmup_insts, measure_insts, m5.curTick(),
             " (the region ended first)" if ended else ""))
    return m5.curTick()
