#!/usr/bin/env bash
# nq-effect and nq-annotate on the smoke benchmark with a random reference checkpoint
# (written by effect/make_ckpt.py, so no training run is needed): -np 1 == -np 2 outputs,
# alignment with the shards, nothing to do when its stamp is current, reruns only the files
# missing or not written under the current stamp, refuses stale inputs,
# annotate reruns with another threshold without the model. Run from the repo root.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init effect
HERE=tests/integration/effect
R=$T/run
SET=(--set run_dir=\"$R\" --set effect.model=\"$T/ref.h5\" --set effect.micro_batch=4)
effect() { local np=$1; shift; mpirun -np "$np" --oversubscribe build/nq-effect $CFG "${SET[@]}" "$@"; }
annotate() { build/nq-annotate $CFG "${SET[@]}" "$@"; }

nq_prepare_smoke "$R" || exit 1
V=$($PY -c "import h5py; print(h5py.File('$R/shards/shard-00000.h5').attrs['vocab_size'])")
$PY $HERE/make_ckpt.py $T/ref.h5 "$V" 1 || { bad effect_prepare "make_ckpt.py failed"; exit 1; }

# ---- -np 1 == -np 2 -----------------------------------------------------------------
if effect 1 > $T/e1.log 2>&1; then ok effect_runs; else bad effect_runs "$(tail -n 3 $T/e1.log)"; exit 1; fi
grep -q "tok/s" $T/e1.log && ok effect_reports_tokens_per_s || bad effect_reports_tokens_per_s "no tok/s line"
cp -r $R/effects $T/effects-np1
rm -rf $R/effects
if effect 2 > $T/e2.log 2>&1; then
  if out=$($PY $HERE/compare.py $T/effects-np1 $R/effects 2>&1); then ok effect_np1_equals_np2
  else bad effect_np1_equals_np2 "$out"; fi
else bad effect_np1_equals_np2 "-np 2 failed: $(tail -n 3 $T/e2.log)"; fi
if out=$($PY $HERE/check_aligned.py $R 2>&1); then ok effect_aligned_with_shards; else bad effect_aligned_with_shards "$out"; fi

# ---- reruns: nothing when current, only the missing shard otherwise ------------------
effect 2 > $T/e3.log 2>&1
grep -q "effects is up to date (stamp [0-9a-f]*); nothing to do" $T/e3.log && ! grep -q "to compute" $T/e3.log \
  && ok effect_rerun_does_nothing || bad effect_rerun_does_nothing "$(tail -n 2 $T/e3.log)"
rm $R/effects/shard-00001.h5
effect 2 > $T/e4.log 2>&1
if grep -q "1 shards to compute, 1 already current" $T/e4.log && \
   $PY $HERE/compare.py $T/effects-np1 $R/effects > /dev/null 2>&1; then ok effect_reruns_only_missing
else bad effect_reruns_only_missing "$(grep 'shards to compute' $T/e4.log)"; fi

# ---- another effect.threshold: a new stamp, so every file is made again; and back -------------
effect 2 --set effect.threshold=0.2 > $T/e4b.log 2>&1
r=$($PY -c "import h5py; print(h5py.File('$R/effects/shard-00000.h5').attrs['threshold'])")
if grep -q "making .*effects again: made with another 'effect' config" $T/e4b.log && \
   grep -q "2 shards to compute, 0 already current" $T/e4b.log && [ "$r" = 0.2 ]; then ok effect_new_threshold_recomputes
else bad effect_new_threshold_recomputes "got '$r': $(grep -E 'again|to compute' $T/e4b.log)"; fi
effect 1 > $T/e4c.log 2>&1
if grep -q "2 shards to compute" $T/e4c.log && out=$($PY $HERE/compare.py $T/effects-np1 $R/effects 2>&1); then
  ok effect_back_equals_first
else bad effect_back_equals_first "$out $(grep 'to compute' $T/e4c.log)"; fi

# ---- annotate ----------------------------------------------------------------------------
if annotate > $T/a1.log 2>&1 && [ -f $R/annotations/summary.json ]; then ok annotate_runs
else bad annotate_runs "$(tail -n 3 $T/a1.log)"; fi
s1=$($PY -c "import json; print(json.load(open('$R/annotations/summary.json'))['share'])")
t0=$SECONDS
annotate --set annotate.threshold=0.2 > $T/a2.log 2>&1
dt=$((SECONDS - t0))
r=$($PY - <<PYEOF
import json, h5py
s = json.load(open("$R/annotations/summary.json"))
f = h5py.File("$R/annotations/shard-00000.h5")
print(s["rule"]["threshold"], f.attrs["threshold"], f.attrs["rule"], s["share"] <= $s1,
      "auroc_effect" in s["truth"]["overall"], "rare" in s["truth"])
PYEOF
)
if [ "$r" = "0.2 0.2 threshold True True True" ] && [ $dt -le 10 ]; then ok annotate_rethreshold_records_rule
else bad annotate_rethreshold_records_rule "got '$r' in ${dt}s"; fi
# never reads the model: works with the reference checkpoint gone
mv $T/ref.h5 $T/ref.h5.away
if annotate --set annotate.rule=top_fraction > $T/a2b.log 2>&1 && \
   [ "$($PY -c "import h5py; print(h5py.File('$R/annotations/shard-00000.h5').attrs['rule'])")" = top_fraction ]; then
  ok annotate_without_model
else bad annotate_without_model "$(tail -n 1 $T/a2b.log)"; fi
mv $T/ref.h5.away $T/ref.h5

# ---- stale inputs -----------------------------------------------------------------------
cp $R/shards/shard-00000.h5 $T/shard0.bak
$PY -c "import h5py; h5py.File('$R/shards/shard-00000.h5','a').attrs['touched'] = 1"
if annotate > $T/a3.log 2>&1; then bad annotate_refuses_stale_effects "annotate accepted effects of a changed shard"
elif grep -q "rerun nq-effect" $T/a3.log; then ok annotate_refuses_stale_effects
else bad annotate_refuses_stale_effects "$(tail -n 1 $T/a3.log)"; fi
effect 1 > $T/e5.log 2>&1
grep -q "making .*effects again: its input shards was made again since, or is not current" $T/e5.log && \
  grep -q "recomputing .*shard-00000.h5 (made with another config or input)" $T/e5.log && grep -q "2 shards to compute" $T/e5.log \
  && ok effect_recomputes_changed_shard || bad effect_recomputes_changed_shard "$(grep -E 'again|recomputing|to compute' $T/e5.log)"
$PY $HERE/make_ckpt.py $T/ref.h5 "$V" 2
effect 1 > $T/e6.log 2>&1
grep -q "making .*effects again: file .*ref.h5 changed since" $T/e6.log && \
  [ "$(grep -c 'recomputing .*(made with another config or input)' $T/e6.log)" = 2 ] && ok effect_recomputes_on_new_checkpoint \
  || bad effect_recomputes_on_new_checkpoint "$(grep -E 'again|recomputing|to compute' $T/e6.log)"
# an annotation file under an effect file's name (files of other names in effects/ are not
# nq-annotate's inputs: tests/integration/security.sh)
cp $R/effects/shard-00000.h5 $T/effects-00000.h5; cp $R/annotations/shard-00000.h5 $R/effects/shard-00000.h5
if annotate > $T/a4.log 2>&1; then bad annotate_refuses_foreign_file "accepted an annotation file as effects"
elif grep -q "expected an output of nq-effect\|written by nq-annotate, not nq-effect" $T/a4.log; then ok annotate_refuses_foreign_file
else bad annotate_refuses_foreign_file "$(tail -n 1 $T/a4.log)"; fi
cp $T/effects-00000.h5 $R/effects/shard-00000.h5

# ---- only some splits --------------------------------------------------------------------
rm -rf $R/effects
effect 1 --set effect.splits=train > $T/e7.log 2>&1
r=$($PY - <<PYEOF
import h5py, numpy as np
e = h5py.File("$R/effects/shard-00000.h5")
c, s = e["samples/computed"][:], e["samples/split"][:]
print(bool((c == (s == 0)).all()), bool((s != 0).any()))
PYEOF
)
[ "$r" = "True True" ] && ok effect_splits_subset || bad effect_splits_subset "computed flags wrong: $r"
exit $failed
