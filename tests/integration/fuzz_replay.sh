#!/usr/bin/env bash
# Replays the kept fuzz corpora and crash reproducers (tests/fuzz/corpus/<name>/,
# tests/fuzz/crashes/<name>/) through each harness's LLVMFuzzerTestOneInput, linked with
# tests/fuzz/replay.c by the project's compiler (no clang needed): release and ASan+UBSan
# builds (a crash, sanitizer report, leak or an input that hangs past 30 s fails the check; the
# log names the input). One check per harness and build. docs/fuzzing.md.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init fuzz_replay
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:allocator_may_return_null=1
export TMPDIR=$T
for src in tests/fuzz/fuzz_*.c; do
  h=$(basename "$src" .c); name=${h#fuzz_}
  n_kept=$(find "tests/fuzz/corpus/$name" -type f 2>/dev/null | wc -l)
  [ "$n_kept" -gt 0 ] || { bad "fuzz_${name}_corpus" "tests/fuzz/corpus/$name is empty"; continue; }
  for b in build/fuzz build/asan/fuzz; do
    kind=release; [ $b = build/asan/fuzz ] && kind=asan
    bin=$b/$h
    [ -x "$bin" ] || { bad "fuzz_${name}_$kind" "$bin missing (make build asan)"; continue; }
    if "$bin" "tests/fuzz/corpus/$name" "tests/fuzz/crashes/$name" >"$T/$h-$kind.log" 2>&1; then
      ok "fuzz_${name}_$kind ($(tail -n 1 "$T/$h-$kind.log"))"
    else
      bad "fuzz_${name}_$kind" "$(grep -E '^input ' "$T/$h-$kind.log" | tail -n 1) $(grep -m 3 -E 'FAIL|ERROR: |runtime error' "$T/$h-$kind.log" | tr '\n' ' ')"
      cat "$T/$h-$kind.log"   # the whole report, for the log file
    fi
  done
done
exit $failed
