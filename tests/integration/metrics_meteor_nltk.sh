#!/usr/bin/env bash
# METEOR parity with NLTK 3.8 (Debian python3-nltk under /usr/bin/python3) reading Debian's
# WordNet 3.0 files, plus parity of the two pieces it rests on: NLTK's default Porter
# stemmer and wn.synsets() lemma names. Details in tests/integration/metrics/meteor_nltk.py.
# Run from the repo root after make.
set -u
cd "$(dirname "$0")/../.."
here=tests/integration/metrics
out=build/integration/metrics
mkdir -p "$out"

if ! /usr/bin/python3 -c "import nltk" 2>/dev/null; then
  echo "not ok metrics_nltk_import: /usr/bin/python3 cannot import nltk (make deps installs python3-nltk)"; exit 1
fi
if [ ! -f /usr/share/wordnet/data.noun ] && [ -z "${NQ_WORDNET_DIR:-}" ]; then
  echo "not ok metrics_wordnet_files: /usr/share/wordnet missing (make deps installs wordnet-base)"; exit 1
fi

lib=${NQ_LIB:-build/libnq.a}
driver=$out/metrics_driver
if ! $(bash mk/libs.sh mpicc) -std=c11 -D_GNU_SOURCE -DPCRE2_CODE_UNIT_WIDTH=8 -fopenmp -O2 -Wall -Wextra -Werror \
     -Icommon $(bash mk/libs.sh cflags) $here/metrics_driver.c "$lib" \
     $(bash mk/libs.sh libs) \
     -o $driver 2> $out/cc.log; then
  echo "not ok metrics_driver_build: $(head -c 300 $out/cc.log)"; exit 1
fi

/usr/bin/python3 $here/meteor_nltk.py "$driver" "$out/work"
