#!/usr/bin/env bash
# The across-seed summary on hand-made eval results of two seeds with default.cfg's row names:
# nq-seeds writes the ablation table (SFT ... full (round 2)) and the weight-source table with
# their rows ordered by ROUGE-1; `nq-report SEEDS_DIR` writes a page that Debian's
# chromium-headless-shell opens without console errors, one table row per model and every
# seed's value drawn as a dot. Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init report_seeds
CHROME=/usr/bin/chromium-headless-shell

mk() {  # mk DIR ROW TABLE_VALUE SCORES...: metrics.json and predictions.jsonl of one row
  local dir=$1/$2 m='{"metrics":{' k sep="" i=0 x
  mkdir -p "$dir"
  for k in rouge1 rouge2 rougeL meteor bleu nll nll_pref nll_other phrase_recall; do m+="$sep\"$k\":{\"mean\":$3}"; sep=,; done
  echo "$m}}" > "$dir/metrics.json"
  : > "$dir/predictions.jsonl"; shift 3
  for x in "$@"; do
    echo "{\"id\":\"s$i\",\"rouge1\":$x,\"rouge2\":$x,\"rougeL\":$x,\"meteor\":$x,\"sentence_bleu\":$x,\"nll\":$x,\"nll_pref\":$x,\"nll_other\":$x,\"phrase_recall\":$x}" >> "$dir/predictions.jsonl"
    i=$((i + 1))
  done
}
ROWS="sft context_sft nextquill_uniform nextquill_data_only nextquill nextquill_r2 nextquill_online nextquill_ratio"
for d in 1 2; do   # seed d: row j's value 0.1 + 0.02 j (+0.01 on seed 2), three samples around it
  E=$T/run/seed-$d/eval
  mkdir -p $E
  { echo model,n; for r in $ROWS; do echo $r,3; done; } > $E/summary.csv
  j=0
  for r in $ROWS; do
    v=$(awk "BEGIN{printf \"%.3f\", 0.1 + 0.02 * $j + 0.01 * ($d - 1)}")
    mk $E $r $v $(awk "BEGIN{printf \"%.3f %.3f %.3f\", $v - 0.01, $v, $v + 0.01}")
    j=$((j + 1))
  done
done
S=$T/run/seeds
if build/nq-seeds $S/eval $T/run/seed-1/eval $T/run/seed-2/eval --baseline context_sft --bootstrap 200 \
     --label "seed 1" --label "seed 2" > $T/seeds.log 2>&1 &&
   grep -q "^### Ablation" $S/eval/summary.md && grep -q "^| data-side only (alpha = 0) | nextquill_data_only | 0.165 ± 0.007 |" $S/eval/summary.md &&
   grep -q "^By mean ROUGE-1, lowest first: sft < context_sft < nextquill_uniform < nextquill_data_only < nextquill < nextquill_r2.$" $S/eval/summary.md &&
   grep -q "^| reference, ratio p_h/p_0 clipped | nextquill_ratio |" $S/eval/summary.md; then
  ok seeds_ablation_and_weight_tables
else bad seeds_ablation_and_weight_tables "$(grep -A12 '^### Ablation' $S/eval/summary.md 2>/dev/null | head -c 800; tail -n 2 $T/seeds.log)"; fi

if out=$(build/nq-report $S 2>&1) && [ "$out" = "report: $S/index.html" ] && [ -s $S/index.html ] && [ ! -e $S/index.html.tmp ]; then
  ok report_seeds_page_written
else bad report_seeds_page_written "$out"; fi
out=$(build/nq-report $T 2>&1); rc=$?
[ $rc != 0 ] && grep -q "no summary.csv in it or its subdirectories" <<<"$out" && ok report_seeds_empty_dir_refused \
  || bad report_seeds_empty_dir_refused "rc=$rc: $out"

if [ ! -x "$CHROME" ]; then skip report_seeds_browser "no $CHROME (make deps-test installs chromium-headless-shell)"; exit $failed; fi
chrome() {  # chrome OUT_STDERR ARGS...
  local err=$1; shift
  timeout 120 "$CHROME" --no-sandbox --disable-gpu --enable-logging=stderr --v=0 "$@" 2>"$err"
}
console_errors() { grep -E 'CONSOLE\(|Uncaught|ERR_|Failed to load|Error: <' "$1" | grep -v 'vaapi\|drmGetDevices\|sandbox'; }
chrome $T/dom.err --dump-dom "file://$S/index.html" > $T/dom.html
errs=$(console_errors $T/dom.err)
[ -s $T/dom.html ] && [ -z "$errs" ] && ok report_seeds_page_loads_without_console_errors \
  || bad report_seeds_page_loads_without_console_errors "$(head -c 300 <<<"$errs")"
# the detector sees an SVG attribute error (a negative height) and a script error
sed 's|</main>|<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="-3"/></svg><script>nope()</script></main>|' \
  $S/index.html > $T/bad.html
chrome $T/bad.err --dump-dom "file://$T/bad.html" > /dev/null
[ -n "$(console_errors $T/bad.err)" ] && ok report_seeds_console_check_can_fail \
  || bad report_seeds_console_check_can_fail "$(head -c 300 $T/bad.err)"
if out=$($PY - $T/dom.html <<'PY' 2>&1
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s): super().__init__(); s.rows = 0; s.dots = 0; s.figs = 0; s.mids = 0
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag == "tr" and a.get("class") == "row": s.rows += 1
        if tag == "circle" and a.get("class") == "seed": s.dots += 1
        if tag == "rect" and a.get("class") == "mid": s.mids += 1
        if tag == "figure": s.figs += 1
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
assert p.rows == 8, f"{p.rows} table rows, want 8"
assert p.figs == 8, f"{p.figs} figures, want 8 (4 metrics x 2)"
assert p.dots == 8 * 2 * 4, f"{p.dots} seed dots, want 64 (8 rows x 2 seeds x 4 metrics)"
assert p.mids == 8 * 4 + 7 * 4, f"{p.mids} marks, want 60 (means; differences but the baseline's)"
print(f"{p.rows} rows, {p.figs} figures, {p.dots} seed dots")
PY
); then ok "report_seeds_dom ($out)"; else bad report_seeds_dom "$out"; fi
exit $failed
