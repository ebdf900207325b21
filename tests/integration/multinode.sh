#!/usr/bin/env bash
# The smoke pipeline across 2 emulated nodes (jobs/emulate-cluster.sh: network namespaces on a
# bridge, own hostnames, node-local /tmp, this test's temp dir shared as a cluster shares its
# file system), Open MPI started through jobs/emulate-rsh.sh and forced onto TCP between the
# nodes (btl tcp,self), 1 rank per node:
#  - every output (parallel HDF5 written from both nodes into the shared run dir) bitwise equal
#    to the single-node run with the same 2 ranks (same_outputs.py: the design promises the
#    same bits for the same rank count; only provenance and wall-clock fields are skipped);
#  - node loss: every process of node 2 killed (kill -9) in the middle of nq-train and of
#    nq-effect; the job ends within NQ_LOSS_BOUND s; the rerun (nq-train --resume from the
#    newest checkpoint on the shared dir; nq-effect keeps the files it finished) ends bitwise
#    equal to an uninterrupted run, every metrics row present, no *.tmp, node-local /tmp empty;
#  - the node-loss checks can fail: the interrupted run without the rerun, and a run whose
#    checkpoints were kept only on node-local scratch (lost with the node), both fail them.
# Compute is still this machine's cores: this checks behaviour, not speed.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init multinode
CMP=tests/integration/train/cmp.py
SAME=tests/integration/mpich/same_outputs.py
same_effects() {  # same_outputs.py on the effects/ of two run dirs only
  $PY -c "import sys; sys.path.insert(0, 'tests/integration/mpich'); import same_outputs as s; f = s.files
s.files = lambda r: {x for x in f(r) if x.split('/')[0] == 'effects'}; sys.exit(s.main(sys.argv[1], sys.argv[2]))" "$1" "$2"
}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NQ_PROGRESS_TTY=0
NQ_LOSS_BOUND=${NQ_LOSS_BOUND:-60}   # s from the node's death to the job's end (measured: ~1-2 s)
EC=jobs/emulate-cluster.sh
for b in nq-config nq-synth nq-shard nq-train nq-effect nq-annotate nq-eval; do
  [ -x build/$b ] || { bad multinode_prerequisites "build/$b missing (make build)"; exit 1; }
done

if ! out=$($EC up 2 --share "$T" 2>&1); then
  if [ "$(id -u)" != 0 ] || grep -q "not allowed" <<<"$out"; then skip multinode "$out"; exit 0; fi
  bad multinode_cluster_up "$out"; exit 1
fi
eval "$out"
trap 'exit 130' INT TERM
trap '$EC down; if [ -n "${NQ_MULTINODE_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi' EXIT
ok "multinode_cluster_up ($($EC nodes | tr '\n' ' ')on $($EC subnet))"
SUBNET=$($EC subnet)
NODES1=$($EC nodes | head -n 1)
$EC ips | sed 's/$/ slots=1/' > "$T/hosts"
# Open MPI across the nodes, all through the environment so jobs/run-local.sh runs unchanged:
# one rank per node (the hostfile), the rsh agent, TCP only, and the bounds on a lost peer
# (a killed node closes its sockets at once; a silent one is found by OOB keepalives: 10 s
# idle + 3 probes 5 s apart)
MN=(env OMPI_MCA_orte_default_hostfile="$T/hosts" OMPI_MCA_plm_rsh_agent="$PWD/jobs/emulate-rsh.sh"
    OMPI_MCA_oob_tcp_if_include="$SUBNET" OMPI_MCA_btl_tcp_if_include="$SUBNET" OMPI_MCA_btl=tcp,self
    OMPI_MCA_oob_tcp_keepalive_time=10 OMPI_MCA_oob_tcp_keepalive_intvl=5 OMPI_MCA_oob_tcp_keepalive_probes=3
    OMPI_MCA_rmaps_base_display_map=1)
# 6 shards: nq-effect writes 3 files per rank, so a node can die between two of them; 8 eval
# samples: the table is not what this test checks, and decoding 40 costs seconds per pipeline
P=(--set shard.count=6 --set eval.max_samples=8)

# ---- the smoke pipeline on 2 nodes vs on 1 node ----------------------------------------------
t0=$SECONDS
bash jobs/run-local.sh $CFG --set run_dir="$T/one" "${P[@]}" > "$T/one.log" 2>&1 ||
  { bad multinode_reference_pipeline "$(tail -n 3 "$T/one.log")"; exit 1; }
t1=$SECONDS
if ! "${MN[@]}" bash jobs/run-local.sh $CFG --set run_dir="$T/two" "${P[@]}" > "$T/two.log" 2>&1; then
  bad multinode_pipeline_runs "$(grep -vE '^\[' "$T/two.log" | tail -n 4)"; exit 1
fi
ok "multinode_pipeline_runs (2 nodes: $((SECONDS - t1)) s; 1 node: $((t1 - t0)) s)"
ips=($($EC ips))
# Open MPI's map of each of the 9 steps: one rank on each node's IP, no node with two
maps=$(grep "Data for node:" "$T/two.log" | sed -E 's/.*Data for node: ([^ \t]+).*Num procs: ([0-9]+).*/\1:\2/' | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')
hosts=$(for f in "$T"/two/locks/*.lock; do [ "${f##*/}" = report.lock ] || grep -o 'on host [^ ]*' "$f"; done | sort -u | tr '\n' ' ')
if [ "$maps" = "${ips[0]}:1 ${ips[1]}:1 " ] && [ "$(grep -c '^== [a-z_]*: mpirun' "$T/two.log")" = 9 ] &&
   [ "$hosts" = "on host $($EC nodes | head -n 1) " ]; then
  ok "multinode_ranks_on_two_nodes (9 steps x 1 rank on each of ${ips[*]}; rank 0 $hosts)"
else bad multinode_ranks_on_two_nodes "Open MPI's maps (node:ranks): $maps; lock holders: $hosts"; fi
if out=$($PY $SAME "$T/one" "$T/two" 2>&1); then ok "multinode_outputs_equal_single_node ($out)"
else bad multinode_outputs_equal_single_node "$out"; fi

# what a lost node leaves behind: nothing on node-local scratch, no *.tmp in the run dirs
leftovers() {
  local n f out=""
  for n in $($EC nodes); do
    f=$(find "$($EC tmp "$n")" -type f -not -path '*/nq-slurmd/*' | head -n 3)   # (slurmd's own spool)
    [ -z "$f" ] || out+=" on $n's /tmp: $f;"
  done
  f=$(find "$T" -name '*.tmp' -not -path "$T/hosts" | head -n 3)
  [ -z "$f" ] || out+=" $f"
  echo "$out"
}
# what mpirun says when a node's daemon dies (the first of them in the log)
LOSS_MSG='ORTE has lost communication with a remote daemon|ORTE was unable to reliably start one or more daemons|peer process has unexpectedly disconnected'
# lose_node_when FILE_GLOB LOG PID: kill node 2 once a file matching FILE_GLOB exists (the
# job's middle), then wait for the job; LOST = seconds from the loss to its end, RC its status
lose_node_when() {
  local glob=$1 log=$2 pid=$3 i t
  for i in $(seq 1200); do compgen -G "$glob" > /dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if ! kill -0 "$pid" 2>/dev/null; then LOST=-1; RC=0; wait "$pid" || RC=$?; return 1; fi
  t=$(date +%s.%N)
  $EC lose 2
  RC=0; wait "$pid" || RC=$?
  LOST=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t" | bc)")
}

# ---- node loss in nq-train -------------------------------------------------------------------
R=$T/two
TR=(build/nq-train $CFG --set run_dir="$R" "${P[@]}" --set train.objective=sft --set train.init=lm/model.h5
    --set train.steps=60 --set train.ckpt_every=20 --set train.valid_every=0 --set train.keep=2)
mpirun -np 2 "${TR[@]}" --set train.name=ref --force > "$T/ref.log" 2>&1 ||
  { bad multinode_train_reference "$(tail -n 2 "$T/ref.log")"; exit 1; }
timeout $((NQ_LOSS_BOUND + 30)) "${MN[@]}" mpirun -np 2 "${TR[@]}" --set train.name=loss --force > "$T/loss1.log" 2>&1 &
if lose_node_when "$R/loss/ckpt-000020.h5" "$T/loss1.log" $!; then
  if [ "$RC" != 0 ] && [ "$RC" != 124 ] && [ "$(echo "$LOST <= $NQ_LOSS_BOUND" | bc)" = 1 ] && [ ! -e "$R/loss/model.h5" ]; then
    ok "multinode_train_node_loss_ends (mpirun exit $RC ${LOST} s after node 2 died: $(grep -m1 -oE "$LOSS_MSG" "$T/loss1.log"))"
  else bad multinode_train_node_loss_ends "exit $RC after ${LOST} s (bound $NQ_LOSS_BOUND s); $(ls "$R/loss" | tr '\n' ' ')"; fi
else bad multinode_train_node_loss_ends "the run ended (exit $RC) before its first checkpoint: no middle to kill"; fi
cp -a "$R/loss" "$R/noresume"; cp -a "$R/loss" "$R/local"

# check_resumed NAME LOG: NAME's model and every loss row equal the uninterrupted run's, the
# rerun resumed from a checkpoint (not from step 0), nothing left over; prints why not
check_resumed() {
  local name=$1 log=$2 why="" out
  if [ ! -e "$R/$name/model.h5" ]; then why+=" no model.h5;"
  else out=$($PY $CMP weights "$R/ref/model.h5" "$R/$name/model.h5" 2>&1) || why+=" weights: ${out##*$'\n'};"; fi
  out=$($PY $CMP losses "$R/ref/metrics.h5" "$R/$name/metrics.h5" 0 2>&1) || why+=" metrics rows: ${out##*$'\n'};"
  grep -qE "resuming from .*ckpt-0000[24]0\.h5.* at step [24]0 " "$log" 2>/dev/null ||
    why+=" not resumed from a checkpoint ($(grep -m1 -oE 'starting at step [0-9]+' "$log" 2>/dev/null || echo 'no rerun'));"
  out=$(leftovers); [ -z "$out" ] || why+=" left over:$out"
  echo "$why"
}
timeout 300 "${MN[@]}" mpirun -np 2 "${TR[@]}" --set train.name=loss --resume > "$T/loss2.log" 2>&1
why=$(check_resumed loss "$T/loss2.log")
[ -z "$why" ] && ok "multinode_train_resumed_equal_uninterrupted ($(grep -oE 'resuming from .*ckpt-[0-9]+\.h5' "$T/loss2.log" | sed 's|.*/||'); weights bitwise, 60 loss rows bitwise)" ||
  bad multinode_train_resumed_equal_uninterrupted "$why"

# the checks can fail: (a) without the rerun; (b) checkpoints kept only on node 1's scratch,
# which dies with the node: the rerun finds none and starts over from step 0
why=$(check_resumed noresume /dev/null)
[ -n "$why" ] && ok "multinode_check_fails_without_rerun ($why)" ||
  bad multinode_check_fails_without_rerun "the interrupted run passed the resume check"
mv "$R"/local/ckpt-*.h5 "$($EC tmp 1)/"
$EC lose 1
timeout 300 "${MN[@]}" mpirun -np 2 "${TR[@]}" --set train.name=local --resume > "$T/local.log" 2>&1
why=$(check_resumed local "$T/local.log")
[ -n "$why" ] && ok "multinode_check_fails_with_node_local_checkpoints ($why)" ||
  bad multinode_check_fails_with_node_local_checkpoints "a run whose checkpoints died with node 1 passed the resume check"

# ---- node loss in nq-effect ------------------------------------------------------------------
E=$T/eff
cp -a "$T/two" "$E"
rm -rf "$E/effects" "$E/loss" "$E/local" "$E/noresume" "$E/ref"
EF=(build/nq-effect $CFG --set run_dir="$E" "${P[@]}")
timeout $((NQ_LOSS_BOUND + 30)) "${MN[@]}" mpirun -np 2 "${EF[@]}" --force > "$T/eff1.log" 2>&1 &
if lose_node_when "$E/effects/shard-*.h5" "$T/eff1.log" $!; then
  n=$(ls "$E/effects" | grep -c '^shard-.*\.h5$')
  if [ "$RC" != 0 ] && [ "$RC" != 124 ] && [ "$(echo "$LOST <= $NQ_LOSS_BOUND" | bc)" = 1 ] && [ "$n" -lt 6 ]; then
    ok "multinode_effect_node_loss_ends (mpirun exit $RC ${LOST} s after node 2 died: $(grep -m1 -oE "$LOSS_MSG" "$T/eff1.log"); $n of 6 effect files done)"
  else bad multinode_effect_node_loss_ends "exit $RC after ${LOST} s, $n of 6 files"; fi
  cp -a "$E" "$T/eff_noresume"
  if out=$(same_effects "$T/two" "$T/eff_noresume" 2>&1); then
    bad multinode_effect_check_fails_without_rerun "the interrupted effects equal the uninterrupted ones"
  else ok "multinode_effect_check_fails_without_rerun ($out)"; fi
  rm -rf "$T/eff_noresume"
  timeout 300 "${MN[@]}" mpirun -np 2 "${EF[@]}" > "$T/eff2.log" 2>&1
  kept=$(grep -oE '\([0-9]+ new, [0-9]+ kept\)' "$T/eff2.log")
  out=$(same_effects "$T/two" "$E" 2>&1); same=$?
  left=$(leftovers)
  if [ $same = 0 ] && [[ "$kept" =~ ,\ [1-9][0-9]*\ kept ]] && [ -z "$left" ]; then
    ok "multinode_effect_rerun_equal_uninterrupted ($kept; $out)"
  else bad multinode_effect_rerun_equal_uninterrupted "rerun '$kept'; $out; left over: $left"; fi
else bad multinode_effect_node_loss_ends "nq-effect ended (exit $RC) before its first file: no middle to kill"; fi

# ---- Slurm across the nodes: the chain, the training jobs on 2 nodes; node loss -> requeue ----
. tests/integration/multinode/slurm.bash
chmod 755 "$T"
trap 'mn_slurm_stop; $EC down; if [ -n "${NQ_MULTINODE_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi' EXIT
if ! slurm_install; then bad multinode_slurm_install "$SLURM_WHY"; exit 1; fi
t0=$SECONDS
mn_slurm_start "$T/slurm" || { bad multinode_slurm_start "$SLURM_WHY"; exit 1; }
ok "multinode_slurm_start (slurmctld + a slurmd on each node, $((SECONDS - t0)) s)"
export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include="$SUBNET"   # the jobs inherit them (sbatch)
# wait_jobs "step=id ...": every job final; prints the ones not COMPLETED
wait_jobs() {
  local pair st out=""
  for pair in $1; do
    st=$(slurm_wait "${pair#*=}" 300) || { out+=" ${pair%%=*}:timeout"; continue; }
    [ "${st#* }" = COMPLETED ] || out+=" ${pair%%=*}:${st#* }"
  done
  echo "$out"
}
S=$T/slurm-run
t0=$SECONDS
out=$(jobs/submit.sh $CFG --set run_dir="$S" "${P[@]}" --sbatch-train --nodes=2 --sbatch-train --ntasks-per-node=1 2>&1)
jobs=$(sed -n 's/^== submitted [0-9]* jobs: //p' <<<"$out")
if [ -z "$jobs" ]; then bad multinode_slurm_chain "submit.sh: $(tail -n 3 <<<"$out")"
elif notdone=$(wait_jobs "$jobs") && [ -n "$notdone" ]; then bad multinode_slurm_chain "not COMPLETED:$notdone"
else
  ok "multinode_slurm_chain (10 jobs COMPLETED in $((SECONDS - t0)) s)"
  # each training job: 2 nodes, 1 task on each, its log naming both; each node's slurmd log
  # shows the training steps it ran
  why=""
  for run in lm sft context_sft nextquill; do
    id=$(tr ' ' '\n' <<<"$jobs" | sed -n "s/^$run=//p")
    nl=$(scontrol show job "$id" | grep -oE ' NodeList=[^ ]+' | cut -d= -f2)
    [ "$nl" = "${NODES1%1}[1-2]" ] || why+=" $run on '$nl';"
    grep -qF "on 2 tasks (nodes $nl): srun --mpi=pmix" "$S/logs/$run-$id.out" || why+=" $run's log has no node list;"
    for n in $($EC nodes); do
      grep -q "launch task StepId=$id.0" "$T/slurm/log/slurmd-$n.log" || why+=" $run not in $n's slurmd log;"
    done
  done
  [ -z "$why" ] && ok "multinode_slurm_training_on_two_nodes (lm sft context_sft nextquill: srun --mpi=pmix on ${NODES1%1}[1-2]; logs/<step>-<job>.out, slurmd-<node>.log)" ||
    bad multinode_slurm_training_on_two_nodes "$why"
  if out=$($PY $SAME "$T/one" "$S" 2>&1); then ok "multinode_slurm_outputs_equal_single_node ($out)"
  else bad multinode_slurm_outputs_equal_single_node "$out"; fi
fi

# node loss under Slurm: node 2 dies in the middle of a 2-node nq-train job; srun does not end
# the step by itself (the rank on node 1 waits on its dead peer), slurmctld marks the node DOWN
# after SlurmdTimeout (6 s) without an answer, ends the job NODE_FAIL and requeues it (the job
# script has --requeue); the node comes back (a new slurmd, an empty /tmp) and the requeued
# job runs nq-train --resume (SLURM_RESTART_COUNT > 0, jobs/slurm-step.sh)
SJ=(--set run_dir="$S" "${P[@]}" --set train.objective=sft --set train.init=lm/model.h5 --set train.steps=60
    --set train.ckpt_every=20 --set train.valid_every=0 --set train.keep=2 --set train.name=sloss)
J=$(sbatch --parsable --chdir="$PWD" --nodes=2 --ntasks-per-node=1 -o "$T/sloss-%j.out" jobs/nq-train.sbatch $CFG "${SJ[@]}" 2>&1)
for i in $(seq 1200); do [ -e "$S/sloss/ckpt-000020.h5" ] && break; sleep 0.05; done
if [ ! -e "$S/sloss/ckpt-000020.h5" ] || [ -e "$S/sloss/model.h5" ]; then
  bad multinode_slurm_node_loss_requeued "job $J: no middle to kill ($(ls "$S/sloss" 2>&1 | tr '\n' ' '))"
else
  $EC lose 2
  t0=$SECONDS st=""
  while [ $((SECONDS - t0)) -lt 120 ]; do
    st=$(scontrol show job "$J" | grep -oE 'JobState=[A-Z_]+|Restarts=[0-9]+' | tr '\n' ' ')
    [[ "$st" == *PENDING*Restarts=1* ]] && break
    sleep 0.5
  done
  lost=$((SECONDS - t0))
  if [[ "$st" == *PENDING*Restarts=1* ]]; then
    ok "multinode_slurm_node_loss_requeued (node 2 DOWN, job NODE_FAIL and requeued ${lost} s after the loss)"
    mn_slurmd_start "${NODES1%1}2" || bad multinode_slurm_node_back "$SLURM_WHY"
    st=$(slurm_wait "$J" 300)
    R=$S   # check_resumed compares $R/<name> with the uninterrupted $T/two/ref
    cp -a "$T/two/ref" "$S/ref" 2>/dev/null
    why=$(check_resumed sloss "$T/sloss-$J.out")
    [ "$st" = "$J COMPLETED" ] && [ -z "$why" ] &&
      ok "multinode_slurm_requeued_job_resumed_equal ($(grep -oE 'resuming from .*ckpt-[0-9]+\.h5' "$T/sloss-$J.out" | sed 's|.*/||'); weights and 60 loss rows bitwise)" ||
      bad multinode_slurm_requeued_job_resumed_equal "$st;$why $(grep 'nq-job' "$T/sloss-$J.out" | tail -n 2 | tr '\n' ' ')"
  else bad multinode_slurm_node_loss_requeued "job $J after ${lost} s: $st; nodes $(sinfo -h -N -o '%N:%T' | tr '\n' ' ')"; fi
fi
exit $failed
