#!/usr/bin/env bash
# build/nq-config, the shell drivers' config reader (common/config_tool/config_tool.c): --get,
# --text, and --reads STAGE, which must print pipeline/stages.c's list (the sections
# jobs/pipeline.sh stamps a step with) and refuse an unknown stage with exit 2.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init config
[ -x build/nq-config ] || { bad config_prerequisites "build/nq-config missing (make build)"; exit 1; }

v=$(build/nq-config $CFG --set annotate.threshold=0.25 --get annotate.threshold 2>&1)
[ "$v" = 0.25 ] && ok config_get_with_set || bad config_get_with_set "got '$v'"

t=$(build/nq-config $CFG --text annotate 2>&1)
grep -q '^annotate' <<<"$t" && ! grep -q '^eval' <<<"$t" && ok config_text_sections \
  || bad config_text_sections "$(head -n 2 <<<"$t")"

# every stage of pipeline/stages.c answers, and a step's stamp sections come from it
all=1
for s in synth shard effect annotate train eval; do
  r=$(build/nq-config --reads $s 2>&1) && [[ $r =~ ^[a-z_]+(,[a-z_]+)*$ ]] || { all=0; bad config_reads_$s "got '$r'"; }
done
[ $all = 1 ] && ok config_reads_every_stage
[ "$(build/nq-config --reads annotate)" = annotate ] && ok config_reads_annotate \
  || bad config_reads_annotate "got '$(build/nq-config --reads annotate 2>&1)'"
# a training step's stamp (nq-config --steps) covers the sections nq-train reads and no others
stamp() { build/nq-config $CFG "$@" --steps | awk -F'\t' '$1 == "nextquill" { print $4 }'; }
s0=$(stamp); s_train=$(stamp --set train.lr=0.002); s_eval=$(stamp --set eval.max_new_tokens=9)
[[ $s0 =~ ^[0-9a-f]{64}$ ]] && [ "$s_train" != "$s0" ] && [ "$s_eval" = "$s0" ] &&
  ok config_pipeline_sections_from_stages ||
  bad config_pipeline_sections_from_stages "nextquill stamps: '$s0' / train.lr '$s_train' / eval '$s_eval'"

out=$(build/nq-config --reads nosuch 2>&1); rc=$?
[ $rc = 2 ] && grep -q "no stage 'nosuch'" <<<"$out" && ok config_reads_unknown_stage \
  || bad config_reads_unknown_stage "rc=$rc: $out"
out=$(build/nq-config $CFG 2>&1); rc=$?
[ $rc = 2 ] && grep -q usage <<<"$out" && ok config_usage_without_request || bad config_usage_without_request "rc=$rc"
# a float key whose schema default is an int literal ("16") reads back as 16, not 0
out=$(build/nq-config $CFG --get train.lora_alpha 2>&1)
[ "$out" = 16 ] && ok config_float_default_int_literal || bad config_float_default_int_literal "got '$out'"
exit $failed
