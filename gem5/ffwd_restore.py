# ffwd_restore.py -- restore an ffwd checkpoint in STOCK gem5 v24.0 (ARM build).
#
#   gem5.opt gem5/ffwd_restore.py --checkpoint CKPT [--cpu atomic|timing|o3]
#            [--switch-after N] [--max-insts N] [--max-seconds S] [--script FILE]
#            [--disk IMAGE] [--warmup-insts W --measure-insts N] [--simpoint-profile N]
#
# Builds the platform ffwd's QEMU profile describes (QEMU -M virt: RAM at
# 0x40000000, GICv3 or GICv2, PL011, PL031, generic timer, one legacy
# virtio-mmio block device: QemuVirt of gem5/ffwd_board.py, shared with the
# stdlib board) on plain m5.objects -- no gem5 source change, no DTB, no boot
# loader: the guest keeps the device tree QEMU gave it. The
# platform parameters come from CKPT/ffwd-checkpoint.json (written by
# `ffwd convert`). The disk is a copy-on-write layer over the untouched base
# image; the guest's writes since boot come from the checkpoint's COW file.
#
# The restore runs on AtomicSimpleCPU; with --cpu timing|o3 the CPUs switch
# to TimingSimpleCPU or O3 (with L1/L2 caches) after --switch-after
# instructions (0 = at once). The run ends at the guest's m5 exit
# (`ffwd-guest exit`), after --max-insts instructions on the final CPU, or
# after --max-seconds of simulated time; the script says where and why.
#
# Simulation-point mode (--measure-insts N, used by `ffwd sample-run`): the
# CPUs switch at once, CPU 0 runs W warm-up instructions (caches, TLBs,
# predictors), the statistics are reset, CPU 0 runs N instructions, the
# statistics are dumped and the run ends -- as gem5's own SimPoint restore.
# A window also ends where the region ends (`ffwd-guest roi`'s m5 work-end).
import argparse
import json
import os
import sys

import m5
from m5.objects import *

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffwd_board import FfwdError, QemuVirt, arm_release, check_sections

ap = argparse.ArgumentParser(description="restore an ffwd checkpoint in stock gem5")
ap.add_argument("--checkpoint", required=True, help="checkpoint directory written by ffwd convert")
ap.add_argument("--cpu", choices=["atomic", "timing", "o3"], default="atomic")
ap.add_argument("--switch-after", type=int, default=0, help="instructions on AtomicSimpleCPU before switching")
ap.add_argument("--max-insts", type=int, default=0, help="stop after this many instructions on the final CPU")
ap.add_argument("--max-seconds", type=float, default=0.0, help="stop after this much simulated time")
ap.add_argument("--script", default="", help="file the guest reads with `ffwd-guest readfile`")
ap.add_argument("--disk", default="", help="base disk image (default: the one recorded in the checkpoint)")
ap.add_argument("--warmup-insts", type=int, default=0,
                help="simulation-point mode: instructions to warm up on the final CPU before the stats reset")
ap.add_argument("--simpoint-profile", type=int, default=0,
                help="gem5's own BBV profiling (SimPoint probe, m5out/simpoint.bb.gz) with this interval; "
                     "atomic, 1 CPU (what ffwd profile replaces)")
ap.add_argument("--measure-insts", type=int, default=0,
                help="simulation-point mode: instructions measured after the warm-up (stats reset, run, dump)")
a = ap.parse_args()

ckpt = os.path.abspath(a.checkpoint)
with open(os.path.join(ckpt, "ffwd-checkpoint.json")) as f:
    info = json.load(f)
if info.get("format") != "ffwd-gem5-checkpoint" or info.get("version") != 1:
    sys.exit("ffwd_restore: %s is not an ffwd gem5 checkpoint (version 1)" % ckpt)
plat = info["platform"]
F = int(plat["cntfrq"])
ncpu = int(plat["cpus"])

if 1000000000000 % F:
    print("ffwd_restore: warning: CNTFRQ %d Hz is not a whole number of gem5 ticks" % F)


system = ArmSystem()
system.release = arm_release(info)  # the release the checkpoint records (see ffwd_board.py)
system.have_large_asid_64 = True
system.phys_addr_range_64 = 40
system.workload = ArmFsWorkload(object_file="")
system.clk_domain = SrcClockDomain(clock="1GHz", voltage_domain=VoltageDomain())
system.mem_mode = "atomic"
system.mem_ranges = [AddrRange(int(plat["ram_base"]), size=int(plat["mem_bytes"]))]
system.membus = SystemXBar()
system.membus.badaddr_responder = BadAddr()
system.membus.default = system.membus.badaddr_responder.pio
system.system_port = system.membus.cpu_side_ports
if a.script:
    system.readfile = os.path.abspath(a.script)

try:
    rv = QemuVirt(info, a.disk or None)
except FfwdError as e:
    sys.exit("ffwd_restore: %s (use --disk)" % e)
system.realview = rv
for d in [rv.gic] + rv._off_chip:
    d.pio = system.membus.mem_side_ports

system.mem = SimpleMemory(range=system.mem_ranges[0])
system.mem.port = system.membus.mem_side_ports

system.cpu = [ArmAtomicSimpleCPU(cpu_id=i) for i in range(ncpu)]
if a.cpu != "atomic":
    # Caches sit between the CPUs' ports and memory from the start: the
    # detailed CPUs take over the atomic CPUs' ports when they switch in.
    system.l2bus = L2XBar()
    system.l2 = Cache(size="1MiB", assoc=16, tag_latency=12, data_latency=12,
                      response_latency=12, mshrs=32, tgts_per_mshr=12)
    system.l2.cpu_side = system.l2bus.mem_side_ports
    system.l2.mem_side = system.membus.cpu_side_ports
for c in system.cpu:
    c.createThreads()
    c.createInterruptController()
    if a.cpu == "atomic":
        c.icache_port = system.membus.cpu_side_ports
        c.dcache_port = system.membus.cpu_side_ports
        c.mmu.connectWalkerPorts(system.membus.cpu_side_ports, system.membus.cpu_side_ports)
    else:
        c.icache = Cache(size="48KiB", assoc=3, tag_latency=1, data_latency=1,
                         response_latency=1, mshrs=4, tgts_per_mshr=20)
        c.dcache = Cache(size="32KiB", assoc=2, tag_latency=2, data_latency=2,
                         response_latency=2, mshrs=16, tgts_per_mshr=16)
        c.icache_port = c.icache.cpu_side
        c.dcache_port = c.dcache.cpu_side
        c.icache.mem_side = system.l2bus.cpu_side_ports
        c.dcache.mem_side = system.l2bus.cpu_side_ports
        c.mmu.connectWalkerPorts(system.l2bus.cpu_side_ports, system.l2bus.cpu_side_ports)

switch = None
if a.cpu != "atomic":
    cls = ArmTimingSimpleCPU if a.cpu == "timing" else ArmO3CPU
    switch = [cls(switched_out=True, cpu_id=i) for i in range(ncpu)]
    for i, s in enumerate(switch):
        old = system.cpu[i]
        s.clk_domain = old.clk_domain
        s.isa = old.isa  # one ISA object: its misc registers stay at system.cpu*.isa
        s.createThreads()
        if a.max_insts:
            s.max_insts_any_thread = a.max_insts
    system.switch_cpus = switch
    if a.switch_after:
        for c in system.cpu:
            c.max_insts_any_thread = a.switch_after
elif a.max_insts:
    for c in system.cpu:
        c.max_insts_any_thread = a.max_insts

if a.simpoint_profile:
    if a.cpu != "atomic" or ncpu != 1:
        sys.exit("ffwd_restore: --simpoint-profile needs --cpu atomic and a 1-CPU checkpoint (as gem5's fs.py)")
    system.cpu[0].addSimPointProbe(a.simpoint_profile)

if a.measure_insts:
    system.exit_on_work_items = True  # the region's end (m5 work-end) ends a window
root = Root(full_system=True, system=system)
m5.instantiate(ckpt)
# gem5 skips a section it has no object for without a word: every section
# must belong to this configuration (a checkpoint converted for another
# --layout stops here, named)
check_sections(ckpt, root)
start_tick = m5.curTick()
print("ffwd_restore: restored %s at tick %d (%d CPU%s, GICv%s, %s)"
      % (ckpt, start_tick, ncpu, "s" if ncpu > 1 else "", plat["gic_version"], a.cpu))

limit = int(a.max_seconds * 1e12) if a.max_seconds else m5.MaxTick - start_tick - 1


def run(ticks):
    return m5.simulate(ticks)


if a.measure_insts:
    if a.switch_after or a.max_insts:
        sys.exit("ffwd_restore: --measure-insts does not combine with --switch-after/--max-insts")
    if switch is not None:
        run(1)  # the CPUs' startup() must run before a switch (O3 asserts otherwise)
        m5.switchCpus(system, list(zip(system.cpu, switch)))
    final = switch if switch is not None else system.cpu
    phases = [("warm-up", a.warmup_insts), ("measurement", a.measure_insts)]
    ended = False
    for name, n in phases:
        if n <= 0:
            continue
        if name == "measurement":
            m5.stats.reset()
        final[0].scheduleInstStop(0, n, "ffwd " + name + " done")
        while True:  # a work-begin (exit_on_work_items) is not a stop
            ev = run(limit - (m5.curTick() - start_tick) if a.max_seconds else limit)
            if ev.getCause() != "workbegin":
                break
        if ev.getCause() == "workend" and name == "measurement":
            ended = True  # `ffwd-guest roi` ended the region: the window ends with it
        elif ev.getCause() != "ffwd " + name + " done":
            print("ffwd_restore: exit at tick %d during the %s: %s (code %d)"
                  % (m5.curTick(), name, ev.getCause(), ev.getCode()))
            sys.exit(3)
    m5.stats.dump()
    print("ffwd_restore: measured %s: warm-up %d, measured %d instructions, tick %d%s"
          % (final[0].path(), a.warmup_insts, a.measure_insts, m5.curTick(),
             " (the region ended first)" if ended else ""))
    sys.exit(0)

if switch is not None:
    if a.switch_after:
        ev = run(limit)
        if ev.getCause() != "a thread reached the max instruction count":
            print("ffwd_restore: exit at tick %d before the switch: %s (code %d)"
                  % (m5.curTick(), ev.getCause(), ev.getCode()))
            sys.exit(ev.getCode())
        for c in system.cpu:
            c.max_insts_any_thread = 0
    else:
        run(1)  # the CPUs' startup() must run before a switch (O3 asserts otherwise)
    m5.switchCpus(system, list(zip(system.cpu, switch)))
    print("ffwd_restore: switched to %s at tick %d" % (a.cpu, m5.curTick()))
    left = limit - (m5.curTick() - start_tick) if a.max_seconds else limit
    ev = run(max(left, 1))
else:
    ev = run(limit)

cpus = switch if switch is not None else system.cpu
print("ffwd_restore: exit at tick %d (%.6f s simulated after the restore): %s (code %d)"
      % (m5.curTick(), (m5.curTick() - start_tick) / 1e12, ev.getCause(), ev.getCode()))
sys.exit(ev.getCode() if ev.getCause() == "m5_exit instruction encountered" else 0)
