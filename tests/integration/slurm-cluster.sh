#!/bin/sh
# slurm-cluster.sh -- a private one-node Slurm cluster for the tests, from
# Debian's slurmctld, slurmd and munge, everything under DIR (key, sockets,
# state, logs, slurm.conf) and nothing of the machine's own configuration
# touched.
#
#   slurm-cluster.sh up DIR     start munged, slurmctld, slurmd; print the
#                               environment the clients need (SLURM_CONF=...)
#   slurm-cluster.sh down DIR   stop them
#
# Exit 77 (skip) when the daemons are not installed or do not come up here.
set -u
cmd=$1 dir=$2
case "$cmd" in
down)
    for p in slurmd slurmctld munged; do
        [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null
    done
    sleep 1
    for p in slurmd slurmctld munged; do
        [ -f "$dir/$p.pid" ] && kill -9 "$(cat "$dir/$p.pid")" 2>/dev/null
    done
    exit 0 ;;
up) ;;
*) echo "usage: $0 up|down DIR" >&2; exit 2 ;;
esac
for b in munged slurmctld slurmd sbatch squeue; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { echo "slurm-cluster: $b is not installed" >&2; exit 77; }
done
PATH=$PATH:/usr/sbin
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
# a fresh key of our own (munge wants it 0600, owned by its user: here root)
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" --force 2>>"$dir/munged.log" ||
    { echo "slurm-cluster: munged did not start (see $dir/munged.log)" >&2; exit 77; }
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024) - 1024}' /proc/meminfo)
# ports from the pid: two runs at once do not collide
base=$(( 20000 + ($$ % 20000) ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=ffwdtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SchedulerType=sched/backfill
# schedule as soon as a task ends (defaults: at most every 2 s, batch jobs
# held up to 3 s), so that short tasks are not paced by the scheduler
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0,default_queue_depth=10000
MaxArraySize=100001
MaxJobCount=200000
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ffwd Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$dir/slurm.conf" -i 2>>"$dir/slurmctld.log" || { echo "slurm-cluster: slurmctld did not start (see $dir/slurmctld.log)" >&2; exit 77; }
slurmd -f "$dir/slurm.conf" 2>>"$dir/slurmd.log" || { echo "slurm-cluster: slurmd did not start (see $dir/slurmd.log)" >&2; exit 77; }
# wait for the node to be idle
i=0
while [ $i -lt 60 ]; do
    st=$(sinfo -h -o %T 2>/dev/null | head -1)
    case "$st" in idle*|mix*|alloc*) echo "SLURM_CONF=$dir/slurm.conf"; exit 0 ;; esac
    sleep 1; i=$((i + 1))
done
echo "slurm-cluster: the node did not become idle (state '$st'; see $dir/slurmd.log, $dir/slurmctld.log)" >&2
exit 77
