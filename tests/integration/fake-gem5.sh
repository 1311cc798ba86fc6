#!/bin/sh
# fake-gem5.sh -- stands in for gem5 in the runner tests (local and Slurm):
# takes what `ffwd sample-run` passes to gem5 and writes what gem5 would --
# m5out/stats.txt and the configuration's "measured" line -- with numbers
# that follow from the arguments (cycles = 2 x measure + warm-up mod 1000),
# so two runs of the same points give the same results. A checkpoint folder
# holding FAIL makes it fail as gem5 does; one holding SLOW makes it run
# for 10 minutes.
outdir='' ck='' warm=0 meas=0
for a in "$@"; do
    case $a in --outdir=*) outdir=${a#--outdir=} ;; esac
done
while [ $# -gt 0 ]; do
    case $1 in
    --checkpoint) ck=$2; shift ;;
    --warmup-insts) warm=$2; shift ;;
    --measure-insts) meas=$2; shift ;;
    esac
    shift
done
if [ -f "$ck/FAIL" ]; then echo "fatal: fake gem5 fails as asked ($ck/FAIL)"; exit 1; fi
if [ -f "$ck/SLOW" ]; then sleep 600; fi
mkdir -p "$outdir" || exit 1
cyc=$((meas * 2 + warm % 1000))
printf '\n---------- Begin Simulation Statistics ----------\nsystem.switch_cpus.numCycles %s # cycles\nsystem.switch_cpus.commitStats0.numInsts %s # insts\n\n---------- End Simulation Statistics   ----------\n' \
    "$cyc" "$meas" > "$outdir/stats.txt"
echo "ffwd_restore: measured system.switch_cpus: $meas instructions"
