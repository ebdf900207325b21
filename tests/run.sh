#!/usr/bin/env bash
# Test runner for `make test`: unit tests (cmocka programs, release and ASan+UBSan builds)
# and integration scripts (tests/integration/*.sh, one `ok`/`not ok` line per check, and
# `skip NAME reason` for a check that cannot run here). cmocka's `[  SKIPPED ]` tests count as
# skipped too. Ends with the skipped checks listed, then one line: `N passed, N failed,
# N skipped`. Exit status non-zero if anything failed (skips do not fail the run).
# Logs: build/test-logs/<time>-<pid>/ per run (concurrent runs do not share one), with
# build/test-logs/latest pointing at the newest.
set -u
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none   # no CMA inside sandboxes
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Open MPI's own allocations look like leaks to LeakSanitizer
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export CMOCKA_MESSAGE_OUTPUT=stdout
LOGROOT=build/test-logs
RUN_ID=$(date +%Y%m%d-%H%M%S)-$$
LOGDIR=$LOGROOT/$RUN_ID
mkdir -p "$LOGDIR" || { echo "tests/run.sh: cannot create $LOGDIR" >&2; exit 1; }
ln -sfn "$RUN_ID" "$LOGROOT/latest.tmp$$" && mv -T "$LOGROOT/latest.tmp$$" "$LOGROOT/latest"
# logs of runs older than a week go (a running one's directory is younger)
find "$LOGROOT" -mindepth 1 -maxdepth 1 -type d -mtime +7 -exec rm -rf {} + 2>/dev/null
passed=0; failed=0; skipped=0; failures=(); skips=()
only="${NQ_TEST_ONLY:-}"   # substring filter, e.g. NQ_TEST_ONLY=shard make test

skip_note() { [ "$1" = 0 ] || printf ', %d SKIPPED' "$1"; }

run_unit() {  # $1 = binary, $2 = label
  local bin=$1 label=$2 log="$LOGDIR/${2//\//_}.log" t0=$SECONDS
  "$bin" >"$log" 2>&1
  local rc=$?
  local p f
  p=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' "$log" | tail -1)
  f=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' "$log" | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed or sanitizer report
  local names s=0 n
  # per-test lines "[  SKIPPED ] name" (the summary repeats them; "N test(s), ..." is the count)
  names=$(sed -nE 's/^\[  SKIPPED \] ([A-Za-z_][A-Za-z0-9_]*)$/\1/p' "$log" | sort -u)
  for n in $names; do skips+=("$label: $n"); s=$((s + 1)); done
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$f" = 0 ]; then
    printf '  %-44s %3d passed%s  (%ds)\n' "$label" "$p" "$(skip_note $s)" $((SECONDS - t0))
  else
    printf '  %-44s %3d passed, %d FAILED%s  (%ds, log %s)\n' "$label" "$p" "$f" "$(skip_note $s)" $((SECONDS - t0)) "$log"
    failures+=("$label")
    grep -E '^\[  FAILED  \]|^\[  ERROR   \]|ERROR: AddressSanitizer|runtime error|error:' "$log" | head -5 | sed 's/^/      /'
  fi
}

run_integration() {  # $1 = script
  local script=$1 label=${1#tests/integration/} log="$LOGDIR/integration_$(basename "$1" .sh).log" t0=$SECONDS
  bash "$script" >"$log" 2>&1
  local rc=$?
  local p f s line
  p=$(grep -cE '^ok( |$)' "$log"); f=$(grep -cE '^not ok( |$)' "$log"); s=$(grep -cE '^skip ' "$log")
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
  if [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$s" = 0 ]; then f=1; echo "not ok: the script ran no checks" >>"$log"; fi
  while IFS= read -r line; do skips+=("$label: ${line#skip }"); done < <(grep -E '^skip ' "$log")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$f" = 0 ]; then
    printf '  %-44s %3d passed%s  (%ds)\n' "$label" "$p" "$(skip_note $s)" $((SECONDS - t0))
  else
    printf '  %-44s %3d passed, %d FAILED%s  (%ds, log %s)\n' "$label" "$p" "$f" "$(skip_note $s)" $((SECONDS - t0)) "$log"
    failures+=("$label")
    { grep -E '^not ok' "$log"; [ $rc -ne 0 ] && tail -3 "$log"; } | head -8 | sed 's/^/      /'
  fi
}

echo "unit tests (release build)"
for t in build/tests/test_*; do
  [ -x "$t" ] || continue
  [[ -z "$only" || "$t" == *"$only"* ]] || continue
  run_unit "$t" "${t#build/tests/}"
done
echo "unit tests (ASan+UBSan build)"
for t in build/asan/tests/test_*; do
  [ -x "$t" ] || continue
  [[ -z "$only" || "$t" == *"$only"* ]] || continue
  run_unit "$t" "asan/${t#build/asan/tests/}"
done
echo "integration tests"
for s in tests/integration/*.sh; do
  [ -f "$s" ] || continue
  [[ -z "$only" || "$s" == *"$only"* ]] || continue
  run_integration "$s"
done
if [ ${#skips[@]} -gt 0 ]; then
  echo "skipped (not run here; not a pass):"
  printf '  %s\n' "${skips[@]}"
fi
if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "logs: $LOGDIR"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
