# Shared set-up of the integration tests (source it from a test script run from the repo
# root): a temp directory removed on exit, ok/bad reporting, MPI as root, and the smoke
# benchmark's synth + shard.
#   . tests/integration/lib.bash; nq_test_init effect     -> $T, $failed, ok NAME, bad NAME WHY
#   nq_prepare_smoke "$T/run" || exit 1                 -> synth + shard of configs/smoke.cfg
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
CFG=configs/smoke.cfg

nq_test_init() {
  T=$(mktemp -d "/tmp/nq-$1-test.XXXXXX")
  NQ_TEST_NAME=$1
  trap 'rm -rf "$T"' EXIT
  failed=0
}
ok() { echo "ok $1"; }
bad() { echo "not ok $1: $2"; failed=1; }

# Synth + shard of the smoke benchmark into run directory $1 (log in $T/prep.log).
nq_prepare_smoke() {
  if ! { build/nq-synth $CFG --set run_dir=\"$1\" && build/nq-shard $CFG --set run_dir=\"$1\"; } \
       > "$T/prep.log" 2>&1; then
    bad "${NQ_TEST_NAME}_prepare" "synth/shard failed: $(tail -n 2 "$T/prep.log")"
    return 1
  fi
}
