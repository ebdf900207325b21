# The pipeline as data, shared by jobs/run-local.sh and jobs/submit.sh (source this file).
# Callers set NQ_CONFIG (the config file), NQ_SETS (array of user key=value overrides) and
# NQ_BIN (directory of the nq-* executables). Steps, in order:
#   [synth] shard <pipeline.train_runs...> eval      (synth: see nq_wants_synth)
# with effect and annotate inserted right after the run named by effect.reference_run.

nq_cfg() {  # nq_cfg ARGS... : nq-config on the experiment config with the user's overrides
  local sets=() s
  for s in "${NQ_SETS[@]}"; do sets+=(--set "$s"); done
  "$NQ_BIN/nq-config" "$NQ_CONFIG" "${sets[@]}" "$@"
}

# Whether the synth step belongs to the pipeline: pipeline.synth = "always" / "never", or
# "auto": only when nq-synth's output (synth.output, "" = {run_dir}/data/synth.jsonl) is
# among the corpus files (data.files, data.split_files.*). A config for one's own data
# never runs it.
nq_wants_synth() {
  local mode out
  mode=$(nq_cfg --get pipeline.synth) || return 2
  case $mode in always) return 0 ;; never) return 1 ;; esac
  out=$(nq_cfg --get synth.output) || return 2
  [ -n "$out" ] || out="{run_dir}/data/synth.jsonl"
  { nq_cfg --get data.files; nq_cfg --get data.split_files.train; nq_cfg --get data.split_files.valid
    nq_cfg --get data.split_files.test; } | grep -qxF -- "$out"
}

# Prints the step names, one per line.
nq_steps() {
  local runs ref r
  runs=$(nq_cfg --get pipeline.train_runs) || return 1
  ref=$(nq_cfg --get effect.reference_run) || return 1
  if nq_wants_synth; then echo synth; elif [ $? -eq 2 ]; then return 1; fi
  echo shard
  for r in $runs; do
    echo "$r"
    if [ "$r" = "$ref" ]; then echo effect; echo annotate; fi
  done
  echo eval
}

# The overrides of a training run (key=value words from pipeline.runs), one per line.
nq_run_overrides() {
  local name=$1 line n v
  while IFS=$'\t' read -r n v; do
    if [ "$n" = "$name" ]; then
      echo "train.name=$name"
      for line in $v; do echo "$line"; done
      return 0
    fi
  done < <(nq_cfg --get pipeline.runs)
  echo "train.name=$name"
}

# The stage executable of a step (nq-synth, nq-train, ...).
nq_step_stage() {
  case $1 in
    synth|shard|effect|annotate|eval) echo "nq-$1" ;;
    *) echo nq-train ;;
  esac
}

# Config sections a step reads, as its stage states them (common/pipeline/stages.c, through
# `nq-config --reads STAGE`): its stamp covers only these, so changing the eval section does
# not retrain anything.
nq_step_sections() {
  local stage
  stage=$(nq_step_stage "$1") || return 1
  "$NQ_BIN/nq-config" --reads "${stage#nq-}"
}

# All overrides of a step (user's, then the run's), one per line.
nq_step_sets() {
  local s
  for s in "${NQ_SETS[@]}"; do echo "$s"; done
  case $1 in
    synth|shard|effect|annotate|eval) ;;
    *) nq_run_overrides "$1" ;;
  esac
}

# Stamp of a step: digest of its stage, its sections' effective config and the previous
# step's stamp (the chain is linear: a change upstream reruns everything after it).
nq_step_stamp() {
  local step=$1 prev=$2 sets=() s
  while IFS= read -r s; do sets+=(--set "$s"); done < <(nq_step_sets "$step")
  { echo "$step $(nq_step_stage "$step") prev=$prev"
    "$NQ_BIN/nq-config" "$NQ_CONFIG" "${sets[@]}" --text "$(nq_step_sections "$step")"
  } | sha256sum | cut -c1-64
}
