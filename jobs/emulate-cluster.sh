#!/usr/bin/env bash
# An emulated cluster on one machine (root): N nodes, each a network namespace on a private
# bridge with its own IP, its own hostname (UTS namespace) and its own node-local /tmp (a
# tmpfs, mounted over /tmp in the node's mount namespace), sharing the directories given with
# --share (as a cluster shares Lustre/NFS). Compute is still this machine's cores: use it to
# test behaviour and communication, not speed.
#   eval "$(jobs/emulate-cluster.sh up N [--share DIR]...)"   # exports NQ_CLUSTER=<state dir>
#   jobs/emulate-cluster.sh nodes | ips | hosts      # node names | their IPs | IPs comma-separated
#   jobs/emulate-cluster.sh run NODE CMD...          # CMD (joined, as ssh does) on node NODE
#   jobs/emulate-cluster.sh lose NODE                # kill -9 every process of NODE, wipe its /tmp
#   jobs/emulate-cluster.sh tmp NODE                 # the host path of NODE's /tmp
#   jobs/emulate-cluster.sh down                     # remove everything `up` made (idempotent)
# NODE: a name (`nodes`), its IP, or its index 1..N. Open MPI starts remote ranks through
# jobs/emulate-rsh.sh (--mca plm_rsh_agent), with the IPs as host names (no /etc/hosts edits).
# Names (nqc<id>n<i>, bridge nqc<id>br) and the subnet (10.201.<x>.0/24) are unique per cluster,
# so concurrent test runs never meet. `up` refuses with exit 3 and one line on stderr where
# namespaces are not allowed; a failed `up` removes what it made.
set -uo pipefail
ME=$(realpath "$0")
die() { echo "emulate-cluster.sh: $1" >&2; exit "${2:-2}"; }
usage() { sed -n '2,17p' "$ME" | sed 's/^# \{0,1\}//'; exit 2; }

load() {  # the state of the cluster named by $NQ_CLUSTER
  [ -n "${NQ_CLUSTER:-}" ] || die "NQ_CLUSTER is not set (eval \"\$(jobs/emulate-cluster.sh up N)\" first)"
  [ -f "$NQ_CLUSTER/state" ] || die "no cluster state in $NQ_CLUSTER/state"
  # shellcheck disable=SC1091
  . "$NQ_CLUSTER/state"
}

node_index() {  # NODE (name, IP or index) -> index 1..N
  local i
  for ((i = 1; i <= NODES; i++)); do
    if [ "$1" = "$i" ] || [ "$1" = "${ID}n$i" ] || [ "$1" = "$SUBNET.$((i + 1))" ]; then echo "$i"; return 0; fi
  done
  die "no node '$1' in cluster $ID (nodes: $(names | tr '\n' ' '))"
}
names() { local i; for ((i = 1; i <= NODES; i++)); do echo "${ID}n$i"; done; }

# ---- up ------------------------------------------------------------------------------------
up() {
  local n=${1:-}; shift || true
  [[ "$n" =~ ^[1-9]$ ]] || die "up: the number of nodes, 1-9"
  local share=() d
  while [ $# -gt 0 ]; do
    case $1 in
      --share) d=$(realpath -e "${2:?--share needs a directory}") || die "--share $2: no such directory"
               share+=("$d"); shift 2 ;;
      *) die "up: unknown argument '$1'" ;;
    esac
  done
  [ "$(id -u)" = 0 ] || die "namespaces need root here (run as root)" 3
  local why
  why=$(ip netns add nqprobe$$ 2>&1 && ip netns exec nqprobe$$ unshare -m -u true 2>&1) ||
    { ip netns del nqprobe$$ 2>/dev/null; die "network/mount namespaces not allowed here: $why" 3; }
  ip netns del nqprobe$$
  # a free id and subnet, chosen under a lock so two runs starting together do not pick one
  exec 9<"$ME" || die "cannot open $ME"   # the lock: this script itself (nothing left behind)
  flock 9
  local id="" x _
  for _ in $(seq 100); do
    x=$(( (RANDOM % 250) + 1 )); id=nqc$(printf %04x $((RANDOM % 65536)))
    if [ -e "/run/$id" ] || ip link show "${id}br" >/dev/null 2>&1 ||
       ip -4 addr show 2>/dev/null | grep -q "inet 10\.201\.$x\." ||
       ip -4 route show 2>/dev/null | grep -q "^10\.201\.$x\."; then id=""; continue; fi
    break
  done
  [ -n "$id" ] || die "no free name and subnet 10.201.x.0/24 after 100 tries"
  export NQ_CLUSTER=/run/$id; ID=$id; SUBNET=10.201.$x; NODES=0
  mkdir -p "$NQ_CLUSTER" || die "cannot create $NQ_CLUSTER"
  write_state
  trap 'set +e; trap - ERR; down_now; exit 1' ERR INT TERM
  set -e
  ip link add "${ID}br" type bridge
  ip addr add "$SUBNET.1/24" dev "${ID}br"
  ip link set "${ID}br" up
  flock -u 9; exec 9>&-
  local i ns
  for ((i = 1; i <= n; i++)); do
    ns=${ID}n$i
    ip netns add "$ns"
    NODES=$i; write_state "${share[@]}"
    ip link add "${ID}v$i" type veth peer name eth0 netns "$ns"
    ip link set "${ID}v$i" master "${ID}br" up
    ip netns exec "$ns" ip addr add "$SUBNET.$((i + 1))/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    ip netns exec "$ns" ip link set lo up
    mkdir -p "$NQ_CLUSTER/$ns/tmp"
    mount -t tmpfs -o size=512m,mode=1777 "tmp-$ns" "$NQ_CLUSTER/$ns/tmp"
  done
  set +e; trap - ERR INT TERM
  echo "export NQ_CLUSTER=$NQ_CLUSTER"
}

write_state() {
  {
    echo "ID=$ID SUBNET=$SUBNET NODES=$NODES"
    printf 'SHARE=('; printf '%q ' "$@"; echo ')'
  } > "$NQ_CLUSTER/state.tmp" && mv "$NQ_CLUSTER/state.tmp" "$NQ_CLUSTER/state"
}

# ---- run -----------------------------------------------------------------------------------
# Inside the node: its network namespace (nsenter, not `ip netns exec`, which would mount a
# /sys without the cgroup file systems slurmd needs), a new mount namespace (private propagation) where the shared directories
# are first bind-mounted aside, then the node's tmpfs covers /tmp, then the shared directories
# come back at their own paths (they may lie under /tmp); a new UTS namespace with the node's
# name. The command string is run by sh, as ssh runs it.
run() {
  local i ns
  i=$(node_index "${1:?run: which node}"); shift
  ns=${ID}n$i
  [ -e "/run/netns/$ns" ] || die "node $ns is not up"
  NQ_NODE=$ns NQ_NODE_TMP=$NQ_CLUSTER/$ns/tmp NQ_NODE_CMD="$*" NQ_NODE_HOLD=$NQ_CLUSTER/$ns/hold \
    NQ_NODE_SHARE="$(printf '%s\n' "${SHARE[@]}")" \
    exec nsenter --net="/run/netns/$ns" unshare -m -u --propagation private /bin/sh -c '
      set -e
      k=0
      while IFS= read -r d; do
        [ -n "$d" ] || continue
        k=$((k + 1)); mkdir -p "$NQ_NODE_HOLD/$k"; mount --bind "$d" "$NQ_NODE_HOLD/$k"
      done <<EOF
$NQ_NODE_SHARE
EOF
      mount --bind "$NQ_NODE_TMP" /tmp
      k=0
      while IFS= read -r d; do
        [ -n "$d" ] || continue
        k=$((k + 1)); mkdir -p "$d"; mount --bind "$NQ_NODE_HOLD/$k" "$d"
      done <<EOF
$NQ_NODE_SHARE
EOF
      hostname "$NQ_NODE"
      unset NQ_NODE_TMP NQ_NODE_HOLD NQ_NODE_SHARE
      cmd=$NQ_NODE_CMD; unset NQ_NODE_CMD
      exec /bin/sh -c "$cmd"'
}

# ---- lose, down ----------------------------------------------------------------------------
kill_node() {  # every process in node i's network namespace, until none is left
  local ns=${ID}n$1 _ pids
  for _ in $(seq 50); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null
    sleep 0.1
  done
  echo "emulate-cluster.sh: processes of $ns survive kill -9: $(ip netns pids "$ns" | tr '\n' ' ')" >&2
  return 1
}

lose() {
  local i ns
  i=$(node_index "${1:?lose: which node}")
  ns=${ID}n$i
  kill_node "$i" || return 1
  # the node's scratch dies with it (a replacement node starts with an empty /tmp)
  find "$NQ_CLUSTER/$ns/tmp" -mindepth 1 -delete 2>/dev/null
  return 0
}

down_now() {  # with the state loaded (or partly made): undo all of it
  local i ns rc=0
  for ((i = 1; i <= NODES; i++)); do
    ns=${ID}n$i
    kill_node "$i" || rc=1
    if mountpoint -q "$NQ_CLUSTER/$ns/tmp"; then umount "$NQ_CLUSTER/$ns/tmp" || rc=1; fi
    ip netns del "$ns" 2>/dev/null
    ip link del "${ID}v$i" 2>/dev/null
  done
  ip link del "${ID}br" 2>/dev/null
  [ $rc = 0 ] && rm -rf "$NQ_CLUSTER"
  return $rc
}

down() {
  [ -n "${NQ_CLUSTER:-}" ] && [ -f "$NQ_CLUSTER/state" ] || return 0
  load
  down_now || die "could not remove everything of $ID (see above)" 1
}

cmd=${1:-}; shift || true
case $cmd in
  up) up "$@" ;;
  down) down ;;
  run) load; run "$@" ;;
  lose) load; lose "$@" ;;
  nodes) load; names ;;
  ips) load; for ((i = 1; i <= NODES; i++)); do echo "$SUBNET.$((i + 1))"; done ;;
  hosts) load; "$ME" ips | paste -sd, ;;
  subnet) load; echo "$SUBNET.0/24" ;;
  tmp) load; echo "$NQ_CLUSTER/${ID}n$(node_index "${1:?tmp: which node}")/tmp" ;;
  *) usage ;;
esac
