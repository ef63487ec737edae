#!/usr/bin/env bash
# A one-node SLURM cluster on this machine: for `hydra/launcher=slurm` without a real cluster,
# and for the tests marked `slurm` (tests/launch), which CI runs against it.
#
#   bash scripts/slurm-local.sh up       # install if missing, configure, start, wait until srun works
#   bash scripts/slurm-local.sh status   # one line: up or down
#   bash scripts/slurm-local.sh down     # stop the daemons this script started
#
# Needs root (the daemons run as root). `up` installs Debian's slurm-wlm and munge with apt-get
# when they are missing, writes /etc/slurm/slurm.conf for this machine (its hostname, CPUs and
# memory, read now by `slurmd -C`), keeps SLURM's state under $ECGTRICKS_SLURM_DIR
# (/var/lib/ecgtricks-slurm), starts munged, slurmctld and slurmd -- or reuses them when the
# cluster already answers -- and waits (at most 60 s) until `srun -N1 true` works. Both commands
# are idempotent. A slurm.conf this script did not write is never touched.
#
# The cluster: one partition, `local` (the default), no accounting (sacct fails: the launcher
# reads job states from squeue), requeue on (JobRequeue=1; a requeued job may start again after
# 5 s: cred_expire), KillWait=5 s between SIGTERM and SIGKILL, the scheduler every 2 s, and the
# pre-timeout signal that submitit asks for (--signal=USR2@signal_delay_s) delivered to the job.
set -euo pipefail

STATE=${ECGTRICKS_SLURM_DIR:-/var/lib/ecgtricks-slurm}
CONF=/etc/slurm/slurm.conf
PARTITION=local
MARK="# written by ecgtricks scripts/slurm-local.sh"
WAIT_S=60

say() { echo "slurm-local: $*"; }
die() { echo "slurm-local: error: $*" >&2; exit 1; }

alive() {  # alive PIDFILE: the process named in PIDFILE runs
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

answers() {  # the controller answers and a one-task job runs
    command -v srun >/dev/null && [[ -f $CONF ]] && scontrol ping 2>/dev/null | grep -q "is UP" \
        && timeout 20 srun -N1 -n1 --time=1 --quiet true >/dev/null 2>&1
}

install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v srun >/dev/null \
        && command -v munged >/dev/null; then
        say "packages: slurm-wlm and munge are installed"
        return
    fi
    say "packages: installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_conf() {
    if [[ -f $CONF ]] && ! grep -qxF "$MARK" "$CONF"; then
        die "$CONF was not written by this script (a real cluster's?): not touching it"
    fi
    local node host
    node=$(slurmd -C | head -n1)  # NodeName=<host> CPUs=... Boards=... RealMemory=<MB>
    host=$(hostname -s)
    [[ $node == NodeName=* ]] || die "slurmd -C did not describe this machine: $node"
    mkdir -p "$STATE/ctld" "$STATE/d" "$(dirname "$CONF")"
    cat >"$CONF.tmp" <<EOF
$MARK
# A one-node cluster for tests and local sweeps; \`bash scripts/slurm-local.sh down\` stops it.
ClusterName=ecgtricks
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job may start again once the old job's credential has expired (default 120 s).
AuthInfo=cred_expire=5
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
SwitchType=switch/none
# No accounting database: sacct fails, job states come from squeue (kept MinJobAge s after the end).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MinJobAge=300
JobRequeue=1
KillWait=5
ReturnToService=2
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
$node State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
    say "config: $CONF for $host ($(grep -o 'CPUs=[0-9]*' <<<"$node"), $(grep -o 'RealMemory=[0-9]*' <<<"$node") MB), state in $STATE"
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        say "munged: running"
        return
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key 2>/dev/null || true
        chmod 400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- munged
    else
        munged --force
    fi
    touch "$STATE/munged.ours"  # started here: `down` stops it
    for _ in $(seq 1 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && { say "munged: started"; return; }
        sleep 0.5
    done
    die "munged did not start (see /var/log/munge/munged.log)"
}

start_daemon() {  # start_daemon NAME
    local name=$1
    if alive "$STATE/$name.pid"; then
        say "$name: running (pid $(cat "$STATE/$name.pid"))"
        return
    fi
    "$name"  # daemonises, writes its pid file
    for _ in $(seq 1 20); do
        alive "$STATE/$name.pid" && { say "$name: started (pid $(cat "$STATE/$name.pid"))"; return; }
        sleep 0.5
    done
    die "$name did not start (see $STATE/$name.log)"
}

stop_pidfile() {  # stop_pidfile NAME PIDFILE
    local name=$1 file=$2 pid
    if ! alive "$file"; then
        say "$name: not running"
        return
    fi
    pid=$(cat "$file")
    kill "$pid"
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || { say "$name: stopped (pid $pid)"; return; }
        sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
    say "$name: killed (pid $pid)"
}

up() {
    [[ $(id -u) == 0 ]] || die "needs root (the SLURM daemons run as root)"
    install
    if answers; then
        say "cluster: already up (partition $PARTITION); srun works"
        return
    fi
    write_conf
    start_munge
    start_daemon slurmctld
    start_daemon slurmd
    local host deadline
    host=$(hostname -s)
    deadline=$((SECONDS + WAIT_S))
    until answers; do
        # A node left down or drained by an earlier run of this cluster is put back to work.
        if sinfo -h -n "$host" -o %T 2>/dev/null | grep -qiE "down|drain|fail"; then
            scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        fi
        ((SECONDS < deadline)) || die "srun -N1 true did not work within $WAIT_S s (see $STATE/slurmctld.log and $STATE/slurmd.log)"
        sleep 1
    done
    say "cluster: up (partition $PARTITION, node $host); srun works"
}

down() {
    stop_pidfile slurmd "$STATE/slurmd.pid"
    stop_pidfile slurmctld "$STATE/slurmctld.pid"
    if [[ -f $STATE/munged.ours ]]; then
        stop_pidfile munged /run/munge/munged.pid
        rm -f "$STATE/munged.ours"
    else
        say "munged: not started by this script, left as it is"
    fi
}

status() {
    if answers; then
        say "up (partition $PARTITION): $(sinfo -h -o '%P %D node(s) %t %c CPUs %m MB' | head -n1)"
    else
        say "down"
        return 1
    fi
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: bash scripts/slurm-local.sh up|down|status" >&2; exit 2 ;;
esac
