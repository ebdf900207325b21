#!/usr/bin/env bash
# Finds the MPI compiler and the library flags of the build, on Debian and on clusters
# (environment modules, Spack). The Makefile asks once per make run:
#   mk/libs.sh mpicc | cflags | libs | mpirun    print that
#   mk/libs.sh check [--test]                     compile and link a probe per library; list what
#                                                 is missing with what to load (make deps, no apt)
# Overrides (environment; the Makefile passes its variables of the same names):
#   MPICC=cc                    the MPI C compiler wrapper (Cray: cc; Intel MPI: mpiicc)
#   HDF5_DIR=/prefix            HDF5 in /prefix/include and /prefix/lib (rpath added)
#   BLAS_LIBS='-L/dir -lopenblas'  OpenBLAS link flags (BLAS_CFLAGS='-I/dir/include' for cblas.h)
# Without them: MPICC is mpicc, or Debian's mpicc.openmpi when Debian's Open MPI HDF5 is
# installed (so a Debian `mpi` alternative switched to MPICH changes nothing); HDF5 comes from
# pkg-config hdf5-<MPI flavour> (Debian's names), then plain pkg-config hdf5 (modules, Spack),
# then h5pcc -show; the other libraries from pkg-config, else plain -l names.
set -u

pc() { pkg-config "$@" 2>/dev/null; }

find_mpicc() {
  if [ -n "${MPICC:-}" ]; then echo "$MPICC"
  elif pc --exists hdf5-openmpi && command -v mpicc.openmpi >/dev/null; then echo mpicc.openmpi
  else echo mpicc; fi
}
MPICC=$(find_mpicc)

# openmpi | mpich | "" : from a Debian suffix, else from what the wrapper prints
mpi_flavour() {
  case $MPICC in
    *.openmpi) echo openmpi; return ;;
    *.mpich) echo mpich; return ;;
  esac
  local show
  show=$("$MPICC" -show 2>/dev/null || "$MPICC" -showme 2>/dev/null)
  case $show in
    *mpich*) echo mpich ;;
    *openmpi*|*-lmpi\ *|*-lmpi) echo openmpi ;;
  esac
}

# the launcher that matches the compiler (Debian installs both under suffixed names)
find_mpirun() {
  case $MPICC in
    *.openmpi) command -v mpirun.openmpi >/dev/null && { echo mpirun.openmpi; return; } ;;
    *.mpich) command -v mpiexec.mpich >/dev/null && { echo mpiexec.mpich; return; } ;;
  esac
  echo mpirun
}

# HDF5: sets HDF5_C, HDF5_L and HDF5_FROM (what found it)
find_hdf5() {
  local f name show w
  HDF5_C="" HDF5_L="" HDF5_FROM=""
  if [ -n "${HDF5_DIR:-}" ]; then
    HDF5_C="-I$HDF5_DIR/include"
    HDF5_L="-L$HDF5_DIR/lib -Wl,-rpath,$HDF5_DIR/lib -lhdf5"
    HDF5_FROM="HDF5_DIR=$HDF5_DIR"; return 0
  fi
  f=$(mpi_flavour)
  for name in ${f:+hdf5-$f} hdf5; do
    if pc --exists "$name"; then
      HDF5_C=$(pc --cflags "$name"); HDF5_L=$(pc --libs "$name")
      HDF5_FROM="pkg-config $name"; return 0
    fi
  done
  for name in ${f:+h5pcc.$f} h5pcc; do
    command -v "$name" >/dev/null || continue
    # -showconfig names the install; -show prints "<compiler> <flags>": keep the flags
    "$name" -showconfig >/dev/null 2>&1 || continue
    show=$("$name" -shlib -show 2>/dev/null || "$name" -show 2>/dev/null) || continue
    for w in ${show#* }; do
      case $w in
        -I*|-D*) HDF5_C+=" $w" ;;
        -L*|-l*|-Wl,*|*.so|*.so.*|*.a) HDF5_L+=" $w" ;;
      esac
    done
    case " $HDF5_L " in *" -lhdf5 "*|*libhdf5.*) ;; *) HDF5_L+=" -lhdf5" ;; esac
    HDF5_FROM="$name -show"; return 0
  done
  return 1
}

# pkg-config NAME when it has a .pc file, else the plain FALLBACK flags
pc_or() {  # cflags|libs NAME FALLBACK
  if pc --exists "$2"; then pc "--$1" "$2"; elif [ "$1" = libs ]; then echo "$3"; fi
}

blas_cflags() { if [ -n "${BLAS_LIBS:-}" ]; then echo "${BLAS_CFLAGS:-}"; else pc_or cflags openblas ""; fi; }
blas_libs() { if [ -n "${BLAS_LIBS:-}" ]; then echo "$BLAS_LIBS"; else pc_or libs openblas -lopenblas; fi; }
# GSL's own libs add -lgslcblas: only its -L part, so cblas binds to OpenBLAS
gsl_libs() { echo "$(pc --libs-only-L gsl) -lgsl"; }
# oneDNN (bf16 matmuls, model.precision = "bf16") ships no pkg-config file: DNNL_DIR=/prefix
# (module or Spack onednn) or the system's default search path (Debian libdnnl-dev)
dnnl_cflags() { [ -z "${DNNL_DIR:-}" ] || echo "-I$DNNL_DIR/include"; }
dnnl_libs() { if [ -n "${DNNL_DIR:-}" ]; then echo "-L$DNNL_DIR/lib -L$DNNL_DIR/lib64 -Wl,-rpath,$DNNL_DIR/lib -Wl,-rpath,$DNNL_DIR/lib64 -ldnnl"; else echo -ldnnl; fi; }

cflags() {
  find_hdf5 || { echo "mk/libs.sh: HDF5 not found (make deps says what to load)" >&2; }
  echo "$HDF5_C $(blas_cflags) $(pc_or cflags libconfig '') $(pc_or cflags jansson '')" \
       "$(pc_or cflags libpcre2-8 '') $(pc_or cflags gsl '') $(dnnl_cflags)"
}
# Order matters: -lopenblas before GSL, so cblas binds to OpenBLAS rather than the slow gslcblas.
libs() {
  find_hdf5 || { echo "mk/libs.sh: HDF5 not found (make deps says what to load)" >&2; }
  echo "$HDF5_L $(blas_libs) $(pc_or libs libconfig -lconfig) $(pc_or libs jansson -ljansson)" \
       "$(pc_or libs libpcre2-8 -lpcre2-8) $(dnnl_libs) $(gsl_libs) -lm"
}

# ---- check: one compile-and-link probe per library ---------------------------------------
# probe NAME HINT CFLAGS LIBS HEADER CALL: writes PROBE_DIR/NAME.out, "  NAME  found" or
# "  NAME  MISSING: HINT" and the compiler's first lines
PROBE_DIR=""
probe() {
  local name=$1
  probe_run "$@" > "$PROBE_DIR/$name.out" 2>&1
}
probe_run() {
  local name=$1 hint=$2 cf=$3 lf=$4 hdr=$5 call=$6
  printf '#include <%s>\nint main(void) { %s; return 0; }\n' "$hdr" "$call" > "$PROBE_DIR/$name.c"
  # shellcheck disable=SC2086
  if "$MPICC" $cf "$PROBE_DIR/$name.c" -o "$PROBE_DIR/$name" $lf > "$PROBE_DIR/$name.log" 2>&1; then
    printf '  %-10s found\n' "$name"; return 0
  fi
  printf '  %-10s MISSING: %s\n' "$name" "$hint"
  sed -n '1,2s/^/             | /p' "$PROBE_DIR/$name.log"
  return 1
}

check() {
  local test=0 miss=0 wn
  [ "${1:-}" = --test ] && test=1
  PROBE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nq-deps.XXXXXX") || exit 1
  trap 'rm -rf "$PROBE_DIR"' EXIT
  echo "libraries (MPICC=$MPICC):"
  if ! command -v "$MPICC" >/dev/null; then
    printf '  %-10s MISSING: %s\n' mpi "no $MPICC on PATH: module load openmpi (or mpich, cray-mpich, intel-mpi and MPICC=cc/mpiicc); Spack: openmpi or mpich"
    return 1
  fi
  # the probes run side by side; their lines print in this order
  probe mpi "module load openmpi (or mpich ...); Spack: openmpi or mpich" "" "" mpi.h "MPI_Init(0, 0)" &
  find_hdf5 || HDF5_FROM="not found"
  probe hdf5 "module load hdf5 built with this MPI; Spack: hdf5+mpi; or HDF5_DIR=/prefix ($HDF5_FROM)" \
    "$HDF5_C" "$HDF5_L" hdf5.h "H5open()" &
  probe openblas "module load openblas; Spack: openblas; or BLAS_LIBS='-L/dir -lopenblas'" \
    "$(blas_cflags)" "$(blas_libs)" cblas.h "openblas_set_num_threads(1)" &
  probe libconfig "Spack: libconfig (or PKG_CONFIG_PATH to its lib/pkgconfig)" \
    "$(pc_or cflags libconfig '')" "$(pc_or libs libconfig -lconfig)" libconfig.h "config_init(0)" &
  probe jansson "Spack: jansson" "$(pc_or cflags jansson '')" "$(pc_or libs jansson -ljansson)" \
    jansson.h "json_object()" &
  probe pcre2 "Spack: pcre2" "-DPCRE2_CODE_UNIT_WIDTH=8 $(pc_or cflags libpcre2-8 '')" \
    "$(pc_or libs libpcre2-8 -lpcre2-8)" pcre2.h "pcre2_general_context_create(0, 0, 0)" &
  probe onednn "module load onednn (or intel-oneapi-dnn); Spack: onednn; or DNNL_DIR=/prefix" \
    "$(dnnl_cflags)" "$(dnnl_libs)" dnnl.h "dnnl_version()" &
  probe gsl "module load gsl; Spack: gsl" "$(pc_or cflags gsl '')" "$(gsl_libs) $(blas_libs) -lm" \
    gsl/gsl_rng.h "gsl_rng_alloc(gsl_rng_mt19937)" &
  wait
  for n in mpi hdf5 openblas libconfig jansson pcre2 onednn gsl; do
    cat "$PROBE_DIR/$n.out"
    grep -q '^  [a-z0-9]* *found' "$PROBE_DIR/$n.out" || miss=1
  done
  wn=${NQ_WORDNET_DIR:-/usr/share/wordnet}
  if [ -f "$wn/index.noun" ]; then printf '  %-10s found (%s)\n' wordnet "$wn"
  else
    printf '  %-10s MISSING: %s\n' wordnet "no $wn/index.noun: WordNet 3.0's dict/ folder for METEOR, then NQ_WORDNET_DIR=/path/to/dict"
    miss=1
  fi
  if [ $test = 1 ]; then
    probe cmocka "Spack: cmocka (the unit tests)" "$(pc_or cflags cmocka '')" "$(pc_or libs cmocka -lcmocka)" \
      "stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h" "_cmocka_run_group_tests(0, 0, 0, 0, 0)"
    cat "$PROBE_DIR/cmocka.out"
    grep -q '^  [a-z0-9]* *found' "$PROBE_DIR/cmocka.out" || miss=1
    # reference checks only: missing ones fail their tests, they do not stop the build
    if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then printf '  %-10s found\n' h5py
    else printf '  %-10s missing (reference checks in tests): /usr/bin/python3 with h5py and numpy\n' h5py; fi
  fi
  return $miss
}

case ${1:-} in
  mpicc) echo "$MPICC" ;;
  mpirun) find_mpirun ;;
  cflags) cflags ;;
  libs) libs ;;
  check) shift; check "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
