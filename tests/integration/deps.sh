#!/usr/bin/env bash
# `make deps` and library discovery (mk/deps.sh, mk/libs.sh), without installing anything:
# - with dpkg-query and apt-get hidden from PATH: `make deps` checks the libraries and finds
#   them all, `make build` succeeds (no root, no apt);
# - a fresh Debian machine (stub dpkg-query: nothing installed; stub apt-get: logs its
#   arguments): `make deps` (what `make run` runs) installs the runtime packages and no
#   test-only one, `make deps-test` (what `make test` runs) both; DRY_RUN=1 installs nothing;
# - not root and no sudo: nothing is installed, the libraries are checked instead;
# - a missing library is named with what to load;
# - discovery: Debian's names (also with Debian's mpi alternatives switched to MPICH),
#   MPICC=mpicc.mpich, HDF5_DIR, h5pcc, BLAS_LIBS before GSL.
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init deps
MK=(make --no-print-directory)
for v in DEBS_RUN DEBS_TEST; do
  declare "$v=$("${MK[@]}" -pn help 2>/dev/null | sed -n "s/^$v := //p")"
done
[ -n "$DEBS_RUN" ] && [ -n "$DEBS_TEST" ] || { bad deps_lists "no DEBS_RUN/DEBS_TEST in the Makefile"; exit 1; }

# ---- no dpkg, no apt: the libraries are checked -------------------------------------------
nq_path_without "$T/noapt" 'dpkg*' 'apt*' sudo
out=$(PATH=$T/noapt "${MK[@]}" deps 2>&1); rc=$?
[ $rc = 0 ] && grep -q "no dpkg/apt-get here" <<<"$out" && grep -q "^make deps: nothing missing" <<<"$out" &&
  [ "$(grep -c ' found' <<<"$out")" -ge 8 ] && ok deps_without_apt_nothing_missing ||
  bad deps_without_apt_nothing_missing "rc=$rc: $(tr '\n' ' ' <<<"$out")"
out=$(PATH=$T/noapt "${MK[@]}" -j2 build 2>&1); rc=$?
[ $rc = 0 ] && ! grep -qE "installing|sudo|[Ee]rror|MISSING:" <<<"$out" && ok deps_without_apt_make_build ||
  bad deps_without_apt_make_build "rc=$rc: $(grep -E "installing|sudo|[Ee]rror|MISSING:" <<<"$out" | head -n 3)"

# ---- a fresh Debian machine: stubs for dpkg-query and apt-get ------------------------------
nq_path_without "$T/fresh" 'dpkg-query' 'apt-get' npm
printf '#!/bin/sh\nexit 1\n' > "$T/fresh/dpkg-query"                # nothing installed
printf '#!/bin/sh\necho "$@" >> %s/apt.log\n' "$T" > "$T/fresh/apt-get"
chmod +x "$T/fresh/dpkg-query" "$T/fresh/apt-get"
installed() { sed -n 's/^install -y -qq --no-install-recommends //p' "$T/apt.log" 2>/dev/null | tr ' ' '\n' | sort; }
words() { tr ' ' '\n' <<<"$*" | grep . | sort; }
rm -f "$T/apt.log"; PATH=$T/fresh "${MK[@]}" deps > "$T/run.log" 2>&1
if [ "$(installed)" = "$(words $DEBS_RUN)" ]; then ok "deps_fresh_run_installs_runtime_only ($(words $DEBS_RUN | wc -l) packages)"
else bad deps_fresh_run_installs_runtime_only "installed: $(installed | tr '\n' ' ')"; fi
rm -f "$T/apt.log"; PATH=$T/fresh "${MK[@]}" deps-test > "$T/test.log" 2>&1
if [ "$(installed)" = "$(words $DEBS_RUN $DEBS_TEST nodejs npm)" ]; then ok deps_fresh_test_installs_both
else bad deps_fresh_test_installs_both "installed: $(installed | tr '\n' ' ')"; fi
rm -f "$T/apt.log"; out=$(PATH=$T/fresh "${MK[@]}" deps DRY_RUN=1 2>&1)
[ ! -e "$T/apt.log" ] && [ "$(sed -n 's/^make deps: would install://p' <<<"$out" | xargs -n1 | sort)" = "$(words $DEBS_RUN)" ] &&
  ok deps_dry_run_installs_nothing || bad deps_dry_run_installs_nothing "$out"
# make run and make test ask for those lists
run_deps=$("${MK[@]}" -n run | grep -o 'mk/deps.sh [a-z]*' | sort -u | tr '\n' ' ')
test_deps=$("${MK[@]}" -n test | grep -o 'mk/deps.sh [a-z]*' | sort -u | tr '\n' ' ')
[ "$run_deps" = "mk/deps.sh runtime " ] && grep -q "mk/deps.sh test" <<<"$test_deps" && ok deps_run_and_test_targets ||
  bad deps_run_and_test_targets "make run: '$run_deps', make test: '$test_deps'"

# ---- not root, no sudo: nothing installed, the libraries checked ---------------------------
nq_path_without "$T/user" 'dpkg-query' 'apt-get' id sudo
cp "$T/fresh/dpkg-query" "$T/fresh/apt-get" "$T/user/"
printf '#!/bin/sh\necho 1000\n' > "$T/user/id"; chmod +x "$T/user/id"
rm -f "$T/apt.log"; out=$(PATH=$T/user "${MK[@]}" deps 2>&1); rc=$?
[ $rc = 0 ] && [ ! -e "$T/apt.log" ] && grep -q "not root and no password-less sudo" <<<"$out" &&
  grep -q "^make deps: nothing missing" <<<"$out" && ok deps_not_root_checks_libraries ||
  bad deps_not_root_checks_libraries "rc=$rc: $(tr '\n' ' ' <<<"$out")"

# ---- a missing library is named, with what to load ----------------------------------------
out=$(PATH=$T/noapt "${MK[@]}" deps HDF5_DIR=/nonexistent 2>&1); rc=$?
[ $rc != 0 ] && grep -q "hdf5 .*MISSING: .*Spack: hdf5+mpi.*HDF5_DIR=/nonexistent" <<<"$out" &&
  [ "$(grep -c "  MISSING: " <<<"$out")" = 1 ] && ok deps_missing_library_named ||
  bad deps_missing_library_named "rc=$rc: $(tr '\n' ' ' <<<"$out")"

# ---- discovery ----------------------------------------------------------------------------
libs() { bash mk/libs.sh "$@" 2>&1 | tr -s ' '; }
if pkg-config --exists hdf5-openmpi; then
  [ "$(libs mpicc)" = mpicc.openmpi ] && [ "$(libs mpirun)" = mpirun.openmpi ] &&
    grep -q -- "-I/usr/include/hdf5/openmpi" <<<"$(libs cflags)" && ok deps_debian_open_mpi_names ||
    bad deps_debian_open_mpi_names "$(libs mpicc) $(libs mpirun) $(libs cflags)"
else skip deps_debian_open_mpi_names "no hdf5-openmpi.pc"; fi
if pkg-config --exists hdf5-mpich; then
  out=$(MPICC=mpicc.mpich libs libs)
  grep -q -- "-L/usr/lib/x86_64-linux-gnu/hdf5/mpich -lhdf5" <<<"$out" && ! grep -q openmpi <<<"$out" &&
    [ "$(MPICC=mpicc.mpich libs mpirun)" = mpiexec.mpich ] && ok deps_mpicc_mpich_takes_hdf5_mpich ||
    bad deps_mpicc_mpich_takes_hdf5_mpich "$out"
else skip deps_mpicc_mpich_takes_hdf5_mpich "no hdf5-mpich.pc"; fi
# Debian's mpi/mpirun alternatives switched to MPICH (here: links ahead on PATH) change nothing
if [ -x /usr/bin/mpicc.mpich ] && pkg-config --exists hdf5-openmpi; then
  mkdir -p "$T/flip"; ln -s /usr/bin/mpicc.mpich "$T/flip/mpicc"; ln -s /usr/bin/mpirun.mpich "$T/flip/mpirun"
  run_cmd=$(PATH=$T/flip:$PATH "${MK[@]}" -n run | grep -o 'ln -sfn "[^"]*"' | sort -u)
  [ "$(PATH=$T/flip:$PATH libs mpicc)" = mpicc.openmpi ] && [ "$run_cmd" = 'ln -sfn "$(command -v mpirun.openmpi)"' ] &&
    ok deps_switched_alternatives_keep_open_mpi ||
    bad deps_switched_alternatives_keep_open_mpi "mpicc $(PATH=$T/flip:$PATH libs mpicc); make run: $run_cmd"
else skip deps_switched_alternatives_keep_open_mpi "needs Debian's MPICH and Open MPI HDF5"; fi
out=$(HDF5_DIR=/opt/h5 BLAS_LIBS="-L/opt/ob/lib -lopenblas" libs libs)
[[ $out == "-L/opt/h5/lib -Wl,-rpath,/opt/h5/lib -lhdf5 -L/opt/ob/lib -lopenblas "*" -lgsl -lm" ]] &&
  ok deps_overrides_and_link_order || bad deps_overrides_and_link_order "$out"
mkdir -p "$T/nopc"
out=$(PKG_CONFIG_LIBDIR=$T/nopc PKG_CONFIG_PATH= libs libs); cf=$(PKG_CONFIG_LIBDIR=$T/nopc PKG_CONFIG_PATH= libs cflags)
if command -v h5pcc > /dev/null; then
  [[ $out == *"-lhdf5"*"-lopenblas"*"-lgsl -lm" ]] && grep -q -- "-I/" <<<"$cf" && ok deps_h5pcc_without_pkg_config ||
    bad deps_h5pcc_without_pkg_config "cflags '$cf' libs '$out'"
else skip deps_h5pcc_without_pkg_config "no h5pcc"; fi
exit $failed
