#!/usr/bin/env bash
# `make deps` (runtime) and `make deps-test` (runtime + test-only):
#   mk/deps.sh runtime|test      package lists in $DEBS_RUN and $DEBS_TEST (from the Makefile)
# On Debian (dpkg-query and apt-get on PATH) as root, or with password-less sudo: installs the
# missing packages of the list, nothing else. Anywhere else (no apt, or no right to use it):
# installs nothing, checks that each library builds and links (mk/libs.sh check) and names,
# for each missing one, the module or Spack package to load. DRY_RUN=1: print what would be
# installed, install nothing. Exit status non-zero only when something needed is missing.
set -u
cd "$(dirname "$0")/.."
mode=${1:-runtime}
want=$DEBS_RUN flag=""
[ "$mode" = test ] && want="$DEBS_RUN $DEBS_TEST" flag=--test

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "make deps: no dpkg/apt-get here: checking the libraries instead of packages"
  if bash mk/libs.sh check $flag; then
    echo "make deps: nothing missing"; exit 0
  fi
  echo "make deps: load what is MISSING above (docs/cluster.md), or give its place:" \
       "make HDF5_DIR=... MPICC=... BLAS_LIBS=..." >&2
  exit 1
fi

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=" $p"
done
# node and npm run the tokenizer parity tests; the image may ship its own npm
if [ "$mode" = test ] && ! command -v npm >/dev/null; then missing+=" nodejs npm"; fi
n=$(wc -w <<<"$want")
if [ -z "$missing" ]; then echo "make deps: nothing missing ($n $mode Debian packages installed)"; exit 0; fi
if [ -n "${DRY_RUN:-}" ]; then echo "make deps: would install:$missing"; exit 0; fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n)
  else
    echo "make deps: not root and no password-less sudo: not installing$missing"
    echo "make deps: (\`sudo make deps\` installs them, or an administrator: apt-get install$missing); checking the libraries"
    bash mk/libs.sh check $flag && { echo "make deps: nothing missing"; exit 0; }
    exit 1
  fi
fi
echo "make deps: installing:$missing"
"${SUDO[@]}" apt-get update -qq &&
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
  { echo "make deps: apt-get install failed for:$missing" >&2; exit 1; }
