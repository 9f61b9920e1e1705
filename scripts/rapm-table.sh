#!/usr/bin/env bash
# The RAPM table of docs/results.md on this machine: every configuration x seed distils the built-in
# teacher from the built-in shards, exports the student at ITER iterations (equal iterations) and at
# the end of MINUTES of training (equal time: cheaper configurations get more iterations), and scores
# both exports at 4 steps on COUNT fresh seeds from SEED0, against real digits and against the
# teacher's own 32-step samples for the same seeds (AGAINST, made once by `npm run eval -- --model
# public/teacher.safetensors --steps 32 --guidance 1.5 --count COUNT --seed SEED0 --save-samples FILE`).
# Rows go to $RESULTS; runs side by side with xargs -P $JOBS.
#   ITER=200 MINUTES=2.5 SEEDS="0 1 2" JOBS=2 AGAINST=runs/table/teacher-32.safetensors \
#     bash scripts/rapm-table.sh [CONFIG ...]
set -euo pipefail
export ITER=${ITER:-200} MINUTES=${MINUTES:-2.5} COUNT=${COUNT:-200} SEED0=${SEED0:-200000}
export RESULTS=${RESULTS:-runs/table/results.jsonl} OUTDIR=${OUTDIR:-runs/table}
export AGAINST=${AGAINST:-runs/table/teacher-32.safetensors}
SEEDS=${SEEDS:-"0 1 2"}
JOBS=${JOBS:-2}
mkdir -p "$OUTDIR"

# name -> distill flags: the configurations of scripts/rapm-configs.sh with full fine-tuning, and variants
# shellcheck source=scripts/rapm-configs.sh
source "$(dirname "$0")/rapm-configs.sh"
paired="--disc-loss paired --disc-lr 1e-3"
declare -A flags=(
  [regression]="--full ${rapm_flags[regression]}"
  [absolute]="--full ${rapm_flags[absolute]}"
  [relative]="--full ${rapm_flags[relative]}"
  [both]="--full ${rapm_flags[both]}"
  [both-l0.1]="--full ${rapm_flags[both]/--lambda-rel 1 --lambda-abs 1/--lambda-rel 0.1 --lambda-abs 0.1}"
  [both-replay]="--full ${rapm_flags[both]} --disc-replay 16 --disc-lr 1e-3"
  [both-paired]="--full ${rapm_flags[both]} $paired"
  [both-paired-l0.1]="--full ${rapm_flags[both]/--lambda-rel 1 --lambda-abs 1/--lambda-rel 0.1 --lambda-abs 0.1} $paired"
  [both-lora1]="--rank 1 --student-lr ${LORA1_LR:-1e-3} ${rapm_flags[both]}"
  [both-lora8]="--rank 8 ${rapm_flags[both]}" # at the LoRA default learning rate (2e-4, src/core/rapm/settings.ts)
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(regression absolute relative both both-l0.1 both-paired both-lora1 both-lora8)

run_one() { # NAME SEED FLAGS
  local name=$1 seed=$2 out="$OUTDIR/$1-s$2"
  # shellcheck disable=SC2086
  npx tsx src/cli/distill.ts --iterations 100000 --time-limit "$MINUTES" --export-every "$ITER" --validation 0 --seed "$seed" \
    --out "$out" $3 > "$out.log" 2>&1
  local iters
  iters=$(tail -n 1 "$out/metrics.jsonl" | grep -o '"iteration":[0-9]*' | cut -d: -f2)
  for file in "$out/student-merged-i$ITER.safetensors" "$out/student-merged.safetensors"; do
    [ -f "$file" ] || continue
    local at="equal time, $iters it"
    [[ $file == *-i$ITER.* ]] && at="$ITER it"
    npx tsx src/cli/eval.ts --model "$file" --steps 4 --guidance 1 --count "$COUNT" --seed "$SEED0" \
      --against "$AGAINST" --label "$name, seed $seed, $at" --json "$RESULTS" >> "$out.log" 2>&1
  done
}
export -f run_one

for seed in $SEEDS; do
  for name in "${names[@]}"; do
    printf '%s\t%s\t%s\n' "$name" "$seed" "${flags[$name]}"
  done
done | xargs -P "$JOBS" -d '\n' -I{} bash -c 'IFS=$'"'"'\t'"'"' read -r n s f <<< "{}"; run_one "$n" "$s" "$f"'
