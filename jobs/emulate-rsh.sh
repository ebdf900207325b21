#!/usr/bin/env bash
# Open MPI's remote shell for the emulated cluster (jobs/emulate-cluster.sh): called as ssh
# would be, `emulate-rsh.sh [ssh options] HOST COMMAND...`; runs COMMAND on node HOST (a node's
# name or IP) inside its namespaces. Use: mpirun --mca plm_rsh_agent jobs/emulate-rsh.sh
# (absolute path) --host "$(jobs/emulate-cluster.sh hosts)" ..., with NQ_CLUSTER exported.
while [[ "${1:-}" == -* ]]; do
  case $1 in -l|-p|-o|-i|-F) shift ;; esac   # options that take a value
  shift
done
exec "$(dirname "$(realpath "$0")")/emulate-cluster.sh" run "$@"
