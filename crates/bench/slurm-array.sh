#!/usr/bin/env bash
# Example: the paper-scale benchmark as a Slurm job array, one shard per task.
#
#   sbatch --array=1-16 crates/bench/slurm-array.sh
#   # when all tasks are done:
#   stemz bench-merge data/runs/paper-shard-* --out data/runs/paper
#
# Each task measures configurations i, i+16, i+32, … of the deterministic matrix (round-robin, so
# every shard mixes fast and slow methods) into its own run folder; a task that is preempted or
# times out resumes where it stopped when it is requeued (rows already in raw.csv are skipped).
# stemz resumes a folder only on the machine and build that started it: a task requeued onto
# another node fails with a message naming the difference; move that folder aside and resubmit.
#SBATCH --job-name=stemz-bench
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=24:00:00
#SBATCH --requeue
set -euo pipefail
N=${SLURM_ARRAY_TASK_COUNT:?run as a job array}
K=${SLURM_ARRAY_TASK_ID:?run as a job array}
WORKDIR=${TMPDIR:-/tmp}/stemz-$SLURM_JOB_ID-$K
mkdir -p "$WORKDIR"
RESUME=()
[ -e "data/runs/paper-shard-$K/run.toml" ] && RESUME=(--resume)
stemz bench --scale paper --data data/generated/paper --runs 10 \
  --shard "$K/$N" --run-id "paper-shard-$K" --out data/runs --workdir "$WORKDIR" --quiet "${RESUME[@]}"
