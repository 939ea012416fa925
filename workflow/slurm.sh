#!/usr/bin/env bash
# Run one experiment as a Slurm job array: every task runs one shard of the work units and writes
# its own journal file under data/raw/<experiment>/<fingerprint>/ on the shared filesystem.
#
#   make build                                   # once, on a login node
#   sbatch --array=0-15 workflow/slurm.sh workflow/e1_regime1.yaml
#   # when every task has finished:
#   target/release/smoe merge workflow/e1_regime1.yaml && make all
#
# The shard index is SLURM_ARRAY_TASK_ID. The shard count is SHARD_COUNT if set, else the size
# of the array, which must then be the whole 0..N-1 (a task count that is not the shard count
# would silently split the plan differently). A task that failed, was cancelled or preempted is
# rerun by resubmitting only the missing shards with the original count (finished units are
# skipped); workflow/missing_shards.sh lists them:
#
#   sbatch --array=$(workflow/missing_shards.sh 16 workflow/e1_regime1.yaml) \
#          --export=ALL,SHARD_COUNT=16 workflow/slurm.sh workflow/e1_regime1.yaml
#
# The merged result is identical to a single-machine run (`make cluster-test` checks it on a
# live single-node Slurm; the determinism test checks it without Slurm).
#SBATCH --job-name=smoe
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=smoe-%A_%a.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
if [[ -n "${SLURM_ARRAY_TASK_ID:-}" && -z "${SHARD_COUNT:-}" ]]; then
    if [[ "${SLURM_ARRAY_TASK_MIN}" != 0 || $((SLURM_ARRAY_TASK_MAX + 1)) != "${SLURM_ARRAY_TASK_COUNT}" ]]; then
        echo "slurm.sh: array ${SLURM_ARRAY_TASK_MIN}-${SLURM_ARRAY_TASK_MAX} has ${SLURM_ARRAY_TASK_COUNT} tasks, not the whole 0..N-1:" \
            "set the shard count, e.g. sbatch --export=ALL,SHARD_COUNT=N ..." >&2
        exit 2
    fi
    export SHARD_COUNT="${SLURM_ARRAY_TASK_COUNT}"
fi
echo "slurm.sh: array task ${SLURM_ARRAY_JOB_ID:-none}_${SLURM_ARRAY_TASK_ID:-none}: shard ${SLURM_ARRAY_TASK_ID:-all}/${SHARD_COUNT:-1} on $(hostname -s) at $(date -u +%FT%TZ)"
target/release/smoe --quiet --threads "${SLURM_CPUS_PER_TASK:-1}" run "$@"
