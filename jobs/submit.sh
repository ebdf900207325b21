#!/usr/bin/env bash
# Submits an experiment to Slurm as a chain of jobs (the Slurm twin of jobs/run-local.sh):
#   jobs/submit.sh CONFIG [--from STEP] [--only STEP] [--set key=value]...
#                  [--sweep key=v1,v2,...]... [--sbatch OPTION]... [--sbatch-train OPTION]...
#                  [--seeds N] [--dry-run]
# Same graph, overrides and states (nq-config --steps: the stamps of pipeline/freshness.c) as
# run-local.sh: steps whose output is current are skipped, --from STEP reruns STEP and the steps
# that read its outputs, --only STEP reruns just STEP. Each step is one job (jobs/nq-<stage>.sbatch) with --dependency=afterok on the jobs of
# the steps it reads from (sft and context_sft both wait for lm only, and can run together).
# --sweep: the grid of all --sweep values; the steps whose config the sweep changes, and the
# steps reading their outputs, run as job arrays, one task per point, each point in
# <run_dir>/sweep/<point>/ (the other steps run once in <run_dir>); a last job writes
# <run_dir>/sweep/summary.md. The very last job writes the report page,
# <run_dir>/report/index.html (jobs/nq-report.sbatch), after all others, even failed ones.
# --sbatch OPTION goes to every sbatch (e.g. --sbatch --partition=cpu --sbatch --account=x),
# --sbatch-train OPTION to training jobs only (e.g. --sbatch-train --time=2-00:00:00).
# Logs: <run_dir>/logs/<step>-<jobid>.out (sweep arrays: <step>-<jobid>_<point index>.out).
# --seeds N: one chain per seed (seed, seed+1, ...; run_dir <run_dir>/seed-<s>), then a job
# (jobs/nq-seeds.sbatch, afterany on every chain) writes the summary across seeds,
# <run_dir>/seeds/<eval dir>/summary.md (build/nq-seeds; as run-local.sh --seeds).
# --dry-run prints the graph (which step waits for which) and the sbatch commands, submits nothing.
set -euo pipefail
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "submit.sh: $*" >&2; exit 2; }

NQ_CONFIG=""; NQ_SETS=(); FROM=""; ONLY=""; DRY=0; SWEEPS=(); SB_ALL=(); SB_TRAIN=(); SEEDS=""; ARGS0=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --from) FROM=${2:?--from needs a step}; shift 2 ;;
    --only) ONLY=${2:?--only needs a step}; shift 2 ;;
    --set) NQ_SETS+=("${2:?--set needs key=value}"); shift 2 ;;
    --sweep) SWEEPS+=("${2:?--sweep needs key=v1,v2,...}"); shift 2 ;;
    --sbatch) SB_ALL+=("${2:?--sbatch needs an sbatch option}"); shift 2 ;;
    --sbatch-train) SB_TRAIN+=("${2:?--sbatch-train needs an sbatch option}"); shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --seeds) SEEDS=${2:?--seeds needs a number}; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "submit.sh: unknown option '$1'" >&2; usage ;;
    *) [ -z "$NQ_CONFIG" ] || { echo "submit.sh: unexpected argument '$1'" >&2; usage; }
       NQ_CONFIG=$1; shift ;;
  esac
done
[ -n "$NQ_CONFIG" ] || usage
[ -f "$NQ_CONFIG" ] || die "config '$NQ_CONFIG' not found"
CONFIG_ARG=$NQ_CONFIG
NQ_CONFIG=$(realpath "$NQ_CONFIG")
cd "$(dirname "$0")/.."
ROOT=$(pwd)
NQ_BIN=${NQ_BIN:-build}
[ -x "$NQ_BIN/nq-config" ] || die "$NQ_BIN/nq-config not found; run make build"
. jobs/pipeline.sh

if [ -n "$SEEDS" ]; then   # one chain per seed (this script without --seeds), then the summary
  [[ "$SEEDS" =~ ^[1-9][0-9]*$ ]] || die "--seeds needs a positive number"
  [ ${#SWEEPS[@]} = 0 ] || die "--seeds and --sweep do not combine"
  rest=(); skip=0
  for a in "${ARGS0[@]}"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    [ "$a" = --seeds ] && { skip=1; continue; }
    [ "$a" = "$CONFIG_ARG" ] && { a=$NQ_CONFIG; CONFIG_ARG=""; }   # the config, absolute now
    rest+=("$a")
  done
  nq_seed_dirs "$SEEDS" || die "cannot read the config"
  all=()
  for i in "${!NQ_SEED_LIST[@]}"; do
    echo "==== seed ${NQ_SEED_LIST[$i]}: run_dir ${NQ_SEED_DIRS[$i]}"
    out=$("$0" "${rest[@]}" --set "seed=${NQ_SEED_LIST[$i]}" --set "run_dir=${NQ_SEED_DIRS[$i]}") || { echo "$out"; exit 1; }
    echo "$out"
    ids=$(sed -n 's/^== submitted [0-9]* jobs: //p' <<<"$out")
    for x in $ids; do all+=("${x#*=}"); done
  done
  sets=(); for s in "${NQ_SETS[@]}"; do sets+=(--set "$s"); done
  sb=(sbatch --parsable --chdir="$ROOT" --job-name=nq-seeds --ntasks=1 --open-mode=append
      --output="$(realpath -m "$NQ_SEEDS_OUT")/seeds-%j.out" "${SB_ALL[@]}")
  [ ${#all[@]} = 0 ] || sb+=(--dependency="afterany$(printf ':%s' "${all[@]}")")
  sb+=(jobs/nq-seeds.sbatch "$NQ_CONFIG" "$SEEDS" "${sets[@]}")
  if [ $DRY = 1 ]; then echo "== seeds: $(printf '%q ' "${sb[@]}")"; exit 0; fi
  mkdir -p "$NQ_SEEDS_OUT"
  job=$("${sb[@]}") || die "sbatch of the seeds summary failed"
  echo "== seeds: job ${job%%;*}: summary across ${SEEDS} seeds in $NQ_SEEDS_OUT/<eval dir>/summary.md"
  exit 0
fi

nq_graph_load || die "cannot read the pipeline from $NQ_CONFIG"
steps=$(nq_steps)
for s in $FROM $ONLY; do
  grep -qx -- "$s" <<<"$steps" || die "no step '$s' (steps: $(echo $steps))"
done
run_dir=$(nq_cfg --get run_dir)
run_dir=$(realpath -m "$run_dir")
nq_no_links "$run_dir" || exit 2
np=$(nq_cfg --get pipeline.ranks)

# ---- the sweep grid ---------------------------------------------------------------------
keys=(); points=()   # points[i] = tab-separated key=value overrides
if [ ${#SWEEPS[@]} -gt 0 ]; then
  points=("")
  for sw in "${SWEEPS[@]}"; do
    [[ $sw == *=* ]] || die "--sweep '$sw': expected key=v1,v2,..."
    k=${sw%%=*}; vals=${sw#*=}
    case $k in
      run_dir|name|train.name|pipeline.*) die "--sweep $k: this key cannot be swept" ;;
    esac
    for kk in "${keys[@]}"; do [ "$kk" != "$k" ] || die "--sweep $k given twice"; done
    keys+=("$k")
    IFS=, read -r -a vs <<<"$vals"
    [ ${#vs[@]} -gt 0 ] || die "--sweep $k: no values"
    new=()
    for p in "${points[@]}"; do
      for v in "${vs[@]}"; do
        [ -n "$v" ] || die "--sweep $k: empty value"
        nq_cfg --set "$k=$v" --get "$k" > /dev/null || die "--sweep $k=$v: invalid (see above)"
        new+=("${p:+$p$'\t'}$k=$v")
      done
    done
    points=("${new[@]}")
  done
fi
n_points=${#points[@]}
point_dir() {  # readable and stable: <run_dir>/sweep/key=value,key=value
  local name=${points[$1]//$'\t'/,}
  echo "$run_dir/sweep/${name//\//_}"
}
point_sets() {  # overrides of point i, one per line (run_dir first)
  echo "run_dir=$(point_dir "$1")"
  tr '\t' '\n' <<<"${points[$1]}"
}

# Stamps and states at each sweep point (its overrides apply after each run's own: the swept
# value wins). A step runs per point when its stamp differs from the unswept one at some point:
# the steps whose config the sweep changes and every step that reads their outputs; the others
# run once.
declare -A PSTAMP PSTATE SWEPT   # PSTAMP["i step"], PSTATE["i step"]; SWEPT[step]=1
swept_list=""
if [ "$n_points" -gt 0 ]; then
  for ((i = 0; i < n_points; i++)); do
    pa=()
    while IFS= read -r s; do pa+=(--set-after "$s"); done < <(point_sets "$i")
    out=$(nq_cfg "${pa[@]}" --steps) || die "cannot read the pipeline at sweep point $i"
    while IFS=$'\t' read -r name _ _ stamp _ _ state; do
      PSTAMP["$i $name"]=$stamp
      PSTATE["$i $name"]=$state
      [ "$stamp" = "${NQ_STAMP[$name]}" ] || SWEPT[$name]=1
    done <<<"$out"
  done
  for step in $steps; do [ -z "${SWEPT[$step]:-}" ] || swept_list+="${swept_list:+ }$step"; done
  [ -n "$swept_list" ] || die "the --sweep values change no step's config (nothing to sweep)"
fi

# ---- submission -------------------------------------------------------------------------
JOBS=(); NAMES=()
submit() {  # STEP STAGE DEPENDENCY SBATCH_ARGS... -- JOB_ARGS... ; sets JOB
  local step=$1 stage=$2 dep=$3; shift 3
  local sb=(sbatch --parsable --chdir="$ROOT" --job-name="nq-$step" --kill-on-invalid-dep=yes
            --open-mode=append)
  while [ "$1" != -- ]; do sb+=("$1"); shift; done; shift
  [ -z "$dep" ] || sb+=(--dependency="$dep")
  sb+=("${SB_ALL[@]}")
  [ "$stage" != nq-train ] || sb+=("${SB_TRAIN[@]}")
  sb+=("jobs/$stage.sbatch" "$@")
  if [ $DRY = 1 ]; then
    echo "== $step: $(printf '%q ' "${sb[@]}")"
    JOB="<$step>"
  else
    local out
    if ! out=$("${sb[@]}" 2>&1); then
      echo "submit.sh: sbatch for step '$step' failed: $out" >&2
      if [ ${#JOBS[@]} -gt 0 ]; then
        echo "submit.sh: cancelling the jobs submitted so far: ${JOBS[*]}" >&2
        scancel "${JOBS[@]}" || true
      fi
      exit 1
    fi
    JOB=${out%%;*}
    echo "== $step: job $JOB${dep:+ ($dep)}"
  fi
  JOBS+=("$JOB"); NAMES+=("$step=$JOB")
}

step_set_args() {  # fills ARGS with --set lines of a step (user's + run's; a point's come from points.tsv)
  ARGS=()
  local s
  while IFS= read -r s; do ARGS+=(--set "$s"); done < <(nq_step_sets "$1")
}

index_ranges() {  # 0 1 2 5 -> 0-2,5 (sbatch --array syntax)
  local ranges="" lo="" hi="" i
  for i in "$@"; do
    if [ -z "$lo" ]; then lo=$i; hi=$i
    elif [ "$i" = $((hi + 1)) ]; then hi=$i
    else ranges+="${ranges:+,}$lo"; [ "$lo" = "$hi" ] || ranges+="-$hi"; lo=$i; hi=$i; fi
  done
  ranges+="${ranges:+,}$lo"; [ "$lo" = "$hi" ] || ranges+="-$hi"
  echo "$ranges"
}

points_file=$run_dir/sweep/points.tsv
base_stamps=$(nq_cfg --path stamps); base_stamps=$(realpath -m "$base_stamps")
prepare_points() {  # point directories: links to the outputs (and their stamp records) of the steps run once
  local i d st o
  mkdir -p "$run_dir/sweep"
  : > "$points_file.tmp"
  for ((i = 0; i < n_points; i++)); do
    d=$(point_dir "$i")
    stamps=$(nq_cfg --set "run_dir=$d" --path stamps)
    mkdir -p "$d/logs"
    printf '%s\t%s\n' "$i" "$(point_sets "$i" | paste -sd $'\t')" >> "$points_file.tmp"
    for st in $steps; do
      for o in ${NQ_WRITES[$st]}; do
        if [ -z "${SWEPT[$st]:-}" ]; then
          if [ -e "$d/$o" ] && [ ! -L "$d/$o" ]; then
            die "$d/$o is not a link to $run_dir/$o (left by an earlier sweep that ran $st per point); remove it"
          fi
          mkdir -p "$(dirname "$d/$o")" "$(dirname "$stamps/$o")"
          ln -sfn "$(realpath -m --relative-to="$(dirname "$d/$o")" "$run_dir/$o")" "$d/$o"
          ln -sfn "$(realpath -m --relative-to="$(dirname "$stamps/$o")" "$base_stamps/$o")" "$stamps/$o"
        elif [ -L "$d/$o" ]; then
          rm -f "$d/$o" "$stamps/$o"   # now made per point: never write through a link into <run_dir>
        fi
      done
    done
  done
  mv "$points_file.tmp" "$points_file"
}

[ $DRY = 1 ] || mkdir -p "$run_dir/logs"
[ $DRY = 1 ] || [ "$n_points" = 0 ] || prepare_points
[ "$n_points" = 0 ] || echo "== sweep: $n_points points over ${keys[*]}; per point: $swept_list (in $run_dir/sweep/)"
[ $DRY = 0 ] || nq_graph_print

# Each step waits (afterok) for the jobs submitted here of the steps it reads from; an array
# waits task by task (aftercorr) for an array over the same points. A step runs when forced
# (--from, --only), when a step it reads from runs, or when its output is not current.
declare -A JOBOF ARRAYOF RERUN   # step -> job id, step -> array indices, step -> ran here
declare -A PRERUN                # "i step" -> point i reruns step
for step in $steps; do
  stage=$(nq_step_stage "$step")
  need=0
  [ "$step" = "$FROM" ] && need=1
  [ "$step" = "$ONLY" ] && need=1
  for d in ${NQ_AFTER[$step]}; do [ -z "${RERUN[$d]:-}" ] || need=1; done
  if [ -n "${SWEPT[$step]:-}" ]; then
    # per point: the array holds the points that need the step
    idx=()
    for ((i = 0; i < n_points; i++)); do
      pneed=$need
      for d in ${NQ_AFTER[$step]}; do [ -z "${PRERUN["$i $d"]:-}" ] || pneed=1; done
      [ "${PSTATE["$i $step"]}" = current ] || pneed=1
      [ $pneed = 0 ] || idx+=("$i")
    done
    [ -n "$ONLY" ] && [ "$step" != "$ONLY" ] && idx=()
    [ ${#idx[@]} = 0 ] || need=1
  else
    [ "${NQ_STATE[$step]}" = current ] || need=1
  fi
  if [ -n "$ONLY" ] && [ "$step" != "$ONLY" ]; then continue; fi
  if [ $need = 0 ]; then echo "== $step: up to date, skipped"; continue; fi
  step_set_args "$step"
  forced=()   # made again whole (nq-effect keeps an interrupted run's files otherwise)
  [ "$step" = "$FROM" ] || [ "$step" = "$ONLY" ] && forced=(--nq-forced)
  for d in ${NQ_AFTER[$step]}; do [ -z "${RERUN[$d]:-}" ] || forced=(--nq-forced); done
  list=""; [ -z "${SWEPT[$step]:-}" ] || list=$(index_ranges "${idx[@]}")
  ok_jobs=""; corr_jobs=""
  for d in ${NQ_AFTER[$step]}; do
    [ -n "${JOBOF[$d]:-}" ] || continue
    if [ -n "$list" ] && [ "${ARRAYOF[$d]:-}" = "$list" ]; then corr_jobs+=":${JOBOF[$d]}"
    else ok_jobs+=":${JOBOF[$d]}"; fi
  done
  dep=${ok_jobs:+afterok$ok_jobs}
  [ -z "$corr_jobs" ] || dep+="${dep:+,}aftercorr$corr_jobs"
  if [ -n "$list" ]; then
    submit "$step" "$stage" "$dep" --ntasks="$np" --array="$list" \
      --output="$run_dir/logs/$step-%A_%a.out" -- \
      "$NQ_CONFIG" "${ARGS[@]}" --nq-points "$points_file" "${forced[@]}"
    ARRAYOF[$step]=$list
    for i in "${idx[@]}"; do PRERUN["$i $step"]=1; done
  else
    submit "$step" "$stage" "$dep" --ntasks="$np" \
      --output="$run_dir/logs/$step-%j.out" -- \
      "$NQ_CONFIG" "${ARGS[@]}" "${forced[@]}"
    RERUN[$step]=1  # its outputs are new: the steps reading them rerun too
  fi
  JOBOF[$step]=$JOB
done

if [ "$n_points" -gt 0 ]; then
  # afterany: the table still shows the points that finished (the job fails naming the others)
  dep=""; [ ${#JOBS[@]} = 0 ] || dep="afterany$(printf ':%s' "${JOBS[@]}")"
  submit sweep nq-sweep "$dep" --ntasks=1 \
    --output="$run_dir/logs/sweep-%j.out" -- "$points_file"
fi

# last job: the report page (nq-report) of what exists, even after a failed step (afterany)
if [ ${#JOBS[@]} -gt 0 ]; then
  rsets=(); for s in "${NQ_SETS[@]}"; do rsets+=(--set "$s"); done
  submit report nq-report "afterany$(printf ':%s' "${JOBS[@]}")" --ntasks=1 \
    --output="$run_dir/logs/report-%j.out" -- "$NQ_CONFIG" "${rsets[@]}"
fi

if [ ${#JOBS[@]} = 0 ]; then
  echo "== nothing to submit: every step is up to date in $run_dir (--from STEP reruns)"
  exit 0
fi
[ $DRY = 1 ] && exit 0
ids=$(IFS=,; echo "${JOBS[*]}")
echo "== submitted ${#JOBS[@]} jobs: ${NAMES[*]}"
echo "== watch: squeue -j $ids -o '%.14i %.16j %.10T %.10M %R'"
echo "== logs:  $run_dir/logs/<step>-<jobid>.out"
if [ "$n_points" -gt 0 ]; then echo "== table: $run_dir/sweep/summary.md"
else echo "== table: $run_dir/eval/summary.md"; fi
echo "== report: $run_dir/report/index.html (the last job)"
