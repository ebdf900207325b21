#!/usr/bin/env bash
# Submits an experiment to Slurm as a chain of jobs (the Slurm twin of jobs/run-local.sh):
#   jobs/submit.sh CONFIG [--from STEP] [--only STEP] [--set key=value]...
#                  [--sweep key=v1,v2,...]... [--sbatch OPTION]... [--sbatch-train OPTION]...
#                  [--dry-run]
# Same steps, overrides and stamps (<run_dir>/stamps/) as run-local.sh: up-to-date steps are
# skipped, --from STEP reruns STEP and everything after it, --only STEP reruns just STEP. Each
# step is one job (jobs/nq-<stage>.sbatch) with --dependency=afterok on the previous one.
# --sweep: the grid of all --sweep values; steps from the first one whose config the sweep
# changes run as job arrays, one task per point, each point in <run_dir>/sweep/<point>/ (the
# steps before run once in <run_dir>); a last job writes <run_dir>/sweep/summary.md. The very
# last job writes the report page, <run_dir>/report/index.html (jobs/nq-report.sbatch).
# --sbatch OPTION goes to every sbatch (e.g. --sbatch --partition=cpu --sbatch --account=x),
# --sbatch-train OPTION to training jobs only (e.g. --sbatch-train --time=2-00:00:00).
# Logs: <run_dir>/logs/<step>-<jobid>.out (sweep arrays: <step>-<jobid>_<point index>.out).
# --dry-run prints the sbatch commands and submits nothing.
set -euo pipefail
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "submit.sh: $*" >&2; exit 2; }

NQ_CONFIG=""; NQ_SETS=(); FROM=""; ONLY=""; DRY=0; SWEEPS=(); SB_ALL=(); SB_TRAIN=()
while [ $# -gt 0 ]; do
  case $1 in
    --from) FROM=${2:?--from needs a step}; shift 2 ;;
    --only) ONLY=${2:?--only needs a step}; shift 2 ;;
    --set) NQ_SETS+=("${2:?--set needs key=value}"); shift 2 ;;
    --sweep) SWEEPS+=("${2:?--sweep needs key=v1,v2,...}"); shift 2 ;;
    --sbatch) SB_ALL+=("${2:?--sbatch needs an sbatch option}"); shift 2 ;;
    --sbatch-train) SB_TRAIN+=("${2:?--sbatch-train needs an sbatch option}"); shift 2 ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "submit.sh: unknown option '$1'" >&2; usage ;;
    *) [ -z "$NQ_CONFIG" ] || { echo "submit.sh: unexpected argument '$1'" >&2; usage; }
       NQ_CONFIG=$1; shift ;;
  esac
done
[ -n "$NQ_CONFIG" ] || usage
[ -f "$NQ_CONFIG" ] || die "config '$NQ_CONFIG' not found"
NQ_CONFIG=$(realpath "$NQ_CONFIG")
cd "$(dirname "$0")/.."
ROOT=$(pwd)
NQ_BIN=${NQ_BIN:-build}
[ -x "$NQ_BIN/nq-config" ] || die "$NQ_BIN/nq-config not found; run make build"
. jobs/pipeline.sh

# A sweep point's overrides come after the run's own (pipeline.runs): the swept value wins.
# Wrapping nq_step_sets makes nq_step_stamp see them too, so stamps match what the job runs.
NQ_POINT_SETS=()
eval "nq_base_$(declare -f nq_step_sets)"
nq_step_sets() { nq_base_nq_step_sets "$@"; local s; for s in "${NQ_POINT_SETS[@]}"; do echo "$s"; done; }

steps=$(nq_steps) || die "cannot read the pipeline from $NQ_CONFIG"
for s in $FROM $ONLY; do
  grep -qx -- "$s" <<<"$steps" || die "no step '$s' (steps: $(echo $steps))"
done
run_dir=$(nq_cfg --get run_dir)
run_dir=$(realpath -m "$run_dir")
np=$(nq_cfg --get pipeline.ranks)

# Files a step writes under its run directory (what a sweep point links from <run_dir>).
step_outputs() {
  case $1 in
    synth) echo data ;;
    shard) echo shards tokenizer.json ;;
    effect) echo effects ;;
    annotate) echo annotations ;;
    eval) echo eval ;;
    *) echo "$1" ;;
  esac
}

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

step_text() {  # digest of a step's sections with its overrides (NQ_POINT_SETS included)
  local a=() s
  while IFS= read -r s; do a+=(--set "$s"); done < <(nq_step_sets "$1")
  "$NQ_BIN/nq-config" "$NQ_CONFIG" "${a[@]}" --text "$(nq_step_sections "$1")" | sha256sum
}

# First step whose effective config (its sections) differs from the unswept one at some point:
# it and every later step run per point; the steps before run once.
first_swept=""
if [ "$n_points" -gt 0 ]; then
  for step in $steps; do
    NQ_POINT_SETS=()
    base_text=$(step_text "$step")
    for ((i = 0; i < n_points; i++)); do
      mapfile -t NQ_POINT_SETS < <(point_sets "$i")
      [ "$(step_text "$step")" = "$base_text" ] || { first_swept=$step; break; }
    done
    NQ_POINT_SETS=()
    [ -z "$first_swept" ] || break
  done
  [ -n "$first_swept" ] || die "the --sweep values change no step's config (nothing to sweep)"
fi

# ---- submission -------------------------------------------------------------------------
JOBS=(); NAMES=()
submit() {  # STEP STAGE DEP_TYPE DEP_JOB SBATCH_ARGS... -- JOB_ARGS... ; sets JOB
  local step=$1 stage=$2 dtype=$3 dep=$4; shift 4
  local sb=(sbatch --parsable --chdir="$ROOT" --job-name="nq-$step" --kill-on-invalid-dep=yes
            --open-mode=append)
  while [ "$1" != -- ]; do sb+=("$1"); shift; done; shift
  [ -z "$dep" ] || sb+=(--dependency="$dtype:$dep")
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
    echo "== $step: job $JOB${dep:+ ($dtype:$dep)}"
  fi
  JOBS+=("$JOB"); NAMES+=("$step=$JOB")
}

step_set_args() {  # fills ARGS with --set lines of a step (user's + run's, no sweep point)
  ARGS=()
  local s
  while IFS= read -r s; do ARGS+=(--set "$s"); done < <(NQ_POINT_SETS=(); nq_step_sets "$1")
}

stamp_ok() {  # DIR STEP STAMP: the stamp file matches
  [ -f "$1/stamps/$2" ] && [ "$(cat "$1/stamps/$2")" = "$3" ]
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
prepare_points() {  # point directories: links to the outputs of the steps run once
  local i d st o once=1
  mkdir -p "$run_dir/sweep"
  : > "$points_file.tmp"
  for ((i = 0; i < n_points; i++)); do
    d=$(point_dir "$i")
    mkdir -p "$d/stamps" "$d/logs"
    printf '%s\t%s\n' "$i" "$(point_sets "$i" | paste -sd $'\t')" >> "$points_file.tmp"
    once=1
    for st in $steps; do
      [ "$st" = "$first_swept" ] && once=0
      for o in $(step_outputs "$st"); do
        if [ $once = 1 ]; then
          if [ -e "$d/$o" ] && [ ! -L "$d/$o" ]; then
            die "$d/$o is not a link to $run_dir/$o (left by an earlier sweep that ran $st per point); remove it"
          fi
          ln -sfn "../../$o" "$d/$o"
        elif [ -L "$d/$o" ]; then
          rm -f "$d/$o"   # now made per point: never write through a link into <run_dir>
        fi
      done
    done
  done
  mv "$points_file.tmp" "$points_file"
}

[ $DRY = 1 ] || mkdir -p "$run_dir/logs" "$run_dir/stamps"
[ $DRY = 1 ] || [ "$n_points" = 0 ] || prepare_points
[ "$n_points" = 0 ] || echo "== sweep: $n_points points over ${keys[*]}; per point from step '$first_swept' on (in $run_dir/sweep/)"

prev=none; forced=0; per_point=0; last=""; last_array=""
pprev=(); pforced=()
for step in $steps; do
  NQ_POINT_SETS=()
  stamp=$(nq_step_stamp "$step" "$prev")
  if [ "$step" = "$first_swept" ]; then
    per_point=1
    for ((i = 0; i < n_points; i++)); do pprev[i]=$prev; pforced[i]=$forced; done
  fi
  prev=$stamp
  stage=$(nq_step_stage "$step")
  [ "$step" = "$FROM" ] && forced=1
  need=$forced; [ "$step" = "$ONLY" ] && need=1
  if [ $per_point = 1 ]; then
    # per point: a point reruns a step when forced, when its stamp differs, or when it reran an
    # earlier step; the array holds only those points
    pstamps=(); idx=()
    for ((i = 0; i < n_points; i++)); do
      mapfile -t NQ_POINT_SETS < <(point_sets "$i")
      pstamps[i]=$(nq_step_stamp "$step" "${pprev[i]}")
      pprev[i]=${pstamps[i]}
      if [ $need = 1 ] || [ "${pforced[i]}" = 1 ] || ! stamp_ok "$(point_dir "$i")" "$step" "${pstamps[i]}"; then
        idx+=("$i")
      fi
    done
    NQ_POINT_SETS=()
    [ -n "$ONLY" ] && [ "$step" != "$ONLY" ] && idx=()
    [ ${#idx[@]} = 0 ] || need=1
  else
    stamp_ok "$run_dir" "$step" "$stamp" || need=1
  fi
  if [ -n "$ONLY" ] && [ "$step" != "$ONLY" ]; then continue; fi
  if [ $need = 0 ]; then echo "== $step: up to date, skipped"; continue; fi
  step_set_args "$step"
  dtype=afterok
  if [ $per_point = 1 ]; then
    list=$(index_ranges "${idx[@]}")
    # task i waits for task i of the previous array when both arrays hold the same points;
    # otherwise for the whole previous job
    [ "$last_array" = "$list" ] && dtype=aftercorr
    if [ $DRY = 0 ]; then
      for i in "${idx[@]}"; do rm -f "$(point_dir "$i")/stamps/$step"; done
    fi
    submit "$step" "$stage" "$dtype" "$last" --ntasks="$np" --array="$list" \
      --output="$run_dir/logs/$step-%A_%a.out" -- \
      "$NQ_CONFIG" "${ARGS[@]}" --nq-step "$step" \
      --nq-stamp "$(IFS=,; echo "${pstamps[*]}")" --nq-points "$points_file"
    last_array=$list
    for i in "${idx[@]}"; do pforced[i]=1; done
  else
    [ $DRY = 1 ] || rm -f "$run_dir/stamps/$step"
    submit "$step" "$stage" "$dtype" "$last" --ntasks="$np" \
      --output="$run_dir/logs/$step-%j.out" -- \
      "$NQ_CONFIG" "${ARGS[@]}" --nq-step "$step" --nq-stamp "$stamp"
    last_array=""
    forced=1  # a rerun step's outputs are new: everything after it reruns too
  fi
  last=$JOB
done

if [ "$n_points" -gt 0 ]; then
  # afterany: the table still shows the points that finished (the job fails naming the others)
  submit sweep nq-sweep afterany "$last" --ntasks=1 --output="$run_dir/logs/sweep-%j.out" -- \
    "$points_file"
fi

# last job: the report page (nq-report) of what exists, even after a failed step (afterany)
if [ ${#JOBS[@]} -gt 0 ]; then
  rsets=(); for s in "${NQ_SETS[@]}"; do rsets+=(--set "$s"); done
  submit report nq-report afterany "$JOB" --ntasks=1 --output="$run_dir/logs/report-%j.out" -- \
    "$NQ_CONFIG" "${rsets[@]}"
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
