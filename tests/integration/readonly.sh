#!/usr/bin/env bash
# Planning and looking at a run without writing to it: nq-train --plan before nq-shard has run
# (the plan needs only the model and batch shapes; docs/scaling.md) prints the plan and creates
# nothing; nq-report --out DIR on a run_dir mounted read-only (a bind mount: root ignores
# chmod) writes the page into DIR and takes its lock there (docs/report.md), and --plan runs
# there too; nothing under run_dir is created. The read-only part needs root and mount --bind.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init readonly
B=${B:-build}
out=$($B/nq-train $CFG --set run_dir="$T/run" "${TINY_MODEL[@]}" --plan 2>&1); rc=$?
[ $rc = 0 ] && grep -q "total per rank" <<<"$out" && grep -q "no shards yet" <<<"$out" && [ ! -e "$T/run" ] &&
  ok readonly_train_plan_before_shard || bad readonly_train_plan_before_shard "rc=$rc: $(tail -n 1 <<<"$out")"
nq_prepare_smoke "$T/run" || exit 1
if [ "$(id -u)" != 0 ] || ! mkdir -p "$T/ro" || ! mount --bind "$T/run" "$T/ro" 2>/dev/null; then
  skip readonly_report_out "needs root and mount --bind (not available here)"
  exit $failed
fi
trap 'umount "$T/ro" 2>/dev/null; rm -rf "$T"' EXIT
if ! mount -o remount,bind,ro "$T/ro" 2>/dev/null || touch "$T/ro/probe" 2>/dev/null; then
  skip readonly_report_out "cannot remount the bind mount read-only here"
  exit $failed
fi
before=$(cd "$T/run" && find . | sort)
out=$($B/nq-report $CFG --set run_dir="$T/ro" --out "$T/look" 2>&1); rc=$?
after=$(cd "$T/run" && find . | sort)
[ $rc = 0 ] && [ -s "$T/look/index.html" ] && [ "$before" = "$after" ] && ok readonly_report_out \
  || bad readonly_report_out "rc=$rc, run_dir changed: $([ "$before" = "$after" ] && echo no || echo yes): $(tail -n 1 <<<"$out")"
out=$($B/nq-train $CFG --set run_dir="$T/ro" "${TINY_MODEL[@]}" --plan 2>&1); rc=$?
[ $rc = 0 ] && grep -q "total per rank" <<<"$out" && ! grep -q "no shards yet" <<<"$out" &&
  ok readonly_train_plan || bad readonly_train_plan "rc=$rc: $(tail -n 1 <<<"$out")"
# the lock moved with the page: a second writer into the same DIR is refused while it is held
out=$(flock "$T/look/.nq-report.lock" $B/nq-report $CFG --set run_dir="$T/ro" --out "$T/look" 2>&1); rc=$?
[ -f "$T/look/.nq-report.lock" ] && [ $rc != 0 ] && grep -q "another nq-report is running" <<<"$out" \
  && ok readonly_report_lock_in_out_dir || bad readonly_report_lock_in_out_dir "rc=$rc: $(tail -n 1 <<<"$out")"
exit $failed
