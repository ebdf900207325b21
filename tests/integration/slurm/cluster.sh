# shellcheck shell=bash disable=SC2034
# A private single-node Slurm (munged + slurmctld + slurmd) under a temp dir, as in
# /work/shared/slurm-local.md. Source this file, then:
#   slurm_install          apt-get install slurm-wlm and munge when missing (returns 1 if impossible)
#   slurm_start DIR        start the daemons with their state under DIR; exports SLURM_CONF;
#                          returns non-zero with SLURM_WHY set when they cannot run here
#                          (SLURM_SKIP=1 when the machine forbids it: munged cannot run)
#   slurm_stop             stop what slurm_start started, by the PIDs it recorded (idempotent)
#   slurm_wait JOBID [S]   poll `scontrol show job` until the job (every task of an array) is
#                          in a final state or S seconds (default 300) pass; prints the states
# Own ports and a FirstJobId derived from the PID, so two clusters (two test runs) never meet.
SLURM_DIR="" SLURM_MUNGE_PID="" SLURM_WHY="" SLURM_SKIP=0

slurm_install() {
  local need=()
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null ||
    need+=(slurm-wlm)
  command -v munged >/dev/null || need+=(munge)
  [ ${#need[@]} = 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then SLURM_WHY="${need[*]} missing and not root"; return 1; fi
  echo "# installing ${need[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    > "${TMPDIR:-/tmp}/nq-slurm-apt.log" 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
        > "${TMPDIR:-/tmp}/nq-slurm-apt.log" 2>&1; } ||
    { SLURM_WHY="apt-get install ${need[*]} failed (${TMPDIR:-/tmp}/nq-slurm-apt.log)"; return 1; }
}

_slurm_free_port() {  # a TCP port nobody listens on, from the ephemeral-free range
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

slurm_start() {
  local W=$1 i
  SLURM_DIR=$W
  mkdir -p "$W"/{munge,slurm/state,slurm/spool,slurm/log} || { SLURM_WHY="cannot create $W"; return 1; }
  chmod 755 "$W" "$W/munge"
  local d=$W   # munged wants every folder above its socket searchable by all
  while [ "$d" != / ] && [ -n "$d" ]; do
    [ "$(( 0$(stat -c %a "$d") & 1 ))" = 1 ] ||
      { SLURM_WHY="munged needs o+x on $d (chmod 755 it)"; return 1; }
    d=$(dirname "$d")
  done
  if [ ! -f /etc/munge/munge.key ]; then
    # the Debian package creates one; make our own when it did not
    dd if=/dev/urandom of="$W/munge/munge.key" bs=1 count=1024 2>/dev/null
  else
    cp /etc/munge/munge.key "$W/munge/munge.key"
  fi
  chown "$(id -u):$(id -g)" "$W/munge/munge.key"; chmod 600 "$W/munge/munge.key"
  if ! munged --socket="$W/munge/munge.socket.2" --key-file="$W/munge/munge.key" \
      --pid-file="$W/munge/munged.pid" --log-file="$W/munge/munged.log" \
      --seed-file="$W/munge/munged.seed" > "$W/munge/start.log" 2>&1; then
    SLURM_WHY="munged does not start: $(tail -n 1 "$W/munge/start.log")"; SLURM_SKIP=1; return 1
  fi
  SLURM_MUNGE_PID="$(cat "$W/munge/munged.pid")"
  export SLURM_CONF=$W/slurm/slurm.conf
  local hw mem ctl_port d_port first_id
  hw=$(slurmd -C 2>/dev/null | head -1 | sed -E 's/^NodeName=[^ ]+ //; s/ RealMemory=[0-9]+//')
  [ -n "$hw" ] || { SLURM_WHY="slurmd -C prints no node description"; return 1; }
  mem=$(( $(free -m | awk '/^Mem:/{print $2}') * 9 / 10 ))
  ctl_port=$(_slurm_free_port) && d_port=$(_slurm_free_port) ||
    { SLURM_WHY="no free TCP port"; return 1; }
  first_id=$(( ($$ % 5000) * 100 + 1000 ))
  cat > "$SLURM_CONF" <<CONF
ClusterName=nqtest
SlurmctldHost=localhost
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$W/munge/munge.socket.2,cred_expire=5
StateSaveLocation=$W/slurm/state
SlurmdSpoolDir=$W/slurm/spool
SlurmctldPidFile=$W/slurm/slurmctld.pid
SlurmdPidFile=$W/slurm/slurmd.pid
SlurmctldLogFile=$W/slurm/log/slurmctld.log
SlurmdLogFile=$W/slurm/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
MailProg=/bin/true
FirstJobId=$first_id
SchedulerParameters=batch_sched_delay=0,sched_interval=2
KillWait=5
MinJobAge=3600
NodeName=localhost $hw RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  if ! slurmctld -f "$SLURM_CONF" > "$W/slurm/log/start.log" 2>&1; then
    SLURM_WHY="slurmctld does not start: $(tail -n 1 "$W/slurm/log/start.log")"; return 1
  fi
  if ! slurmd -f "$SLURM_CONF" -N localhost >> "$W/slurm/log/start.log" 2>&1; then
    SLURM_WHY="slurmd does not start: $(tail -n 1 "$W/slurm/log/start.log")"; return 1
  fi
  for i in $(seq 150); do
    sinfo -h -o %T 2>/dev/null | grep -qx idle && return 0
    sleep 0.2
  done
  SLURM_WHY="the node never became idle: $(sinfo -h -o '%T %E' 2>&1 | head -1); $(tail -n 2 "$W/slurm/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
  return 1
}

slurm_stop() {
  [ -n "$SLURM_DIR" ] || return 0
  local W=$SLURM_DIR p alive i pids jobs
  SLURM_DIR=""
  # cancel what still runs, so no slurmstepd outlives its slurmd
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    scancel $jobs 2>/dev/null
    for i in $(seq 50); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  pids="$(cat "$W/slurm/slurmd.pid" "$W/slurm/slurmctld.pid" 2>/dev/null)"
  for p in $pids; do kill "$p" 2>/dev/null; done
  for i in $(seq 50); do   # slurmctld saves its state before exiting (~2 s)
    alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for p in $pids; do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
  if [ -n "$SLURM_MUNGE_PID" ]; then
    munged --socket="$W/munge/munge.socket.2" --stop > /dev/null 2>&1 ||
      kill "$SLURM_MUNGE_PID" 2>/dev/null
  fi
  SLURM_MUNGE_PID=""
  return 0
}

# Prints "JOBID STATE" lines (one per array task) once every one is final; 1 on timeout.
slurm_wait() {
  local id=$1 limit=${2:-300} t0=$SECONDS out
  while :; do
    out=$(scontrol show job -o "$id" 2>/dev/null |
          sed -nE 's/^JobId=([0-9]+).*JobState=([A-Z_]+).*/\1 \2/p')
    if [ -n "$out" ] && ! grep -qvE ' (COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$' <<<"$out"; then
      echo "$out"; return 0
    fi
    [ $((SECONDS - t0)) -ge "$limit" ] && { echo "$out"; return 1; }
    sleep 0.5
  done
}
