#!/usr/bin/env bash
# Runs an experiment end to end on this machine with mpirun (what `make run` does):
#   jobs/run-local.sh CONFIG [--from STEP] [--only STEP] [--set key=value]... [--np N] [--seeds N]
# Steps: the graph of `nq-config CONFIG --steps` (jobs/pipeline.sh), run one at a time in its
# order. A step whose output is current (its stamp record matches its config and inputs: the
# state column of nq-config --steps) is skipped; --from STEP reruns STEP and every step that
# reads its outputs (directly or not);
# --only STEP reruns just STEP. Per-step logs: <run_dir>/logs/<step>.log. Ends with nq-report's
# page (<run_dir>/report/index.html). --seeds N: the whole experiment once per seed (seed,
# seed+1, ...) in <run_dir>/seed-<s>/, one after another, then build/nq-seeds writes the summary
# across seeds of every nq-eval step's table to <run_dir>/seeds/<eval dir>/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

NQ_CONFIG=""; NQ_SETS=(); FROM=""; ONLY=""; NP=""; SEEDS=""; ARGS=("$@")
NQ_BIN=${NQ_BIN:-build}
while [ $# -gt 0 ]; do
  case $1 in
    --from) FROM=${2:?--from needs a step}; shift 2 ;;
    --only) ONLY=${2:?--only needs a step}; shift 2 ;;
    --set) NQ_SETS+=("${2:?--set needs key=value}"); shift 2 ;;
    --np) NP=${2:?--np needs a number}; shift 2 ;;
    --seeds) SEEDS=${2:?--seeds needs a number}; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "run-local.sh: unknown option '$1'" >&2; usage ;;
    *) [ -z "$NQ_CONFIG" ] || { echo "run-local.sh: unexpected argument '$1'" >&2; usage; }
       NQ_CONFIG=$1; shift ;;
  esac
done
[ -n "$NQ_CONFIG" ] || usage
[ -f "$NQ_CONFIG" ] || { echo "run-local.sh: config '$NQ_CONFIG' not found" >&2; exit 2; }
. jobs/pipeline.sh

if [ -n "$SEEDS" ]; then   # each seed: this script without --seeds, in its own run directory
  [[ "$SEEDS" =~ ^[1-9][0-9]*$ ]] || { echo "run-local.sh: --seeds needs a positive number" >&2; exit 2; }
  rest=(); skip=0
  for a in "${ARGS[@]}"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    [ "$a" = --seeds ] && { skip=1; continue; }
    rest+=("$a")
  done
  nq_seed_dirs "$SEEDS" || exit 2
  for i in "${!NQ_SEED_LIST[@]}"; do
    s=${NQ_SEED_LIST[$i]}
    echo "==== seed $s: $(dirname "$0")/run-local.sh ${rest[*]} --set seed=$s --set run_dir=${NQ_SEED_DIRS[$i]}"
    "$0" "${rest[@]}" --set "seed=$s" --set "run_dir=${NQ_SEED_DIRS[$i]}" || exit 1
  done
  nq_seeds_summary
  exit
fi

nq_graph_load || exit 2
steps=$(nq_steps)
for s in $FROM $ONLY; do
  grep -qx -- "$s" <<<"$steps" || { echo "run-local.sh: no step '$s' (steps: $(echo $steps))" >&2; exit 2; }
done
run_dir=$(nq_cfg --get run_dir)
[ -n "$NP" ] || NP=$(nq_cfg --get pipeline.ranks)
nq_no_links "$run_dir" || exit 2
mkdir -p "$run_dir/logs"
MPI=(mpirun -np "$NP")
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# (Open MPI's flag; MPICH's mpiexec places more ranks than cores without being asked)
[ "$NP" -gt "$(nproc)" ] && mpirun --version 2>&1 | grep -q "Open MPI" && MPI+=(--oversubscribe)
[ -t 1 ] || export NQ_PROGRESS_TTY=0   # plain progress lines when the output is a log file

t_all=$(date +%s)
declare -A RERUN   # steps run here: the steps that read their outputs run too
for step in $steps; do
  forced=0
  [ "$step" = "$FROM" ] && forced=1
  for d in ${NQ_AFTER[$step]}; do [ -z "${RERUN[$d]:-}" ] || forced=1; done
  if [ -n "$ONLY" ] && [ "$step" != "$ONLY" ]; then continue; fi
  if [ $forced = 0 ] && [ -z "$ONLY" ] && [ "${NQ_STATE[$step]}" = current ]; then
    echo "== $step: up to date, skipped"; continue
  fi
  sets=()
  while IFS= read -r s; do sets+=(--set "$s"); done < <(nq_step_sets "$step")
  # a step run here is made again (--force replaces outputs of another config); nq-effect, when
  # only its own output is not current, keeps the files an interrupted run of its stamp finished
  force=(--force)
  [ $forced = 0 ] && [ -z "$ONLY" ] && [ "$(nq_step_stage "$step")" = nq-effect ] && force=()
  cmd=("${MPI[@]}" "$NQ_BIN/$(nq_step_stage "$step")" "$NQ_CONFIG" "${sets[@]}" "${force[@]}")
  echo "== $step: ${cmd[*]}"
  t0=$(date +%s)
  if ! "${cmd[@]}" 2>&1 | tee "$run_dir/logs/$step.log"; then
    # mpirun that got the SIGTERM itself exits 1 although nq-train checkpointed and exited 75:
    # the ranks' own line decides, so a scheduler sees 75 (requeue) either way
    if grep -q "checkpoint at step [0-9]* written; exiting 75" "$run_dir/logs/$step.log"; then
      echo "run-local.sh: step '$step' checkpointed after a signal; exiting 75 (EX_TEMPFAIL, as nq-train did)" >&2
      exit 75
    fi
    echo "run-local.sh: step '$step' failed (log: $run_dir/logs/$step.log); rerun with --from $step" >&2
    exit 1
  fi
  echo "== $step: done in $(( $(date +%s) - t0 )) s"
  RERUN[$step]=1  # its outputs are new: the steps reading them rerun too
done
echo "== all steps done in $(( $(date +%s) - t_all )) s; run directory: $run_dir"
if [ -f "$run_dir/eval/summary.md" ]; then echo; cat "$run_dir/eval/summary.md"; fi
# last: the report page of what exists (nq-report, docs/report.md; a few seconds, always rewritten)
rsets=(); for s in "${NQ_SETS[@]}"; do rsets+=(--set "$s"); done
if "$NQ_BIN/nq-report" "$NQ_CONFIG" "${rsets[@]}" > "$run_dir/logs/report.log" 2>&1; then
  echo; echo "== report: $(sed -n 's/^report: //p' "$run_dir/logs/report.log")"
else
  echo "run-local.sh: nq-report failed (log: $run_dir/logs/report.log)" >&2; exit 1
fi
