#!/usr/bin/env bash
# Weight sources and seeds (issue 17) on the smoke benchmark: pipeline.rounds = 3 adds
# effect_r<k> / annotate_r<k> / nextquill_r<k> waiting for the round before; pipeline.evals
# adds an nq-eval step; rounds_run must be a run; jobs/run-local.sh --seeds 2 runs rounds = 2
# and the second decoding per seed in seed-<s>/ and nq-seeds summarizes both tables; nq-seeds'
# figures are checked against a hand-made pair of eval directories. Run from the repo root.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init rounds
cfg=$T/rounds.cfg
sed 's|^pipeline: {|pipeline: {\n  rounds = 2; evals: { eval_out = "eval.penalize_prompt=false eval.output=eval_out"; };|' \
  configs/smoke.cfg | sed 's|nextquill = "nextquill/model.h5"; };|nextquill = "nextquill/model.h5"; nextquill_r2 = "nextquill_r2/model.h5"; };|' > "$cfg"
grep -q 'nextquill_r2 = ' "$cfg" || bad rounds_config "sed changed nothing in smoke.cfg's eval.models"
sed -i 's|truth_rare = "pref_rare"; };|truth_rare = "pref_rare"; truth_decisive = "pref_decisive"; };|' "$cfg"
grep -q 'truth_decisive = ' "$cfg" || bad rounds_config "sed changed nothing in smoke.cfg's data.fields"

# the graph: name <TAB> after <TAB> run's overrides <TAB> writes
g=$(build/nq-config "$cfg" --set pipeline.rounds=3 --steps | cut -f1,3,5,6)
want_line() { grep -qxF "$1" <<<"$g" || { bad rounds_graph "no line '$1' in: $g"; return 1; }; }
want_line $'effect_r2\tnextquill\teffect.model= effect.reference_run=nextquill effect.output=effects_r2\teffects_r2' &&
want_line $'annotate_r2\teffect_r2\tannotate.effects=effects_r2 annotate.output=annotations_r2\tannotations_r2' &&
want_line $'nextquill_r2\tannotate_r2\ttrain.name=nextquill_r2 train.objective=nextquill train.init=lm/model.h5 train.weights=annotations train.annotations=annotations_r2\tnextquill_r2' &&
want_line $'effect_r3\tnextquill_r2\teffect.model= effect.reference_run=nextquill_r2 effect.output=effects_r3\teffects_r3' &&
want_line $'nextquill_r3\tannotate_r3\ttrain.name=nextquill_r3 train.objective=nextquill train.init=lm/model.h5 train.weights=annotations train.annotations=annotations_r3\tnextquill_r3' &&
want_line $'eval_out\tsft,nextquill_r2\teval.penalize_prompt=false eval.output=eval_out\teval_out' && ok rounds_graph
out=$(build/nq-config "$cfg" --set pipeline.rounds_run=nosuch --steps 2>&1); rc=$?
[ $rc != 0 ] && grep -q "pipeline.rounds_run: 'nosuch' is not in pipeline.train_runs" <<<"$out" \
  && ok rounds_run_must_be_a_run || bad rounds_run_must_be_a_run "rc=$rc: $out"
out=$(build/nq-config "$cfg" --set 'pipeline.train_runs=["lm","sft","context_sft","nextquill","eval_out"]' --steps 2>&1); rc=$?
[ $rc != 0 ] && grep -q "step 'eval_out' is named twice" <<<"$out" && ok rounds_duplicate_step_refused \
  || bad rounds_duplicate_step_refused "rc=$rc: $out"

# submit.sh --seeds 2 --dry-run: a chain per seed in its own run_dir, then the summary job
out=$(bash jobs/submit.sh --set run_dir="$T/sub" "$cfg" --seeds 2 --dry-run 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(grep -c "^==== seed" <<<"$out")" = 2 ] &&
   grep -q "output=$T/sub/seed-1235/logs/nextquill_r2-%j.out" <<<"$out" &&
   grep -q "^== seeds: .*jobs/nq-seeds.sbatch $cfg 2 --set run_dir=$T/sub" <<<"$out"; then
  ok rounds_submit_seeds_dry_run
else
  bad rounds_submit_seeds_dry_run "rc=$rc: $(tail -n 3 <<<"$out")"
fi

# two seeds end to end
R=$T/run
if bash jobs/run-local.sh "$cfg" --set run_dir="$R" --seeds 2 > $T/seeds.log 2>&1; then
  ok rounds_seeds_run
else
  bad rounds_seeds_run "$(tail -n 5 $T/seeds.log)"; exit 1
fi
for s in 1234 1235; do
  for f in nextquill_r2/model.h5 effects_r2/shard-00000.h5 annotations_r2/summary.json eval/summary.csv eval_out/summary.csv; do
    [ -e "$R/seed-$s/$f" ] || bad rounds_outputs "missing $R/seed-$s/$f"
  done
  grep -q "vs decisive tokens" "$R/seed-$s/logs/annotate_r2.log" || bad rounds_outputs "seed $s: no decisive-token figures"
done
[ $failed = 0 ] && ok rounds_outputs
# the run ends with the across-seed page (nq-report <run_dir>/seeds): both eval directories
if [ -s "$R/seeds/index.html" ] && [ "$(grep -o '<section><h2>eval[_a-z]*</h2>' "$R/seeds/index.html" | tr '\n' ' ')" = \
     "<section><h2>eval</h2> <section><h2>eval_out</h2> " ]; then ok rounds_seeds_page
else bad rounds_seeds_page "$(ls "$R/seeds" 2>&1 | tr '\n' ' ')"; fi
$PY - "$R" <<'PY' && ok rounds_seed_summary || bad rounds_seed_summary "see above"
import csv, json, sys, statistics
R = sys.argv[1]
for ev in ("eval", "eval_out"):
    rows = list(csv.DictReader(open(f"{R}/seeds/{ev}/summary.csv")))
    models = sorted({r["model"] for r in rows})
    assert "nextquill_r2" in models and "context_sft" in models, models
    for r in rows:
        vals = [json.load(open(f"{R}/seed-{s}/{ev}/{r['model']}/metrics.json"))["metrics"][r["metric"]]["mean"]
                for s in (1234, 1235)]
        assert abs(float(r["seed 1234"]) - vals[0]) < 1e-5 and abs(float(r["seed 1235"]) - vals[1]) < 1e-5, r
        assert abs(float(r["mean"]) - statistics.mean(vals)) < 1e-5, r
        assert abs(float(r["sd"]) - statistics.stdev(vals)) < 1e-5, r
# the two decodings differ in their settings
a = json.load(open(f"{R}/seed-1234/eval/nextquill/metrics.json"))["settings"]["penalize_prompt"]
b = json.load(open(f"{R}/seed-1234/eval_out/nextquill/metrics.json"))["settings"]["penalize_prompt"]
assert a is True and b is False, (a, b)
PY

# nq-seeds on hand-made results: two seeds, rows base and ctx, three samples each
mk() {  # mk DIR ROW TABLE_ROUGE1 SCORES...
  local dir=$1/$2
  mkdir -p "$dir"
  local m='{"metrics":{' k sep=""
  for k in rouge1 rouge2 rougeL meteor bleu nll nll_pref nll_other phrase_recall; do m+="$sep\"$k\":{\"mean\":$3}"; sep=,; done
  echo "$m}}" > "$dir/metrics.json"
  : > "$dir/predictions.jsonl"; shift 3
  local i=0 x
  for x in "$@"; do
    echo "{\"id\":\"s$i\",\"rouge1\":$x,\"rouge2\":$x,\"rougeL\":$x,\"meteor\":$x,\"sentence_bleu\":$x,\"nll\":$x,\"nll_pref\":null,\"nll_other\":$x,\"phrase_recall\":$x}" >> "$dir/predictions.jsonl"
    i=$((i + 1))
  done
}
for d in a b; do printf 'model,n\nctx,3\nrow,3\n' > $T/$d.csv; mkdir -p $T/$d; mv $T/$d.csv $T/$d/summary.csv; done
mk $T/a ctx 0.2 0.1 0.2 0.3;  mk $T/a row 0.4 0.3 0.4 0.5
mk $T/b ctx 0.3 0.2 0.3 0.4;  mk $T/b row 0.2 0.1 0.2 0.3
if build/nq-seeds $T/sum $T/a $T/b --baseline ctx --bootstrap 200 > $T/sum.log 2>&1; then
  $PY - "$T/sum/summary.csv" <<'PY' && ok seeds_summary_figures || bad seeds_summary_figures "see above"
import csv, sys, math
rows = {(r["model"], r["metric"]): r for r in csv.DictReader(open(sys.argv[1]))}
r = rows[("row", "rouge1")]
assert abs(float(r["mean"]) - 0.3) < 1e-6 and abs(float(r["sd"]) - math.sqrt(0.02)) < 1e-5, r
assert abs(float(r["delta"]) - 0.05) < 1e-6, r          # (+0.2 x3, -0.1 x3) / 6
assert float(r["delta_lo"]) <= 0.05 <= float(r["delta_hi"]) and r["wins"] == "1" and r["seeds"] == "2", r
assert math.isnan(float(rows[("row", "nll_pref")]["delta"])), "no pairs: NaN"
assert rows[("row", "nll")]["wins"] == "1", "NLL: lower wins"
assert math.isnan(float(rows[("ctx", "rouge1")]["delta"])), "baseline has no difference"
PY
else
  bad seeds_summary_figures "$(tail -n 3 $T/sum.log)"
fi
out=$(build/nq-seeds $T/sum2 $T/a $T/b --baseline nosuch 2>&1); rc=$?
[ $rc != 0 ] && grep -q "baseline row 'nosuch'" <<<"$out" && ok seeds_unknown_baseline_refused \
  || bad seeds_unknown_baseline_refused "rc=$rc: $out"
exit $failed
