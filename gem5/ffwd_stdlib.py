# ffwd_stdlib.py -- restore an ffwd checkpoint in a gem5 standard-library system.
#
#   gem5.opt gem5/ffwd_stdlib.py --checkpoint CKPT [--cpu atomic|timing|o3|minor]
#            [--memory ddr4|ddr3|lpddr3|hbm|simple] [--l1i 32KiB] [--l1d 32KiB] [--l2 1MiB]
#            [--switch-after N] [--max-insts N] [--max-seconds S] [--script FILE] [--disk IMG]
#            [--warmup-insts W --measure-insts N] [--processor switchable|simple]
#
# A starting point for a study's own configuration, built only from gem5's
# standard library and gem5/ffwd_board.py: a SimpleSwitchableProcessor (atomic
# at the restore, switched to --cpu), gem5's PrivateL1PrivateL2CacheHierarchy
# (which fixes the associativities at 8/8/4; the same geometry in ffwd's cache
# model, so `ffwd estimate` calibrates against this system, is
# `--l1i 32K:8:64 --l1d 32K:8:64 --l2 1M:4:64` of `ffwd trace record` and
# `profile --model`), and a dual-channel DDR4-2400 memory. Convert the capture for it with
# `ffwd convert CAPTURE --out CKPT --layout stdlib-switchable`.
# `--processor simple` builds a SimpleProcessor of --cpu instead (no switch;
# layout `stdlib`): for atomic/timing studies and for the reference config.ini
# of that layout (a zero-tick restore: --max-seconds 0.000001).
#
# The options are those of gem5/ffwd_restore.py, so `ffwd verify --config` and
# `ffwd sample-run --config` drive it the same way; copy it and change the
# components to study another system.
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import m5

from gem5.components.cachehierarchies.classic.private_l1_private_l2_cache_hierarchy import (
    PrivateL1PrivateL2CacheHierarchy,
)
from gem5.components.memory import (
    DualChannelDDR3_1600,
    DualChannelDDR4_2400,
    DualChannelLPDDR3_1600,
    HBM2Stack,
)
from gem5.components.memory.simple import SingleChannelSimpleMemory
from gem5.components.processors.cpu_types import CPUTypes
from gem5.components.processors.simple_processor import SimpleProcessor
from gem5.components.processors.simple_switchable_processor import SimpleSwitchableProcessor
from gem5.isas import ISA
from gem5.simulate.exit_event import ExitEvent
from gem5.simulate.simulator import Simulator

from ffwd_board import FfwdBoard, load_info, run_simpoint


ap = argparse.ArgumentParser(description="restore an ffwd checkpoint in a gem5 standard-library system")
ap.add_argument("--checkpoint", required=True)
ap.add_argument("--cpu", choices=["atomic", "timing", "o3", "minor"], default="atomic")
ap.add_argument("--memory", choices=["ddr4", "ddr3", "lpddr3", "hbm", "simple"], default="ddr4")
ap.add_argument("--l1i", default="32KiB", help="L1 instruction cache size (8-way)")
ap.add_argument("--l1d", default="32KiB", help="L1 data cache size (8-way)")
ap.add_argument("--l2", default="1MiB", help="private L2 size (4-way)")
ap.add_argument("--processor", choices=["switchable", "simple"], default="switchable",
                help="SimpleSwitchableProcessor (atomic, then --cpu; layout stdlib-switchable) or "
                     "SimpleProcessor of --cpu (layout stdlib)")
ap.add_argument("--switch-after", type=int, default=0)
ap.add_argument("--max-insts", type=int, default=0)
ap.add_argument("--max-seconds", type=float, default=0.0)
ap.add_argument("--script", default="")
ap.add_argument("--disk", default="")
ap.add_argument("--warmup-insts", type=int, default=0)
ap.add_argument("--measure-insts", type=int, default=0)
ap.add_argument("--allow-other-gem5", action="store_true",
                help="restore although the checkpoint names another gem5 release (expect failures)")
a = ap.parse_args()

ckpt = os.path.abspath(a.checkpoint)
info = load_info(ckpt)
ncpu = int(info["platform"]["cpus"])
size = "%dB" % int(info["platform"]["mem_bytes"])
memory = {
    "ddr4": lambda: DualChannelDDR4_2400(size=size),
    "ddr3": lambda: DualChannelDDR3_1600(size=size),
    "lpddr3": lambda: DualChannelLPDDR3_1600(size=size),
    "hbm": lambda: HBM2Stack(size=size),
    "simple": lambda: SingleChannelSimpleMemory(latency="30ns", latency_var="0ns",
                                                bandwidth="12.8GiB/s", size=size),
}[a.memory]()
cpu_type = {"atomic": CPUTypes.ATOMIC, "timing": CPUTypes.TIMING, "o3": CPUTypes.O3, "minor": CPUTypes.MINOR}[a.cpu]
if a.processor == "simple":
    processor = SimpleProcessor(cpu_type=cpu_type, isa=ISA.ARM, num_cores=ncpu)
else:  # a switchable processor needs another type to switch to: atomic runs switch to timing
    final = CPUTypes.TIMING if a.cpu == "atomic" else cpu_type
    processor = SimpleSwitchableProcessor(starting_core_type=CPUTypes.ATOMIC, switch_core_type=final,
                                          isa=ISA.ARM, num_cores=ncpu)
switching = a.processor == "switchable" and a.cpu != "atomic"
board = FfwdBoard(checkpoint=ckpt, processor=processor, memory=memory,
                  cache_hierarchy=PrivateL1PrivateL2CacheHierarchy(l1i_size=a.l1i, l1d_size=a.l1d, l2_size=a.l2),
                  disk=a.disk or None, readfile=a.script or None, allow_other_gem5=a.allow_other_gem5)
sim = Simulator(board=board)

if a.measure_insts:
    if a.switch_after or a.max_insts:
        sys.exit("ffwd_stdlib: --measure-insts does not combine with --switch-after/--max-insts")
    run_simpoint(sim, board, a.warmup_insts, a.measure_insts, switch=switching)
    sys.exit(0)

start = None
limit = int(a.max_seconds * 1e12) if a.max_seconds else 0


def run_until_limit():
    left = limit - (m5.curTick() - start) if limit else m5.MaxTick - m5.curTick() - 1
    sim.set_max_ticks(max(left, 1))
    sim.run()


sim.run(max_ticks=1)  # instantiate and restore; the CPUs' startup() runs before any switch
start = m5.curTick()
print("ffwd_stdlib: restored %s at tick %d (%d CPU%s, GICv%s, %s memory, %s)"
      % (ckpt, start, ncpu, "s" if ncpu > 1 else "", info["platform"]["gic_version"], a.memory, a.cpu))
cores = [c.get_simobject() for c in processor.get_cores()]
if switching:
    if a.switch_after:
        for c in cores:
            c.scheduleInstStopAnyThread(a.switch_after)
        run_until_limit()
        if ExitEvent.translate_exit_status(sim.get_last_exit_event_cause()) != ExitEvent.MAX_INSTS:
            print("ffwd_stdlib: exit at tick %d before the switch: %s" % (m5.curTick(), sim.get_last_exit_event_cause()))
            sys.exit(sim.get_last_exit_event_code())
    processor.switch()
    print("ffwd_stdlib: switched to %s at tick %d" % (a.cpu, m5.curTick()))
    cores = [c.get_simobject() for c in processor.get_cores()]
if a.max_insts:
    for c in cores:
        c.scheduleInstStopAnyThread(a.max_insts)
run_until_limit()
cause = sim.get_last_exit_event_cause()
print("ffwd_stdlib: exit at tick %d (%.6f s simulated after the restore): %s (code %d)"
      % (m5.curTick(), (m5.curTick() - start) / 1e12, cause, sim.get_last_exit_event_code()))
sys.exit(sim.get_last_exit_event_code() if cause == "m5_exit instruction encountered" else 0)
