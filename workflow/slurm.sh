#!/usr/bin/env bash
# Run one experiment as a Slurm job array: every task runs one shard of the work units and writes
# its own journal file under data/raw/<experiment>/<fingerprint>/ on the shared filesystem.
#
#   make build                                   # once, on a login node
#   sbatch --array=0-15 workflow/slurm.sh workflow/e1_regime1.yaml
#   # when every task has finished:
#   target/release/smoe merge workflow/e1_regime1.yaml && make all
#
# The shard index comes from SLURM_ARRAY_TASK_ID and the shard count from SLURM_ARRAY_TASK_COUNT.
# A task that is killed or preempted can simply be resubmitted: finished units are skipped.
# The merged result is identical to a single-machine run (tested on the smoke config).
#SBATCH --job-name=smoe
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=smoe-%A_%a.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
target/release/smoe --quiet --threads "${SLURM_CPUS_PER_TASK:-1}" run "$@"
