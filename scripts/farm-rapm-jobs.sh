#!/usr/bin/env bash
# Prints the farm jobs (scripts/farm-run.sh) of the RAPM table in docs/results.md: each
# configuration x seed distils the built-in teacher from the built-in shards with full fine-tuning,
# then scores the student at 4 steps on 500 fresh seeds. Seed 0 of `both` also
# exports every 100 iterations for the learning curve. A LoRA row rides along.
#   bash scripts/farm-rapm-jobs.sh [ITERATIONS] [MINUTES] [SHARDS] > farm/jobs.txt
# MINUTES caps each distillation (--time-limit), so a slow machine still returns every run.
set -euo pipefail
iterations=${1:-600}
minutes=${2:-7}
shards=${3:-public/shards}
# shellcheck source=scripts/rapm-configs.sh
source "$(dirname "$0")/rapm-configs.sh"
job() { # name seed student(tag) flags
  local out="\$W/rapm-$1-$3-s$2"
  echo "\$NODE \$F/distill.mjs --iterations $iterations --time-limit $minutes --seed $2 --shards $shards --out $out ${rapm_flags[$1]} $4" \
    "&& \$NODE \$F/eval.mjs --model $out/student-merged.safetensors --steps 4 --guidance 1 --count 500" \
    "--seed 100000 --label 'student 4 steps: $1, $3 (seed $2)' --json $out/eval.jsonl"
}
for name in both regression absolute relative adversarial; do
  for seed in 0 1 2; do
    curve=
    [ "$seed" = 0 ] && [ "$name" = both ] && curve="--export-every 100"
    job "$name" "$seed" full "--full $curve"
  done
done
job both 0 lora8-lr2e-4 "--rank 8" # the LoRA default learning rate, 2e-4 (src/core/rapm/settings.ts)
