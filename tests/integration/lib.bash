# Shared set-up of the integration tests (source it from a test script run from the repo
# root): a temp directory removed on exit, ok/bad reporting, MPI as root, and the smoke
# benchmark's synth + shard.
#   . tests/integration/lib.bash; nq_test_init effect     -> $T, $failed, ok NAME, bad NAME WHY,
#                                                            skip NAME WHY
#   nq_prepare_smoke "$T/run" || exit 1                 -> synth + shard of configs/smoke.cfg
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
CFG=configs/smoke.cfg
# The tests' tiny model, set here so the tests do not depend on the config's model section.
TINY_MODEL=(--set model.dim=32 --set model.n_layers=2 --set model.n_heads=2 --set model.n_kv_heads=1
            --set model.ffn_dim=64 --set model.max_seq_len=640 --set model.threads=1)

nq_test_init() {
  T=$(mktemp -d "/tmp/nq-$1-test.XXXXXX")
  NQ_TEST_NAME=$1
  trap 'rm -rf "$T"' EXIT
  failed=0
}
ok() { echo "ok $1"; }
bad() { echo "not ok $1: $2"; failed=1; }
# A check that cannot run on this machine (tests/run.sh counts and lists it; not a failure).
skip() { echo "skip $1 $2"; }

# Synth + shard of the smoke benchmark into run directory $1 (log in $T/prep.log).
nq_prepare_smoke() {
  if ! { build/nq-synth $CFG --set run_dir=\"$1\" && build/nq-shard $CFG --set run_dir=\"$1\"; } \
       > "$T/prep.log" 2>&1; then
    bad "${NQ_TEST_NAME}_prepare" "synth/shard failed: $(tail -n 2 "$T/prep.log")"
    return 1
  fi
}

# A directory of links to every command of /usr/bin except those matching the given globs, to
# use as PATH (a machine without dpkg and apt, or without Open MPI):
#   nq_path_without "$T/bin" 'dpkg*' 'apt*' sudo
nq_path_without() {
  local dir=$1 f n g keep=(); shift
  mkdir -p "$dir"
  for f in /usr/bin/*; do
    n=${f##*/}
    for g in "$@"; do
      # shellcheck disable=SC2053
      [[ $n == $g ]] && continue 2
    done
    keep+=("$f")
  done
  ln -s "${keep[@]}" "$dir/"
}
