#!/usr/bin/env bash
# jobs/submit.sh and jobs/*.sbatch on a real single-node Slurm, started here under a temp dir
# and stopped by PID on exit (tests/integration/slurm/cluster.sh): the smoke pipeline as a job
# chain; stamps shared with jobs/run-local.sh; --only annotate and its dependents; a sweep as
# job arrays with its comparison table; preemption (USR1 -> checkpoint -> requeue -> resume,
# final weights equal to an uninterrupted run); a stale upstream refused. Installs slurm-wlm
# and munge when missing (root); skipped, with the reason, only when the daemons cannot run
# here. Run from the repo root with build/ built; NQ_SLURM_KEEP=1 keeps the temp dir (logs).
set -u
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
PY=/usr/bin/python3
HERE=tests/integration/slurm
. $HERE/cluster.sh
. tests/integration/lib.bash   # ok, bad, skip (not nq_test_init: this script has its own temp dir)
failed=0
T=$(mktemp -d /tmp/nq-slurm-test.XXXXXX)
chmod 755 "$T"
cleanup() { slurm_stop; if [ -n "${NQ_SLURM_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
t_start=$SECONDS
CFG=configs/smoke.cfg
R=$T/run
STEPS="synth shard lm sft context_sft effect annotate nextquill eval"
for b in nq-config nq-synth nq-shard nq-train nq-effect nq-annotate nq-eval; do
  [ -x build/$b ] || { bad slurm_prerequisites "build/$b missing (make build)"; exit 1; }
done

# ---- dry runs (no daemons needed) -----------------------------------------------------------
out=$(jobs/submit.sh $CFG --set run_dir=$R --dry-run 2>&1)
got=$(sed -nE '/^== report:/d; s/^== ([a-z_]+): sbatch .*/\1/p' <<<"$out" | tr '\n' ' ')
# the graph: each job waits (afterok) for the jobs of the steps whose outputs it reads, and no
# more (sft and context_sft for lm only: they can run side by side)
declare -A WANT_DEP=([shard]=synth [lm]=shard [sft]=lm [context_sft]=lm [effect]=context_sft
                     [annotate]=effect [nextquill]=annotate [eval]="sft:nextquill")
graph=1
for s in $STEPS; do
  line=$(grep "^== $s: sbatch" <<<"$out")
  deps=$(grep -oE -- '--dependency=[^ ]+' <<<"$line" | sed -E 's/--dependency=afterok://; s/\\[<>]//g')
  [ "$deps" = "${WANT_DEP[$s]:-}" ] || { graph=0; echo "# $s waits for '$deps', want '${WANT_DEP[$s]:-}'"; }
  grep -q -- "--output=$R/logs/$s-%j.out" <<<"$line" || graph=0
done
grep -q "^== graph: context_sft <- lm$" <<<"$out" || graph=0
# the report is the last job, after every other whatever its outcome
tail -n 1 < <(grep "sbatch" <<<"$out") | grep "^== report: sbatch" | tr -d '\\<>' |
  grep -q -- "--dependency=afterany:synth:.*:eval .*nq-report.sbatch" || { graph=0; echo "# report is not the last job after all others"; }
if [ "$got" = "$STEPS " ] && [ $graph = 1 ] && [ ! -e "$R" ]; then ok slurm_dry_run_graph
else bad slurm_dry_run_graph "steps '$got', afterok graph/logs ok=$graph, run_dir created: $([ -e "$R" ] && echo yes || echo no)"; fi

out=$(jobs/submit.sh $CFG --set run_dir=$R --sweep annotate.threshold=0.02,0.1 --sweep eval.max_new_tokens=8,16,32 --dry-run 2>&1)
arr=$(grep -c -- "--array=0-5 " <<<"$out"); single=$(grep "sbatch" <<<"$out" | grep -vc -- "--array")
if grep -q "6 points .* per point: annotate nextquill eval " <<<"$out" && [ "$arr" = 3 ] && [ "$single" = 8 ] &&
   grep "^== nextquill:" <<<"$out" | grep -q -- "--dependency=aftercorr:" &&
   grep "^== sweep:" <<<"$out" | grep -q "nq-sweep.sbatch $R/sweep/points.tsv"; then
  ok slurm_dry_run_sweep_arrays
else bad slurm_dry_run_sweep_arrays "$arr arrays, $single single jobs: $(head -n 3 <<<"$out")"; fi
cur=$(build/nq-config $CFG --get eval.max_new_tokens)
if out=$(jobs/submit.sh $CFG --set run_dir=$R --sweep eval.max_new_tokens=$cur --dry-run 2>&1); then
  bad slurm_sweep_refuses_no_change "accepted a sweep that changes nothing"
elif grep -q "change no step" <<<"$out"; then ok slurm_sweep_refuses_no_change
else bad slurm_sweep_refuses_no_change "$out"; fi

# ---- the cluster ------------------------------------------------------------------------------
if ! slurm_install; then
  if [ "$(id -u)" != 0 ]; then skip slurm_cluster "$SLURM_WHY (run as root to install them)"; exit $failed; fi
  bad slurm_install "$SLURM_WHY"; exit 1
fi
t0=$SECONDS
if ! slurm_start "$T/cluster"; then
  if [ "$SLURM_SKIP" = 1 ]; then skip slurm_cluster "this machine does not let the daemons run: $SLURM_WHY"; exit $failed; fi
  bad slurm_daemons_start "$SLURM_WHY"; exit 1
fi
ok "slurm_daemons_start ($((SECONDS - t0)) s; SLURM_CONF=$SLURM_CONF)"

job_log() { ls "$1"/logs/*-"$2".out "$1"/logs/*-"$2"_*.out 2>/dev/null | head -n 1; }
# run_chain LABEL RUN_DIR SUBMIT_ARGS...: submit, wait for every job; SUBMITTED="step=id ..."
run_chain() {
  local label=$1 rd=$2; shift 2
  local out pair id st not_done="" logs=""
  SUBMITTED=""
  if ! out=$(jobs/submit.sh "$@" 2>&1); then bad $label "submit.sh failed: $(tail -n 3 <<<"$out")"; return 1; fi
  echo "$out" > "$T/$label.submit"
  SUBMITTED=$(sed -n 's/^== submitted [0-9]* jobs: //p' <<<"$out")
  [ -n "$SUBMITTED" ] || { bad $label "nothing submitted: $(tail -n 2 <<<"$out")"; return 1; }
  for pair in $SUBMITTED; do
    id=${pair#*=}
    if ! st=$(slurm_wait "$id" 240); then not_done+=" ${pair%%=*}:timeout"; continue; fi
    if grep -qv ' COMPLETED$' <<<"$st"; then
      not_done+=" ${pair%%=*}:$(awk '{print $2}' <<<"$st" | sort -u | tr '\n' ' ')"
      logs+=" $(job_log "$rd" "$id"): $(tail -n 2 "$(job_log "$rd" "$id")" 2>/dev/null | tr '\n' ' ')"
    fi
  done
  [ -z "$not_done" ] && return 0
  bad $label "not COMPLETED:$not_done;$logs"
  return 1
}
submitted_steps() { for p in $SUBMITTED; do [ "${p%%=*}" = report ] || printf '%s ' "${p%%=*}"; done; }
snapshot() {  # digests of every output file under DIR except the listed top-level entries (locks: who held them)
  local dir=$1 x not=(); shift
  for x in logs stamps sweep report locks "$@"; do not+=(-not -path "./$x/*"); done
  (cd "$dir" && find . -type f "${not[@]}" -print0 | sort -z | xargs -0 sha256sum)
}

# ---- the smoke pipeline as a job chain --------------------------------------------------------
t0=$SECONDS
if run_chain slurm_pipeline "$R" $CFG --set run_dir=$R; then
  missing=""
  states=$(build/nq-config $CFG --set run_dir=$R --steps | cut -f1,7)
  for s in $STEPS; do
    grep -qx "$s"$'\t'current <<<"$states" || missing+=" a current stamp of $s ($(grep "^$s"$'\t' <<<"$states" | cut -f2))"
    id=$(tr ' ' '\n' <<<"$SUBMITTED" | sed -n "s/^$s=//p")
    [ -s "$R/logs/$s-$id.out" ] || missing+=" logs/$s-$id.out"
  done
  [ -s "$R/eval/summary.md" ] || missing+=" eval/summary.md"
  if [ "$(submitted_steps)" = "$STEPS " ] && [ -z "$missing" ]; then
    ok "slurm_pipeline_completed (9 jobs COMPLETED in $((SECONDS - t0)) s; eval/summary.md written)"
  else bad slurm_pipeline_completed "submitted '$(submitted_steps)', missing:$missing"; fi
  grep -q "srun --mpi=pmix" "$R/logs/lm-$(tr ' ' '\n' <<<"$SUBMITTED" | sed -n 's/^lm=//p').out" &&
    grep -q "on 2 tasks" "$R/logs/eval-$(tr ' ' '\n' <<<"$SUBMITTED" | sed -n 's/^eval=//p').out" &&
    ok slurm_stages_run_under_srun || bad slurm_stages_run_under_srun "no srun line in the logs"
fi

# sft and context_sft wait for lm only: with one rank (one CPU) per job and 2 CPUs here they run
# at the same time. A copy of the run reruns lm and what follows; squeue is polled for both
# RUNNING at once, and their start/end times (whole seconds, truncated) must overlap strictly.
cp -a "$R" "$T/par"
: > "$T/both_running"
( while [ ! -e "$T/par_done" ]; do
    r=$(squeue -h -o '%j %T' 2>/dev/null | awk '$2 == "RUNNING" { print $1 }')
    if grep -qx nq-sft <<<"$r" && grep -qx nq-context_sft <<<"$r"; then
      tr '\n' ' ' <<<"$r" > "$T/both_running"; break
    fi
    sleep 0.1
  done ) &
poller=$!
if run_chain slurm_parallel_runs "$T/par" $CFG --set run_dir=$T/par --set pipeline.ranks=1 --from lm; then
  touch "$T/par_done"; wait $poller
  declare -A t_start t_end
  times=""
  for st in sft context_sft; do
    id=$(tr ' ' '\n' <<<"$SUBMITTED" | sed -n "s/^$st=//p")
    info=$(scontrol show job "$id" 2>/dev/null)
    t_start[$st]=$(date -d "$(grep -oP 'StartTime=\K[^ ]+' <<<"$info")" +%s 2>/dev/null || echo 0)
    t_end[$st]=$(date -d "$(grep -oP 'EndTime=\K[^ ]+' <<<"$info")" +%s 2>/dev/null || echo 0)
    times+="$st $(grep -oE '(NumCPUs|StartTime|EndTime)=[^ ]+' <<<"$info" | tr '\n' ' ')"
  done
  overlap=0
  [ "${t_start[sft]}" -lt "${t_end[context_sft]}" ] && [ "${t_start[context_sft]}" -lt "${t_end[sft]}" ] && overlap=1
  if [ -s "$T/both_running" ] || [ $overlap = 1 ]; then
    ok "slurm_sft_and_context_sft_run_together (squeue saw both RUNNING: $([ -s "$T/both_running" ] && echo yes || echo no); times overlap: $overlap; $times)"
  else bad slurm_sft_and_context_sft_run_together "never RUNNING at the same time: $times"; fi
else
  touch "$T/par_done"; wait $poller
fi

# the same stamps as jobs/run-local.sh: `make run` sees the Slurm run as up to date, and back
out=$(bash jobs/run-local.sh $CFG --set run_dir=$R 2>&1)
n=$(grep -c ": up to date, skipped" <<<"$out")
[ "$n" = 9 ] && ok slurm_stamps_agree_with_run_local ||
  bad slurm_stamps_agree_with_run_local "run-local skipped $n of 9: $(grep '^==' <<<"$out" | head -n 3)"
out=$(jobs/submit.sh $CFG --set run_dir=$R 2>&1)
if grep -q "nothing to submit" <<<"$out" && [ "$(grep -c 'up to date, skipped' <<<"$out")" = 9 ]; then
  ok slurm_resubmit_up_to_date
else bad slurm_resubmit_up_to_date "$(grep -v skipped <<<"$out" | head -n 2)"; fi

# ---- --only annotate with a changed threshold: only annotate reruns ---------------------------
before=$(snapshot "$R" annotations); ann_before=$(snapshot "$R/annotations")
if run_chain slurm_only_annotate "$R" $CFG --set run_dir=$R --only annotate --set annotate.threshold=0.1; then
  th=$($PY -c "import h5py; print(h5py.File('$R/annotations/shard-00000.h5')['/'].attrs['threshold'])" 2>&1)
  if [ "$(submitted_steps)" != "annotate " ]; then bad slurm_only_annotate "submitted $(submitted_steps)"
  elif [ "$before" != "$(snapshot "$R" annotations)" ]; then
    bad slurm_only_annotate "other outputs changed: $(diff <(echo "$before") <(snapshot "$R" annotations) | head -n 2)"
  elif [ "$ann_before" = "$(snapshot "$R/annotations")" ]; then bad slurm_only_annotate "annotations unchanged"
  elif [ "$th" != 0.1 ]; then bad slurm_only_annotate "annotation threshold attribute '$th'"
  else ok "slurm_only_annotate (1 job; annotations rewritten with threshold $th, every other output unchanged)"; fi
fi
# dependents: --from annotate resubmits annotate and what follows; without --from, the stamps
# pick exactly the steps after the changed annotate
out=$(jobs/submit.sh $CFG --set run_dir=$R --from annotate --set annotate.threshold=0.1 --dry-run 2>&1)
got=$(sed -nE '/^== report:/d; s/^== ([a-z_]+): sbatch .*/\1/p' <<<"$out" | tr '\n' ' ')
[ "$got" = "annotate nextquill eval " ] && ok slurm_from_annotate_dry_run ||
  bad slurm_from_annotate_dry_run "would submit '$got'"
before=$(snapshot "$R" nextquill eval)
if run_chain slurm_dependents_rerun "$R" $CFG --set run_dir=$R --set annotate.threshold=0.1; then
  if [ "$(submitted_steps)" != "nextquill eval " ]; then bad slurm_dependents_rerun "submitted $(submitted_steps)"
  elif [ "$before" != "$(snapshot "$R" nextquill eval)" ]; then bad slurm_dependents_rerun "upstream outputs changed"
  else ok "slurm_dependents_rerun (nextquill, eval)"; fi
fi

# ---- a sweep: job arrays per point, one comparison table --------------------------------------
t0=$SECONDS
base_before=$(snapshot "$R")
if run_chain slurm_sweep "$R" $CFG --set run_dir=$R --set annotate.rule=top_fraction \
     --sweep annotate.top_fraction=0.1,0.3; then
  P0="$R/sweep/annotate.top_fraction=0.1" P1="$R/sweep/annotate.top_fraction=0.3"
  tf=$($PY -c "import h5py; print(*[h5py.File(f'{d}/annotations/shard-00000.h5')['/'].attrs['top_fraction'] for d in ['$P0', '$P1']])" 2>&1)
  rows=$(grep -cE '^\| [01] \| 0\.[13] \| ' "$R/sweep/summary.md" 2>/dev/null)
  why=""
  [ "$(submitted_steps)" = "annotate nextquill eval sweep " ] || why+=" submitted $(submitted_steps);"
  [ "$tf" = "0.1 0.3" ] || why+=" point top_fractions '$tf';"
  [ -L "$P0/lm" ] && [ -L "$P1/effects" ] && [ ! -L "$P0/nextquill" ] && [ -s "$P1/nextquill/model.h5" ] ||
    why+=" point dirs: $(ls -l "$P0" | tr '\n' ' ');"
  cmp -s "$P0/nextquill/model.h5" "$P1/nextquill/model.h5" && why+=" both points trained the same nextquill;"
  [ "$rows" -ge 4 ] || why+=" $rows table rows in sweep/summary.md;"
  [ "$base_before" = "$(snapshot "$R")" ] || why+=" the run directory's own outputs changed;"
  [ -z "$why" ] && ok "slurm_sweep (2 points x 3 arrays + table in $((SECONDS - t0)) s)" || bad slurm_sweep "$why"
  # one more value: only the new point (index 2) runs, then the table over all three
  out=$(jobs/submit.sh $CFG --set run_dir=$R --set annotate.rule=top_fraction \
          --sweep annotate.top_fraction=0.1,0.3,0.5 --dry-run 2>&1)
  arrays=$(grep -oE -- '--array=[^ ]+' <<<"$out" | sort | uniq -c | awk '{print $1, $2}')
  if [ "$arrays" = "3 --array=2" ] && grep "^== eval:" <<<"$out" | grep -q "aftercorr"; then
    ok slurm_sweep_extended_runs_only_new_point
  else bad slurm_sweep_extended_runs_only_new_point "arrays: $(echo $arrays)"; fi
fi

# ---- preemption: USR1 to the batch shell -> checkpoint -> requeue -> resume --------------------
PRE=("$CFG" --set "run_dir=$R" --set train.steps=400 --set train.ckpt_every=0 --set train.micro_batch=1
     --set train.accum=1 --set train.objective=sft --set train.valid_every=0)
t0=$SECONDS
J=$(sbatch --parsable --chdir="$PWD" -o "$T/pre-%j.out" jobs/nq-train.sbatch "${PRE[@]}" --set train.name=pre 2>&1)
# the uninterrupted twin waits with afterok: the dependency must survive the requeue
J2=$(sbatch --parsable --chdir="$PWD" -o "$T/ref-%j.out" --dependency=afterok:"$J" --kill-on-invalid-dep=yes \
     jobs/nq-train.sbatch "${PRE[@]}" --set train.name=ref 2>&1)
for i in $(seq 600); do grep -q "starting at step" "$T/pre-$J.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.2
scancel --signal=USR1 --batch "$J"
st=$(slurm_wait "$J" 180)
restarts=$(scontrol show job "$J" | sed -nE 's/.*Restarts=([0-9]+).*/\1/p')
log=$T/pre-$J.out
if [ "$st" = "$J COMPLETED" ] && [ "$restarts" = 1 ] && grep -q "got SIGUSR1: forwarding" "$log" &&
   grep -qE "checkpoint at step [0-9]+ written; exiting 75" "$log" && grep -q "requeueing job $J" "$log" &&
   grep -q "resuming .*ckpt-.* at step" "$log"; then
  ok "slurm_preempt_requeue_resume ($(grep -oE 'checkpoint at step [0-9]+' "$log"), requeued, resumed; $((SECONDS - t0)) s)"
  st=$(slurm_wait "$J2" 180)
  if [ "$st" = "$J2 COMPLETED" ] && out=$($PY $HERE/same_weights.py "$R/pre/model.h5" "$R/ref/model.h5" 2>&1); then
    ok "slurm_preempted_weights_equal_uninterrupted ($out; the afterok job after it ran once it completed)"
  else bad slurm_preempted_weights_equal_uninterrupted "$st: $out $(tail -n 2 "$T/ref-$J2.out" 2>/dev/null)"; fi
else
  bad slurm_preempt_requeue_resume "state '$st', restarts '$restarts': $(grep -E 'nq-job|signal|resum' "$log" 2>/dev/null | tail -n 4 | tr '\n' ' ')"
fi

# a plain scancel (SIGTERM) checkpoints and stays cancelled: no self-requeue
J3=$(sbatch --parsable --chdir="$PWD" -o "$T/can-%j.out" jobs/nq-train.sbatch "${PRE[@]}" --set train.name=can 2>&1)
for i in $(seq 600); do grep -q "starting at step" "$T/can-$J3.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.2
scancel "$J3"
st=$(slurm_wait "$J3" 60)
restarts=$(scontrol show job "$J3" | sed -nE 's/.*Restarts=([0-9]+).*/\1/p')
if [ "$st" = "$J3 CANCELLED" ] && [ "$restarts" = 0 ] && compgen -G "$R/can/ckpt-*.h5" > /dev/null &&
   [ ! -e "$R/can/model.h5" ]; then ok "slurm_cancel_checkpoints_and_stays_cancelled ($(ls "$R/can" | grep ckpt))"
else bad slurm_cancel_checkpoints_and_stays_cancelled "state '$st', restarts '$restarts', $(ls "$R/can" 2>&1 | tr '\n' ' ')"; fi

# ---- a stale upstream is refused, naming the stage to rerun ------------------------------------
# new shards (another shard count) under effects computed from the old ones: annotate refuses
if run_chain slurm_stale_prepare "$R" $CFG --set run_dir=$R --only shard --set shard.count=3; then
  out=$(jobs/submit.sh $CFG --set run_dir=$R --set shard.count=3 --only annotate 2>&1)
  id=$(sed -nE 's/^== annotate: job ([0-9]+).*/\1/p' <<<"$out")
  st=$(slurm_wait "${id:-0}" 60)
  if [ "$st" = "$id FAILED" ] && grep -q "rerun nq-effect" "$R/logs/annotate-$id.out"; then
    ok "slurm_stale_upstream_refused (annotate: $(grep -o "computed from another version.*rerun nq-effect" "$R/logs/annotate-$id.out" | head -n 1 | sed "s|/tmp/[^ ]*/||g"))"
  else bad slurm_stale_upstream_refused "annotate job '$id' $st: $(tail -n 2 "$R/logs/annotate-$id.out" 2>/dev/null)"; fi
  # without --only, the stamps rerun everything after the changed shard step
  out=$(jobs/submit.sh $CFG --set run_dir=$R --set shard.count=3 --dry-run 2>&1)
  got=$(sed -nE '/^== report:/d; s/^== ([a-z_]+): sbatch .*/\1/p' <<<"$out" | tr '\n' ' ')
  [ "$got" = "lm sft context_sft effect annotate nextquill eval " ] && ok slurm_stamps_rerun_after_changed_shard ||
    bad slurm_stamps_rerun_after_changed_shard "would submit '$got'"
fi

# ---- a failed job cancels the jobs waiting for it --------------------------------------------
# (the missing train.init breaks lm, the first training run; the 6 steps after it wait on it)
out=$(jobs/submit.sh $CFG --set run_dir=$R --set shard.count=3 --set train.init=no/such.h5 2>&1)
# (the report job waits with afterany: a failed chain still gets its page)
ids=$(sed -nE 's/^== [a-z_]+: job ([0-9]+).*/\1/p' <<<"$out" | tr '\n' ' ')
states=""
for id in $ids; do states+="$(slurm_wait "$id" 60 | awk '{print $2}') "; done
if [ "$states" = "FAILED CANCELLED CANCELLED CANCELLED CANCELLED CANCELLED CANCELLED COMPLETED " ] &&
   grep -q "^== lm: job" <<<"$out" && grep -q "^== report: job" <<<"$out"; then
  ok "slurm_failure_cancels_dependents (lm FAILED, 6 dependents CANCELLED, the report written)"
else bad slurm_failure_cancels_dependents "jobs '$ids': $states"; fi

echo "# slurm.sh: $((SECONDS - t_start)) s"
exit $failed
