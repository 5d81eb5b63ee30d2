#!/usr/bin/env bash
# A sweep as a Slurm job array, without Slurm: generate the script, check its syntax, run each
# array task locally with SLURM_ARRAY_TASK_ID set, collect, and compare with a direct sweep of
# the same grid (sweep.csv and sweep.json byte-identical).
# Usage: slurm_fake_array.sh MMUSIM SCENARIO WORKDIR
set -euo pipefail
mmusim=$1 scenario=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "slurm_fake_array: FAILED: $*" >&2; exit 1; }
grid=(--grid memory.read_cycles=50,100 --grid dtlb.array0.entries=16,64)

"$mmusim" sweep "${grid[@]}" --slurm --slurm-opt partition=short --slurm-opt=--time=00:10:00 --out array \
  -- run "$scenario"
bash -n array/sweep.sbatch
grep -qx '#SBATCH --array=0-3' array/sweep.sbatch || fail "no --array=0-3"
grep -qx '#SBATCH --partition=short' array/sweep.sbatch || fail "no partition"
grep -qx '#SBATCH --time=00:10:00' array/sweep.sbatch || fail "no time"
[ "$(wc -l < array/commands.txt)" -eq 4 ] || fail "commands.txt has not 4 lines"
[ -z "$(ls array/points)" ] || fail "--slurm ran something"

# Nothing has run: collecting names every missing point.
if "$mmusim" sweep --collect array --no-plot 2> err.txt; then fail "collect without results succeeded"; fi
grep -q "4 of 4 points have no result.*0000, 0001, 0002, 0003" err.txt || fail "$(cat err.txt)"
# An index outside the array is refused.
if SLURM_ARRAY_TASK_ID=4 bash array/sweep.sbatch 2> err.txt; then fail "task 4 ran"; fi

for task in 3 1 0 2; do SLURM_ARRAY_TASK_ID=$task bash array/sweep.sbatch; done
mv array/points/0002.status saved.status
if "$mmusim" sweep --collect array --no-plot 2> err.txt; then fail "collect with a missing point succeeded"; fi
grep -q "1 of 4 points have no result.*: 0002$" err.txt || fail "$(cat err.txt)"
mv saved.status array/points/0002.status
"$mmusim" sweep --collect array --no-plot

"$mmusim" sweep "${grid[@]}" --jobs 2 --no-plot --out direct -- run "$scenario"
cmp array/sweep.csv direct/sweep.csv || fail "sweep.csv differs"
cmp array/sweep.json direct/sweep.json || fail "sweep.json differs"
[ "$(wc -l < direct/sweep.csv)" -eq 5 ] || fail "sweep.csv has not 4 rows"
echo "slurm fake array: ok"
