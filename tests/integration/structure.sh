#!/usr/bin/env bash
# The architecture, checked (README.md "Layout"; docs of the rules: the comments below):
# common/ holds only subsystem folders, each named in README's Layout section; stage
# executables stay thin; no long functions in common/; includes point one way (stage folders
# and tools -> pipeline -> files -> h5 -> hf -> model, text, metrics -> settings -> config ->
# base), with no folder cycle; MPI only in pipeline/ and the stage folders; each HDF5 name a
# layout table declares (files/layouts.c) is spelled in one file of common/ only. No build
# needed except for the last check (build/tests/test_layout --names).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init structure
STAGE_DIRS="synth shard effect annotate train eval report"
TOOL_DIRS="export seeds config_tool"   # rooms of the tools nq-export, nq-seeds, nq-config
STAGE_MAX_LINES=40
FN_MAX_LINES=100

# ---- common/: subsystem folders only, each one in README's Layout section ----------------
loose=$(find common -mindepth 1 -maxdepth 1 ! -type d -printf '%f ')
[ -z "$loose" ] && ok structure_common_only_folders || bad structure_common_only_folders "loose files: $loose"
layout=$(awk '/^## Layout/{on=1; next} /^## /{on=0} on' README.md)
[ -n "$layout" ] || bad structure_readme_layout "README.md has no '## Layout' section"
missing=""
for d in common/*/; do
  d=$(basename "$d")
  grep -qE "common/$d/|\`$d/\`" <<<"$layout" || missing+=" $d"
done
[ -z "$missing" ] && ok structure_folders_in_readme_layout \
  || bad structure_folders_in_readme_layout "not in README's Layout section:$missing"

# ---- thin executables: stage_begin, one <stage>_run call, stage_end ----------------------
long=""
for f in stages/nq-*.c; do
  n=$(wc -l < "$f")
  [ "$n" -le $STAGE_MAX_LINES ] || long+=" $f ($n lines)"
done
[ -z "$long" ] && ok structure_stage_files_short || bad structure_stage_files_short "over $STAGE_MAX_LINES lines:$long"

# ---- functions in common/ at most FN_MAX_LINES lines (tests/tools/fnlen.py measures) ------
if ! over=$(LIM=$FN_MAX_LINES python3 tests/tools/fnlen.py $(find common -name '*.c' | sort) 2>&1); then
  bad structure_function_length "fnlen.py failed: $over"
elif [ -z "$over" ]; then ok structure_function_length
else
  while read -r n where name; do
    bad "structure_function_length" "$where $name is $n lines (at most $FN_MAX_LINES)"
  done <<<"$over"
fi

# ---- includes point one way -------------------------------------------------------------
# "folder file included-folder" for every #include "folder/x.h" in common/ (and "stages" for
# stages/); a quoted include without a folder is its own failure.
edges=$(grep -HoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"' common/*/*.[ch] stages/*.c |
        sed -E 's|^common/([^/]+)/([^:]+):.*"([^"]*)"$|\1 \1/\2 \3|; s|^stages/([^:]+):.*"([^"]*)"$|stages stages/\1 \2|')
bare=$(awk '$3 !~ /\// {print $2 ": " $3}' <<<"$edges")
[ -z "$bare" ] && ok structure_includes_name_their_folder \
  || bad structure_includes_name_their_folder "$(tr '\n' ' ' <<<"$bare")"
edges=$(awk '$3 ~ /\// {split($3, p, "/"); print $1, $2, p[1]}' <<<"$edges")

is_stage() { [[ " $STAGE_DIRS " == *" $1 "* ]]; }
is_tool() { [[ " $TOOL_DIRS " == *" $1 "* ]]; }
# The floor of each folder: a file may include headers of its own folder and of lower floors
# only (folders of one floor do not include each other); stages/ may include anything.
floor() {
  case $1 in
    base) echo 0 ;; config) echo 1 ;; settings) echo 2 ;; text|model|metrics) echo 3 ;;
    hf) echo 4 ;; h5) echo 5 ;; files) echo 6 ;; pipeline) echo 7 ;; stages) echo 9 ;;
    *) if is_stage "$1" || is_tool "$1"; then echo 8; else echo 99; fi ;;
  esac
}
# allowed FROM TO: may a file in folder FROM include a header of folder TO?
allowed() {
  local from=$1 to=$2
  [ "$from" = "$to" ] && return 0
  [ "$(floor "$from")" -gt "$(floor "$to")" ]
}
wrong=""
while read -r from file to; do
  [ -n "$from" ] || continue
  allowed "$from" "$to" || wrong+=" $file->$to/"
done <<<"$edges"
[ -z "$wrong" ] && ok structure_include_direction || bad structure_include_direction "${wrong# }"
# no cycle between folders (tsort names the loop)
if cyc=$(awk '$1 != $3 {print $3, $1}' <<<"$edges" | sort -u | tsort 2>&1 >/dev/null) && [ -z "$cyc" ]; then
  ok structure_no_include_cycle
else bad structure_no_include_cycle "$(tr '\n' ' ' <<<"$cyc")"; fi

# ---- MPI only in pipeline/ and the stage folders ------------------------------------------
# base/log.c is the one exception: fatal() stops the whole MPI job when MPI is up.
mpi=""
for f in $(grep -lE '#[[:space:]]*include[[:space:]]*<mpi\.h>' common/*/*.[ch]); do
  d=$(cut -d/ -f2 <<<"$f")
  [ "$d" = pipeline ] || is_stage "$d" || [ "$f" = common/base/log.c ] || mpi+=" $f"
done
[ -z "$mpi" ] && ok structure_mpi_only_in_drivers || bad structure_mpi_only_in_drivers "include <mpi.h>:$mpi"

# ---- a script that starts Slurm installs it first (slurm/cluster.sh's slurm_install) ----------
# so the order tests/run.sh runs the scripts in (mpich.sh before slurm.sh) does not decide
# whether a case runs or skips on a fresh clone
noinst=""
for f in tests/integration/*.sh; do
  grep -q 'slurm_start ' "$f" || continue
  first_start=$(grep -n 'slurm_start ' "$f" | head -n 1 | cut -d: -f1)
  first_inst=$(grep -n 'slurm_install' "$f" | head -n 1 | cut -d: -f1)
  [ -n "$first_inst" ] && [ "$first_inst" -lt "$first_start" ] || noinst+=" $f"
done
[ -z "$noinst" ] && ok structure_slurm_installed_before_start \
  || bad structure_slurm_installed_before_start "slurm_start without slurm_install first:$noinst"

# ---- every HDF5 name of a layout table spelled in one file of common/ ---------------------
# A file kind's table (common/files/<kind>_file.c) is the one place its names are written:
# - no HDF5 call anywhere in common/ names a layout's dataset or attribute by hand
#   (h5_read_x(f, "weight"), H5Aopen(f, "n_tokens")): readers and writers walk the table;
# - among the files of files/, h5/ and hf/ that touch HDF5, the quoted name appears in one per layout that
#   declares it (a count like n_samples may be declared by several). The same word used as a
#   JSON key, a config value or a directory name elsewhere ("threshold" in summary.json, the
#   rule "log_ratio", the effects/ folder) is not an HDF5 name and is not counted.
if [ ! -x build/tests/test_layout ]; then
  bad structure_layout_names_once "build/tests/test_layout missing (make build)"
elif ! names=$(build/tests/test_layout --names 2>&1); then
  bad structure_layout_names_once "test_layout --names failed: $names"
else
  h5files=$(grep -rlE --include='*.[ch]' '\b(hid_t|h5_field|h5_layout)\b' common/files common/h5 common/hf | sort)
  # a file kind's own kind and writer strings ("effect files", "shard") are not its fields
  kinds=$(sed -nE 's/^const h5_layout [a-z_]+ = \{"([^"]+)", "([^"]+)".*/\1\n\2/p' common/files/*.c)
  dup=""; n_names=0
  while read -r name; do
    [ -n "$name" ] || continue
    [[ "$name" != *"<"* ]] || continue   # a pattern row (optimizer/m/<HF tensor name>)
    n_names=$((n_names + 1))
    declared=$(grep -cxF -- "$name" <<<"$names")
    q="\"$name\""
    by_hand=$(grep -rnE --include='*.[ch]' "(h5_(read|write|attr|exists|dataset)[a-z0-9_]*|H5[DAL][a-z0-9_]*)\\([^;]*$(sed 's/[][\.*^$/]/\\&/g' <<<"$q")" common | cut -d: -f1,2)
    [ -z "$by_hand" ] || dup+=" '$name' read or written by hand at $(echo $by_hand);"
    in_formats=$(comm -12 <(grep -rlF -- "$q" common/files common/h5 common/hf | sort) <(echo "$h5files"))
    n=$(grep -c . <<<"$in_formats")
    grep -qxF -- "$name" <<<"$kinds" && n=1
    [ "$n" -ge 1 ] && [ "$n" -le "$declared" ] || dup+=" '$name' in $n files/h5/hf files ($(echo $in_formats));"
  done < <(sort -u <<<"$names")
  [ -z "$dup" ] && ok "structure_layout_names_once ($n_names names)" || bad structure_layout_names_once "${dup# }"
fi
exit $failed
