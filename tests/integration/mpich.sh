#!/usr/bin/env bash
# A second MPI: Debian's MPICH (libmpich-dev, libhdf5-mpich-dev; `make deps-test`). With a PATH
# that holds no Open MPI and no dpkg/apt (like a cluster: MPICH's mpicc and mpiexec, HDF5 from a
# plain `hdf5` pkg-config file), `make deps` finds every library and `make B=build/mpich`
# builds the stages without root; the smoke pipeline runs under MPICH's mpiexec with 2 ranks
# and its outputs equal the Open MPI run's (tests/integration/mpich/same_outputs.py). Then, when
# Slurm can run here, `srun --mpi=pmi2` starts the MPICH build through jobs/nq-*.sbatch.
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init mpich
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
MB=build/mpich
STAGES="nq-config nq-synth nq-shard nq-train nq-effect nq-annotate nq-eval nq-report"
for b in $STAGES; do
  [ -x build/$b ] || { bad mpich_prerequisites "build/$b missing (make build)"; exit 1; }
done
if [ ! -x /usr/bin/mpicc.mpich ] || [ ! -x /usr/bin/mpiexec.mpich ] ||
   [ ! -f /usr/lib/x86_64-linux-gnu/pkgconfig/hdf5-mpich.pc ]; then
  why="Debian's MPICH is not installed (make deps-test installs mpich libmpich-dev libhdf5-mpich-dev)"
  # where make test could install it, it should be here
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then bad mpich_installed "$why"; exit 1; fi
  skip mpich "$why"; exit 0
fi

# ---- a PATH and a pkg-config path without Open MPI, dpkg and apt ----------------------------
# every MPI command but MPICH's own (Debian's plain mpi* names are alternatives, Open MPI's here)
nq_path_without "$T/bin" 'mpi*' '*openmpi*' 'orte*' 'ompi*' 'opal*' 'osh*' 'shmem*' h5pcc h5pfc 'dpkg*' 'apt*' sudo
for f in /usr/bin/*.mpich /usr/bin/mpichversion /usr/bin/mpiexec.hydra; do ln -s "$f" "$T/bin/"; done
mkdir -p "$T/pc"
ln -s /usr/bin/mpicc.mpich "$T/bin/mpicc"
ln -s /usr/bin/mpiexec.mpich "$T/bin/mpiexec"
ln -s /usr/bin/mpiexec.mpich "$T/bin/mpirun"
for f in /usr/lib/x86_64-linux-gnu/pkgconfig/*.pc /usr/share/pkgconfig/*.pc; do
  n=${f##*/}
  case $n in ompi*|orte*|hdf5*) continue ;; esac
  ln -sf "$f" "$T/pc/$n"
done
ln -s /usr/lib/x86_64-linux-gnu/pkgconfig/hdf5-mpich.pc "$T/pc/hdf5.pc"   # a cluster's plain name
CLUSTER=(env PATH="$T/bin" PKG_CONFIG_LIBDIR="$T/pc" PKG_CONFIG_PATH=)
if "${CLUSTER[@]}" bash -c 'for c in dpkg-query apt-get mpicc.openmpi ompi_info; do command -v $c && exit 0; done; exit 1'; then
  bad mpich_path_hides_open_mpi "found the above on the test PATH"
elif "${CLUSTER[@]}" mpirun --version 2>&1 | grep -q HYDRA; then ok mpich_path_hides_open_mpi
else bad mpich_path_hides_open_mpi "mpirun is not MPICH's: $("${CLUSTER[@]}" mpirun --version 2>&1 | head -n 2)"; fi

# ---- make deps and the build there --------------------------------------------------------
out=$("${CLUSTER[@]}" make --no-print-directory B=$MB deps 2>&1); rc=$?
[ $rc = 0 ] && grep -q "no dpkg/apt-get here" <<<"$out" && grep -q "^make deps: nothing missing" <<<"$out" &&
  ! grep -q MISSING <<<"$out" && ok mpich_deps_nothing_missing_without_apt ||
  bad mpich_deps_nothing_missing_without_apt "rc=$rc: $(tr '\n' ' ' <<<"$out")"
# Objects whose source reaches neither mpi.h nor hdf5.h (through the includes of common/) do not
# depend on the MPI: copied from build/ (mtimes kept, so make takes them as up to date). A miss
# here would leave an Open MPI symbol unresolved at link time, not pass silently.
reuse_objects() {
  local mpi prev="" f n=0
  mpi=$(grep -lE '#include <(mpi|hdf5)\.h>' common/*/*.[ch])
  while [ "$mpi" != "$prev" ]; do
    prev=$mpi
    mpi=$( { echo "$mpi"; grep -lF -f <(for f in $(grep '\.h$' <<<"$mpi"); do
             f=${f#common/}; echo "\"$f\""; echo "\"${f##*/}\""; done) common/*/*.[ch]; } | sort -u)
  done
  for f in common/*/*.c; do
    f=${f#common/}; f=${f%.c}.o
    grep -qx "common/${f%.o}.c" <<<"$mpi" && continue
    [ -f build/obj/$f ] || continue
    mkdir -p "$(dirname "$MB/obj/$f")" && cp -p build/obj/$f "$MB/obj/$f" && n=$((n + 1))
  done
  echo $n
}
t0=$SECONDS
reused=$(reuse_objects)
if "${CLUSTER[@]}" make --no-print-directory -j2 B=$MB $(printf "$MB/%s " $STAGES) > "$T/build.log" 2>&1; then
  ok "mpich_build ($((SECONDS - t0)) s, $MB; $(grep -c '  CC ' "$T/build.log") compiles, $reused MPI-free objects from build/)"
else
  bad mpich_build "$(grep -m3 -E 'error|MISSING|Error' "$T/build.log")"; exit 1
fi
libs=$(ldd $MB/nq-train)
grep -q libmpich <<<"$libs" && ! grep -qE 'libmpi\.so|openmpi' <<<"$libs" && ok mpich_binaries_link_mpich_only ||
  bad mpich_binaries_link_mpich_only "$(grep -E 'mpi' <<<"$libs" | tr '\n' ' ')"

# ---- the smoke pipeline under MPICH and under Open MPI -------------------------------------
if "${CLUSTER[@]}" NQ_BIN=$MB bash jobs/run-local.sh $CFG --set run_dir="$T/mpich" > "$T/mpich.log" 2>&1; then
  ok mpich_smoke_pipeline_runs
else bad mpich_smoke_pipeline_runs "$(tail -n 3 "$T/mpich.log")"; exit 1; fi
size=$($PY -c "import h5py; print(h5py.File('$T/mpich/shards/shard-00000.h5')['/'].attrs['nq_mpi_size'])" 2>&1)
[ "$size" = 2 ] && grep -q "mpirun -np 2 $MB/nq-train" "$T/mpich.log" && ok mpich_runs_two_ranks ||
  bad mpich_runs_two_ranks "nq_mpi_size '$size' (2 singletons instead of one 2-rank job?)"
if bash jobs/run-local.sh $CFG --set run_dir="$T/ompi" > "$T/ompi.log" 2>&1; then
  if out=$($PY tests/integration/mpich/same_outputs.py "$T/ompi" "$T/mpich" 2>&1); then
    ok "mpich_outputs_equal_open_mpi ($out)"
  else bad mpich_outputs_equal_open_mpi "$out"; fi
else bad mpich_outputs_equal_open_mpi "the Open MPI run failed: $(tail -n 3 "$T/ompi.log")"; fi
# the comparison can fail: one changed value in one dataset of the MPICH run
$PY -c "import h5py; f = h5py.File('$T/mpich/effects/shard-00000.h5', 'r+'); f['effect'][3] += 1e-6" &&
  ! $PY tests/integration/mpich/same_outputs.py "$T/ompi" "$T/mpich" > "$T/changed.log" 2>&1 &&
  grep -q "effects/shard-00000.h5: dataset effect differs" "$T/changed.log" && ok mpich_comparison_can_fail ||
  bad mpich_comparison_can_fail "$(cat "$T/changed.log")"

# ---- srun --mpi=pmi2 starts the MPICH build (jobs/nq-*.sbatch, NQ_SRUN_ARGS) -----------------
. tests/integration/slurm/cluster.sh
trap 'slurm_stop; rm -rf "$T"' EXIT
# installed here when missing, as slurm.sh does (one helper): on a fresh clone this script runs
# before slurm.sh, and would otherwise skip this case
if ! slurm_install; then
  if [ "$(id -u)" != 0 ]; then skip mpich_srun_pmi2 "$SLURM_WHY (run as root to install them)"; exit $failed; fi
  bad mpich_slurm_install "$SLURM_WHY"; exit $failed
fi
chmod 755 "$T"
if ! slurm_start "$T/cluster"; then skip mpich_srun_pmi2 "Slurm does not start here: $SLURM_WHY"; exit $failed; fi
S=$T/srun
job() {  # STAGE: one job, NQ_BIN and NQ_SRUN_ARGS reach it through sbatch's exported environment
  local id
  id=$("${CLUSTER[@]}" SLURM_CONF="$SLURM_CONF" NQ_BIN=$MB NQ_SRUN_ARGS=--mpi=pmi2 \
       sbatch --parsable --chdir="$PWD" --ntasks=2 -o "$T/srun-$1.out" jobs/$1.sbatch $CFG --set run_dir="$S") &&
    [ "$(slurm_wait "$id" 120)" = "$id COMPLETED" ]
}
if job nq-synth && job nq-shard; then
  size=$($PY -c "import h5py; print(h5py.File('$S/shards/shard-00000.h5')['/'].attrs['nq_mpi_size'])" 2>&1)
  if [ "$size" = 2 ] && grep -q "srun --mpi=pmi2" "$T/srun-nq-shard.out" &&
     out=$($PY tests/integration/mpich/same_outputs.py "$T/ompi" "$S" data shards tokenizer.json 2>&1); then
    ok "mpich_srun_pmi2 (synth + shard jobs on 2 tasks; $out)"
  else bad mpich_srun_pmi2 "nq_mpi_size '$size': $out $(tail -n 2 "$T/srun-nq-shard.out")"; fi
else bad mpich_srun_pmi2 "jobs failed: $(tail -n 3 "$T"/srun-*.out | tr '\n' ' ')"; fi
exit $failed
