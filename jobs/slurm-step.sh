# shellcheck shell=bash
# Body shared by the stage job scripts jobs/nq-<stage>.sbatch (sourced from the repo root,
# not a job script itself). Arguments of every stage job:
#   CONFIG [--set key=value]... [--nq-points FILE] [--nq-forced]
# The stage records its own stamp when it succeeds (pipeline/freshness.c), the same record a
# run of jobs/run-local.sh leaves, so `make run` and Slurm agree on what is current.
# --nq-points FILE (added by jobs/submit.sh): job array over sweep points; task i reads the
# line "i<TAB>key=value<TAB>..." of FILE (its overrides, run_dir included). --nq-forced (added
# by jobs/submit.sh for --from/--only and the steps after a rerun one): nq-effect makes every
# file again; otherwise it keeps the files an interrupted run of its stamp finished.
# The stage runs under `srun` over the job's tasks (NQ_SRUN_ARGS, default "--mpi=pmix" for Open
# MPI; "--mpi=pmi2" for MPICH and its derivatives; empty: the cluster's MpiDefault).
# Signals: the batch shell forwards USR1 (sbatch --signal=B:USR1@T, scancel --signal=USR1
# --batch) and TERM (scancel, preemption) to srun as USR1 (srun would kill the step on TERM),
# and srun passes it to the tasks. nq-train then checkpoints at the next step boundary and
# exits 75; after a USR1 the job requeues itself (`scontrol requeue`), after a TERM it stops
# (a cancel stays a cancel; a preemption with PreemptMode=REQUEUE is requeued by Slurm). A
# restarted job (SLURM_RESTART_COUNT > 0) runs nq-train with --resume (from its newest
# checkpoint; with none it starts over); everything else runs with --force (nq-effect: above).

nq_job_fail() { echo "$(date -u +%H:%M:%S) nq-job: $*" >&2; exit 2; }
nq_job_log() { echo "$(date -u +%H:%M:%S) nq-job: $*"; }

nq_job_main() {
  local stage=$1; shift
  local config="" sets=() points="" forced=0 kv
  while [ $# -gt 0 ]; do
    case $1 in
      --set) sets+=(--set "${2:?--set needs key=value}"); shift 2 ;;
      --nq-points) points=${2:?}; shift 2 ;;
      --nq-forced) forced=1; shift ;;
      -*) nq_job_fail "unknown option '$1' (usage: CONFIG [--set key=value]...)" ;;
      *) [ -z "$config" ] || nq_job_fail "unexpected argument '$1'"; config=$1; shift ;;
    esac
  done
  [ -n "$config" ] || nq_job_fail "usage: sbatch jobs/$stage.sbatch CONFIG [--set key=value]..."
  [ -f "$config" ] || nq_job_fail "config '$config' not found (from $(pwd))"
  local bin=${NQ_BIN:-build}
  [ -x "$bin/$stage" ] || nq_job_fail "$bin/$stage not found (from $(pwd)); run make build"
  if [ -n "$points" ]; then
    local task=${SLURM_ARRAY_TASK_ID:?--nq-points needs a job array} line f
    line=$(awk -F'\t' -v i="$task" '$1 == i' "$points")
    [ -n "$line" ] || nq_job_fail "no point $task in $points"
    IFS=$'\t' read -r -a f <<<"$line"
    for kv in "${f[@]:1}"; do sets+=(--set "$kv"); done
    nq_job_log "sweep point $task: ${f[*]:1}"
  fi
  local logs step
  logs=$("$bin/nq-config" "$config" "${sets[@]}" --path logs) || nq_job_fail "bad config or --set"
  mkdir -p "$logs"

  local mode=--force
  [ "$stage" = nq-effect ] && [ $forced = 0 ] && mode=""
  if [ "$stage" = nq-train ] && [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then
    mode=--resume
    nq_job_log "restart ${SLURM_RESTART_COUNT}: resuming from the newest checkpoint (if there is one)"
  fi
  step=${SLURM_JOB_NAME:-$stage}; step=${step#nq-}

  export NQ_PROGRESS_TTY=0
  local srun_args
  read -r -a srun_args <<<"${NQ_SRUN_ARGS---mpi=pmix}"   # set but empty: the cluster's MpiDefault
  local cmd=(srun "${srun_args[@]}" --kill-on-bad-exit=1 "$bin/$stage" "$config" "${sets[@]}" ${mode:+"$mode"})
  nq_job_log "job ${SLURM_JOB_ID:-?} on ${SLURM_NTASKS:-?} tasks${SLURM_JOB_NODELIST:+ (nodes $SLURM_JOB_NODELIST)}: ${cmd[*]}"
  local t0=$SECONDS rc=0 pid
  NQ_JOB_SIGNALLED=0 NQ_JOB_SIGNAL="" pid=""
  # forward to srun (B: signals reach only this shell), which passes USR1 on to the tasks.
  # SIGTERM goes on as USR1 too: srun answers a TERM by killing the step, while nq-train
  # checkpoints on either signal (the other stages just stop).
  trap 'NQ_JOB_SIGNALLED=1 NQ_JOB_SIGNAL=USR1; nq_job_log "got SIGUSR1: forwarding"; [ -z "$pid" ] || kill -USR1 "$pid" 2>/dev/null' USR1
  trap 'NQ_JOB_SIGNALLED=1 NQ_JOB_SIGNAL=${NQ_JOB_SIGNAL:-TERM}; nq_job_log "got SIGTERM: forwarding as SIGUSR1"; [ -z "$pid" ] || kill -USR1 "$pid" 2>/dev/null' TERM
  "${cmd[@]}" &
  pid=$!
  wait "$pid" || rc=$?
  while [ "$NQ_JOB_SIGNALLED" = 1 ]; do   # wait was interrupted by the trap: wait for the exit
    NQ_JOB_SIGNALLED=0
    local rc2=0
    wait "$pid" || rc2=$?
    [ "$rc2" = 127 ] || rc=$rc2   # 127: already collected, keep the status we have
  done
  trap - USR1 TERM
  if [ "$rc" = 0 ]; then
    nq_job_log "${step:-$stage} done in $((SECONDS - t0)) s"
    return 0
  fi
  # USR1 (--signal=B:USR1@T, scancel --signal=USR1 --batch) means "checkpoint and come back":
  # requeue. A SIGTERM (scancel, preemption) only stops: Slurm decides whether the job returns
  # (PreemptMode=REQUEUE requeues it, and the rerun resumes).
  if [ "$rc" = 75 ] && [ "$stage" = nq-train ] && [ "$NQ_JOB_SIGNAL" = TERM ]; then
    nq_job_log "${step:-$stage} checkpointed after SIGTERM (exit 75); not requeueing"
  elif [ "$rc" = 75 ] && [ "$stage" = nq-train ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    nq_job_log "${step:-$stage} checkpointed after a signal (exit 75): requeueing job $SLURM_JOB_ID"
    if scontrol requeue "$SLURM_JOB_ID"; then
      # slurmctld now ends this run and queues the job again; give it time to do so
      sleep 30
      exit 0
    fi
    nq_job_log "scontrol requeue failed: resubmit the job (a resubmitted run starts over)"
  fi
  nq_job_log "${step:-$stage} failed (exit $rc) after $((SECONDS - t0)) s${step:+; after fixing the cause: jobs/submit.sh $config ... --from $step}"
  exit "$rc"
}
