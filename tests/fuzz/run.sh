#!/usr/bin/env bash
# `make fuzz`: runs each libFuzzer harness (build/libfuzzer/fuzz_*) for FUZZ_SECONDS (default
# 60) in one process (one core), starting from its kept corpus tests/fuzz/corpus/<name>/ (seed files and
# what earlier runs kept), then merges the new finds back into that folder (-merge=1 keeps
# only inputs that add coverage). A crash, leak, timeout or sanitizer report stops that
# harness; its input is left in build/libfuzzer/work/<name>/crash-* (keep a minimized copy in
# tests/fuzz/crashes/<name>/ with the fix, so `make test` replays it). FUZZ_ONLY=name picks
# harnesses. Prints one line per harness: seconds, executions, corpus size. See docs/fuzzing.md.
# Leaks: libFuzzer's own leak check (a LeakSanitizer pass after every input that allocated more
# than it freed) costs 4x the speed here, so it is off unless FUZZ_LEAKS=1; instead the merged
# corpus is replayed by the ASan build (build/asan/fuzz/, LeakSanitizer at each input's exit),
# as `make test` does.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
SECS=${FUZZ_SECONDS:-60}
only=${FUZZ_ONLY:-}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
status=0
for bin in "$B"/libfuzzer/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  [[ -z "$only" || "$name" == *"$only"* ]] || continue
  corpus=tests/fuzz/corpus/$name work=$B/libfuzzer/work/$name
  mkdir -p "$corpus" "$work/new" "$work/merged"
  log=$work/fuzz.log
  case $name in tokenizer) maxlen=32768 ;; records|config) maxlen=8192 ;; *) maxlen=4096 ;; esac
  # -close_fd_mask=3: the product's error lines would flood the log; reports still appear
  "$bin" -max_total_time="$SECS" -detect_leaks="${FUZZ_LEAKS:-0}" -max_len=$maxlen -timeout=20 -rss_limit_mb=2048 \
    -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$work/" "$work/new" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  secs=$(sed -nE 's/^stat::total_time: *([0-9]+).*/\1/p' "$log" | tail -1)  # absent in old libFuzzer
  rm -rf "$work/merged"; mkdir -p "$work/merged"
  "$bin" -merge=1 -max_len=$maxlen -close_fd_mask=3 "$work/merged" "$corpus" "$work/new" >>"$log" 2>&1 \
    && rm -rf "$corpus" && mv "$work/merged" "$corpus" && rm -rf "$work/new"
  kept=$(find "$corpus" -type f | wc -l)
  if [ $rc -eq 0 ] && [ -x "$B/asan/fuzz/fuzz_$name" ]; then
    "$B/asan/fuzz/fuzz_$name" "$corpus" >"$work/replay.log" 2>&1 || { rc=1; log=$work/replay.log; }
  fi
  if [ $rc -eq 0 ]; then
    printf '%-14s ok      %6ss  %10s execs  corpus %d files\n' "$name" "${secs:-$SECS}" "${execs:-?}" "$kept"
  else
    status=1
    printf '%-14s FOUND   %6ss  %10s execs  corpus %d files; see %s (%s)\n' "$name" "${secs:-?}" "${execs:-?}" \
      "$kept" "$log" "$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)"
    grep -m3 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/    /'
  fi
done
exit $status
