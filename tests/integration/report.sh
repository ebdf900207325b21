#!/usr/bin/env bash
# nq-report on the smoke benchmark, looked at as a person would: jobs/run-local.sh ends by
# writing the page; Debian's chromium-headless-shell opens it (--dump-dom, --screenshot) with
# no console error; the results table has one row per model; every section has its figures;
# a planted phrase's token is highlighted; every .svg parses as XML; a partial run (shard +
# effect only) still gets a page saying what is missing; the terminal view runs (its plain
# text has a golden unit test, tests/unit/test_report.c). Run from the repo root.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init report
R=$T/run
CHROME=/usr/bin/chromium-headless-shell
chrome() {  # chrome OUT_STDERR ARGS... : headless, no sandbox (root in a container), logs to stderr
  local err=$1; shift
  timeout 120 "$CHROME" --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 "$@" 2>"$err"
}
# console errors of a page load: uncaught exceptions, console.error, resources that failed
console_errors() { grep -E 'CONSOLE\(|Uncaught|ERR_|Failed to load' "$1" | grep -v 'vaapi\|drmGetDevices\|sandbox' ; }

if env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bash jobs/run-local.sh $CFG --set run_dir="$R" > $T/run.log 2>&1 &&
   grep -qx "== report: $R/report/index.html" $T/run.log && [ -s "$R/report/index.html" ]; then
  ok report_written_by_run_local
else
  bad report_written_by_run_local "$(tail -n 3 $T/run.log)"; exit 1
fi

# ---- the SVG figures are XML -----------------------------------------------------------------
n_svg=$(ls "$R"/report/*.svg | wc -l)
if out=$($PY - "$R"/report/*.svg <<'EOF' 2>&1
import sys, xml.etree.ElementTree as ET
for p in sys.argv[1:]:
    root = ET.parse(p).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", (p, root.tag)
EOF
); then ok "report_svg_is_xml ($n_svg files)"; else bad report_svg_is_xml "$out"; fi
printf '<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>' > $T/broken.svg
$PY -c "import xml.etree.ElementTree as E; E.parse('$T/broken.svg')" 2>/dev/null &&
  bad report_svg_check_can_fail "a broken SVG parsed" || ok report_svg_check_can_fail

# ---- the page in a browser ---------------------------------------------------------------------
if [ ! -x "$CHROME" ]; then
  skip report_browser "no $CHROME (make deps installs chromium-headless-shell)"
  exit $failed
fi
chrome $T/dom.err --dump-dom "file://$R/report/index.html" > $T/dom.html
chrome $T/shot.err --window-size=1280,2000 --screenshot=$T/page.png "file://$R/report/index.html" > /dev/null
errs=$(console_errors $T/dom.err)
[ -s $T/dom.html ] && [ -z "$errs" ] && ok report_page_loads_without_console_errors \
  || bad report_page_loads_without_console_errors "$(head -c 300 <<<"$errs") (dom $(wc -c < $T/dom.html) bytes)"
[ "$(head -c 8 $T/page.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(stat -c %s $T/page.png)" -gt 20000 ] \
  && ok report_screenshot || bad report_screenshot "no PNG screenshot ($(ls -l $T/page.png 2>&1))"
# the same detector sees a script error and a failed resource (the check can fail)
sed 's|</body>|<script>no_such_function()</script><img src="file:///nonexistent.png"></body>|' \
  "$R/report/index.html" > $T/bad.html
chrome $T/bad.err --dump-dom "file://$T/bad.html" > /dev/null
[ -n "$(console_errors $T/bad.err)" ] && ok report_console_check_can_fail \
  || bad report_console_check_can_fail "a page with a script error passed: $(head -c 300 $T/bad.err)"

# The DOM as the browser built it: table rows, figures per section, the planted phrase.
if out=$($PY - $T/dom.html "$R/eval/summary.csv" "$R/data/synth.jsonl" <<'EOF' 2>&1
import json, sys
from html.parser import HTMLParser
dom, csv, synth = sys.argv[1:4]
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.stack = []; s.rows = 0; s.figs = {}; s.section = None
        s.sample = None; s.planted = []; s.text = None
    def handle_starttag(s, tag, a):
        a = dict(a); cls = a.get("class", "").split()
        if tag == "section": s.section = a.get("id")
        if tag == "tr" and "row" in cls: s.rows += 1
        if tag == "figure" : s.figs.setdefault(s.section, 0); s.figs[s.section] += 1
        if tag == "div" and "sample" in cls: s.sample = a.get("data-id")
        if tag == "span" and "tk" in cls and "pl" in cls: s.text = [s.sample, ""]
    def handle_data(s, d):
        if s.text is not None: s.text[1] += d
    def handle_endtag(s, tag):
        if tag == "span" and s.text is not None: s.planted.append(tuple(s.text)); s.text = None
p = P(); p.feed(open(dom, encoding="utf-8").read())
models = len(open(csv).read().strip().splitlines()) - 1
assert p.rows == models, f"results table: {p.rows} rows, {models} models in summary.csv"
want = {"results": 9, "training": 7, "effect": 2}
for sec, n in want.items():
    assert p.figs.get(sec, 0) >= n, f"section {sec}: {p.figs.get(sec, 0)} figures, want >= {n} ({p.figs})"
phrases = {}
for line in open(synth, encoding="utf-8"):
    r = json.loads(line)
    phrases[r["id"]] = [r["output"][a:b] for a, b in r.get("pref_spans", [])]
hits = [(sid, t) for sid, t in p.planted if t.strip() and any(t.strip() in ph for ph in phrases.get(sid, []))]
assert hits, f"no highlighted planted token inside a planted phrase ({len(p.planted)} planted spans)"
print(f"{p.rows} rows, figures {p.figs}, {len(hits)} planted tokens highlighted, e.g. {hits[0]}")
EOF
); then ok "report_dom_rows_figures_planted ($out)"; else bad report_dom_rows_figures_planted "$out"; fi

# ---- staleness: a changed annotate threshold makes the annotations stale (page to --out)
if build/nq-report $CFG --set run_dir="$R" --set annotate.threshold=0.2 --out $T/stale > $T/stale.log 2>&1 &&
   grep -q "<tr class=\"stale\"><td>annotate</td>.*made with another &#39;annotate&#39; config" $T/stale/index.html &&
   grep -q "<tr class=\"ok\"><td>effect</td>" $T/stale/index.html && [ ! -e "$R/report/effect-roc.svg.tmp" ]; then
  ok report_marks_stale_steps
else bad report_marks_stale_steps "$(grep -o '<tr class="[a-z]*"><td>[a-z_]*</td>' $T/stale/index.html 2>/dev/null | tr '\n' ' ')"; fi

# ---- a partial run: shard + effect only ---------------------------------------------------------
P=$T/partial
mkdir -p "$P"
cp -r "$R/data" "$R/shards" "$R/effects" "$R/tokenizer.json" "$P/"
if out=$(build/nq-report $CFG --set run_dir="$P" 2>&1); rc=$?; [ $rc = 0 ] && grep -q "Not in this run" "$P/report/index.html" &&
   grep -q "the eval step has not run" "$P/report/index.html" && grep -q "effect-histogram" "$P/report/index.html"; then
  ok report_partial_run_says_what_is_missing
else bad report_partial_run_says_what_is_missing "$(tail -n 3 <<<"$out")"; fi

# ---- the terminal view --------------------------------------------------------------------------
user=$($PY -c "import json; print(json.loads(open('$R/eval/nextquill/predictions.jsonl').readline())['user'])")
out=$(build/nq-report $CFG --set run_dir="$R" --user "$user" 2>&1)
if grep -q "^user $user: " <<<"$out" && ! grep -q $'\033' <<<"$out" && grep -q "nextquill" <<<"$out"; then
  ok report_terminal_user_plain
else bad report_terminal_user_plain "$(head -n 3 <<<"$out")"; fi
out=$(build/nq-report $CFG --set run_dir="$R" --top 5 2>&1)
[ "$(grep -cE '^[+-][0-9]\.[0-9]{3}  mean of' <<<"$out")" = 5 ] && ok report_terminal_top_corpus \
  || bad report_terminal_top_corpus "$(head -n 3 <<<"$out")"
out=$(build/nq-report $CFG --set run_dir="$R" --user nosuch 2>&1); rc=$?
[ $rc = 1 ] && grep -q "no samples of user 'nosuch'" <<<"$out" && ok report_unknown_user_refused \
  || bad report_unknown_user_refused "rc=$rc: $out"
exit $failed
