# The pipeline as a graph, shared by jobs/run-local.sh and jobs/submit.sh (source this file).
# Callers set NQ_CONFIG (the config file), NQ_SETS (array of user key=value overrides) and
# NQ_BIN (directory of the nq-* executables). The graph is declared once, in C
# (common/pipeline/steps.c): each step's stage, the paths it reads and writes, hence the steps
# it waits for; and whether its output is current is the stamps' answer (one rule, in C:
# common/pipeline/freshness.c; each stage records its stamp when it succeeds).
# `nq-config CONFIG --steps` prints both; nq_graph_load reads them here.

nq_cfg() {  # nq_cfg ARGS... : nq-config on the experiment config with the user's overrides
  local sets=() s
  for s in "${NQ_SETS[@]}"; do sets+=(--set "$s"); done
  "$NQ_BIN/nq-config" "$NQ_CONFIG" "${sets[@]}" "$@"
}

# nq_graph_load [--set-after key=value]... : fills NQ_STEPS (names in an order where each step
# follows those it waits for) and, per step, NQ_STAGE, NQ_AFTER (space separated), NQ_STAMP,
# NQ_RUN_SETS (the run's overrides, space separated), NQ_WRITES (paths under run_dir) and
# NQ_STATE ("current", "not run" or "stale: <why>").
declare -gA NQ_STAGE NQ_AFTER NQ_STAMP NQ_RUN_SETS NQ_WRITES NQ_STATE
nq_graph_load() {
  local out name stage after stamp sets writes state
  out=$(nq_cfg "$@" --steps) || return 1
  NQ_STEPS=()
  while IFS=$'\t' read -r name stage after stamp sets writes state; do
    NQ_STEPS+=("$name")
    NQ_STAGE[$name]=nq-$stage
    [ "$after" = - ] && after=""; NQ_AFTER[$name]=${after//,/ }
    NQ_STAMP[$name]=$stamp
    [ "$sets" = - ] && sets=""; NQ_RUN_SETS[$name]=$sets
    [ "$writes" = - ] && writes=""; NQ_WRITES[$name]=$writes
    NQ_STATE[$name]=$state
  done <<<"$out"
}

# Prints the step names, one per line.
nq_steps() { printf '%s\n' "${NQ_STEPS[@]}"; }

# The stage executable of a step (nq-synth, nq-train, ...).
nq_step_stage() { echo "${NQ_STAGE[$1]}"; }

# All overrides of a step (user's, then the run's), one per line.
nq_step_sets() {
  local s
  for s in "${NQ_SETS[@]}"; do echo "$s"; done
  for s in ${NQ_RUN_SETS[$1]}; do echo "$s"; done
}

# The graph, one line per step: "sft <- shard lm" (what `--dry-run` shows first).
nq_graph_print() {
  local s
  for s in "${NQ_STEPS[@]}"; do echo "== graph: $s <- ${NQ_AFTER[$s]:-(nothing)}"; done
}

# nq_no_links RUN_DIR : the scripts' own writes in run_dir (logs/, seeds/, sweep/) keep the
# stages' rule (docs/reliability.md, "run_dir and paths"): no symbolic link below run_dir on
# the way (run_dir itself may be one). Names the link and returns 1.
nq_no_links() {
  local p
  for p in "$1/logs" "$1"/logs/* "$1/seeds" "$1/sweep"; do
    if [ -L "$p" ]; then
      echo "$p: is a symbolic link inside run_dir $1; the scripts do not write through links below run_dir" >&2
      return 1
    fi
  done
}

# nq_seed_dirs N : NQ_SEED_LIST (seed, seed+1, ..., N of them, from the config's `seed`) and
# NQ_SEED_DIRS (<run_dir>/seed-<s>), for --seeds N.
nq_seed_dirs() {
  local base run_dir i
  base=$(nq_cfg --get seed) || return 1
  run_dir=$(nq_cfg --get run_dir) || return 1
  nq_no_links "$run_dir" || return 1
  NQ_SEED_LIST=(); NQ_SEED_DIRS=(); NQ_SEEDS_OUT=$run_dir/seeds
  for ((i = 0; i < $1; i++)); do
    NQ_SEED_LIST+=($((base + i))); NQ_SEED_DIRS+=("$run_dir/seed-$((base + i))")
  done
}

# nq_seeds_summary : after every seed's run, the summary across seeds of each nq-eval step
# (its output directory, relative to the run directory) with build/nq-seeds, then its page
# (build/nq-report <run_dir>/seeds).
nq_seeds_summary() {
  local out name stage after stamp sets writes state dirs labels i base
  base=$(nq_cfg --get eval.baseline) || return 1
  out=$(nq_cfg --set "run_dir=${NQ_SEED_DIRS[0]}" --steps) || return 1
  while IFS=$'\t' read -r name stage after stamp sets writes state; do
    [ "$stage" = eval ] || continue
    dirs=(); labels=()
    for i in "${!NQ_SEED_DIRS[@]}"; do
      dirs+=("${NQ_SEED_DIRS[$i]}/$writes"); labels+=(--label "seed ${NQ_SEED_LIST[$i]}")
    done
    echo "== seeds: summary of $name ($writes) over ${#dirs[@]} seeds"
    "$NQ_BIN/nq-seeds" "$NQ_SEEDS_OUT/$writes" "${dirs[@]}" --baseline "$base" "${labels[@]}" || return 1
  done <<<"$out"
  "$NQ_BIN/nq-report" "$NQ_SEEDS_OUT" || return 1   # the across-seed page: <run_dir>/seeds/index.html
}
