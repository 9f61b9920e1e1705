#!/usr/bin/env bash
# The RAPM table of docs/results.md: distil the built-in teacher from the built-in shards under each
# configuration, then score each student at 4 steps with `npm run eval` (rows appended to $RESULTS).
#   bash scripts/rapm-ablations.sh [ITERATIONS] [SEED] [COUNT] [NAMES...]
# NAMES picks configurations (default: all): both, regression, absolute, relative, adversarial.
# EXTRA adds flags to every run (e.g. EXTRA=--full for full fine-tuning); TAG names the run folders.
set -euo pipefail
iterations=${1:-600}
seed=${2:-0}
count=${3:-500}
shift $(( $# < 3 ? $# : 3 ))
results=${RESULTS:-runs/results.jsonl}
extra=${EXTRA:-}
tag=${TAG:-}
mkdir -p runs

# shellcheck source=scripts/rapm-configs.sh
source "$(dirname "$0")/rapm-configs.sh"
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(both regression absolute relative adversarial)

for name in "${names[@]}"; do
  out="runs/rapm$tag-$name-s$seed-i$iterations"
  # shellcheck disable=SC2086
  npx tsx src/cli/distill.ts --iterations "$iterations" --seed "$seed" --out "$out" ${rapm_flags[$name]} $extra
  npx tsx src/cli/eval.ts --model "$out/student-merged.safetensors" --steps 4 --guidance 1 --count "$count" \
    --seed 100000 --label "student 4 steps: $name$tag (seed $seed, $iterations it, EMA)" --json "$results"
done
