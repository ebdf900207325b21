# shellcheck shell=bash
# A Slurm cluster on the emulated nodes of jobs/emulate-cluster.sh (source after `up`, with
# NQ_CLUSTER exported): munged and slurmctld on this machine (the "head node", reached from the
# nodes at the bridge's address), one slurmd per node inside its namespaces (`slurmd -N NODE`,
# NodeName=NODE NodeAddr=<its IP>), state and logs under DIR, which the nodes share; each
# slurmd's spool (its PMIx sockets) on its node-local /tmp, so a node that died and comes back
# finds no stale socket there. Then:
#   mn_slurmd_start NODE  (re)starts the slurmd of NODE (a node back after `lose`)
#   mn_slurm_start DIR    exports SLURM_CONF; non-zero with SLURM_WHY set when it cannot start
#   mn_slurm_stop         cancels what runs, stops the daemons by their PIDs (idempotent)
# slurm_wait and _slurm_free_port come from tests/integration/slurm/cluster.sh (sourced here).
. tests/integration/slurm/cluster.sh
MN_SLURM_DIR=""

mn_slurm_start() {
  local W=$1 i n hw mem ctl_port d_port nodes=() ips=() head
  MN_SLURM_DIR=$W
  mapfile -t nodes < <(jobs/emulate-cluster.sh nodes)
  mapfile -t ips < <(jobs/emulate-cluster.sh ips)
  head=${ips[0]%.*}.1   # the bridge's address on this machine
  mkdir -p "$W"/{munge,state,log} && chmod 755 "$W" "$W/munge" || { SLURM_WHY="cannot create $W"; return 1; }
  if [ -f /etc/munge/munge.key ]; then cp /etc/munge/munge.key "$W/munge/munge.key"
  else dd if=/dev/urandom of="$W/munge/munge.key" bs=1 count=1024 2>/dev/null; fi
  chmod 600 "$W/munge/munge.key"
  munged --socket="$W/munge/munge.socket.2" --key-file="$W/munge/munge.key" --pid-file="$W/munge/munged.pid" \
    --log-file="$W/munge/munged.log" --seed-file="$W/munge/munged.seed" > "$W/munge/start.log" 2>&1 ||
    { SLURM_WHY="munged does not start: $(tail -n 1 "$W/munge/start.log")"; return 1; }
  export SLURM_CONF=$W/slurm.conf
  hw=$(slurmd -C 2>/dev/null | head -1 | sed -E 's/^NodeName=[^ ]+ //; s/ RealMemory=[0-9]+//')
  mem=$(( $(free -m | awk '/^Mem:/{print $2}') * 4 / 10 ))   # each node: 40% (they share this machine)
  ctl_port=$(_slurm_free_port) && d_port=$(_slurm_free_port) || { SLURM_WHY="no free TCP port"; return 1; }
  # SlurmdTimeout: a node whose slurmd is silent that long is DOWN (its jobs NODE_FAIL, requeued)
  cat > "$SLURM_CONF" <<CONF
ClusterName=nqmulti
SlurmctldHost=$(hostname)($head)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$W/munge/munge.socket.2,cred_expire=5
StateSaveLocation=$W/state
SlurmdSpoolDir=/tmp/nq-slurmd
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd-%n.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
MailProg=/bin/true
FirstJobId=$(( ($$ % 5000) * 100 + 501000 ))
SchedulerParameters=batch_sched_delay=0,sched_interval=2
SlurmdTimeout=6
KillWait=5
MinJobAge=3600
CONF
  for ((i = 0; i < ${#nodes[@]}; i++)); do
    echo "NodeName=${nodes[$i]} NodeAddr=${ips[$i]} $hw RealMemory=$mem State=UNKNOWN" >> "$SLURM_CONF"
  done
  echo "PartitionName=nodes Nodes=$(IFS=,; echo "${nodes[*]}") Default=YES MaxTime=INFINITE State=UP" >> "$SLURM_CONF"
  slurmctld -f "$SLURM_CONF" > "$W/log/start.log" 2>&1 ||
    { SLURM_WHY="slurmctld does not start: $(tail -n 1 "$W/log/start.log")"; return 1; }
  for n in "${nodes[@]}"; do mn_slurmd_start "$n" || return 1; done
  for i in $(seq 150); do
    [ "$(sinfo -h -N -o '%N %T' 2>/dev/null | grep -c ' idle$')" = "${#nodes[@]}" ] && return 0
    sleep 0.2
  done
  SLURM_WHY="the nodes never became idle: $(sinfo -h -N -o '%N %T %E' 2>&1 | tr '\n' ' ')"
  return 1
}

mn_slurmd_start() {
  jobs/emulate-cluster.sh run "$1" "mkdir -p /tmp/nq-slurmd && slurmd -f $SLURM_CONF -N $1" >> "$MN_SLURM_DIR/log/start.log" 2>&1 ||
    { SLURM_WHY="slurmd on $1 does not start: $(tail -n 1 "$MN_SLURM_DIR/log/start.log")"; return 1; }
}

mn_slurm_stop() {
  [ -n "$MN_SLURM_DIR" ] || return 0
  local W=$MN_SLURM_DIR p pids i alive jobs
  MN_SLURM_DIR=""
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    scancel $jobs 2>/dev/null
    for i in $(seq 50); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  pids="$(cat "$W"/slurmd-*.pid "$W/slurmctld.pid" 2>/dev/null)"
  for p in $pids; do kill "$p" 2>/dev/null; done
  for i in $(seq 50); do
    alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for p in $pids; do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
  munged --socket="$W/munge/munge.socket.2" --stop > /dev/null 2>&1 ||
    kill "$(cat "$W/munge/munged.pid" 2>/dev/null)" 2>/dev/null
  return 0
}
