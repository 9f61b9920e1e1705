#!/usr/bin/env bash
# The few-step RAPM table with learning curves (issue 22, docs/results-fewstep.md), one job at a time and
# resumable: rerun the same command after a stop and it continues (finished points are skipped, a stopped
# training run resumes from its checkpoint). Every number goes to $RESULTS as one JSON line the moment it is
# measured, so partial results survive.
#
#   1. Teacher rows: DDIM at each N of $NS and at 32 steps, CFG 1.5, $COUNT fresh seeds from $SEED0; the 32-step
#      samples are saved once and every other row is also scored against them (FID / pixel RMSE to teacher 32).
#   (Fields: "trainSeed" is the training seed; "seed" and "count" are the sample seeds of eval.)
#   2. For each N, configuration and seed: `npm run distill` on the built-in N-step shards (N = 4: public/shards,
#      2: public/shards-2step, 1: public/shards-1step), full fine-tuning unless the configuration says otherwise,
#      $ITERS iterations, a merged export every $EVERY iterations and the studio's validation ($VALIDATION held-out
#      trajectories, every $EVERY iterations); then every export is scored at N steps, guidance 1, on the same
#      $COUNT seeds, against real digits and the teacher's 32 steps (kind "student"), and the run's held-out
#      validation points and its seconds per iteration are added (kind "validation").
#
# The issue's full table (a bigger machine; about 3 x 7 x 3 runs of 1,500 iterations):
#   NS="1 2 4" SEEDS="0 1 2" ITERS=1500 \
#     CONFIGS="regression absolute both-l0.1 both both-paired both-lora1" bash scripts/fewstep-table.sh
# This session's subset (2-core machine): NS="2 1" SEEDS=0 ITERS=600 CONFIGS="regression both-l0.1" (see the doc).
# Summary tables from the rows: npx tsx scripts/fewstep-summary.ts $RESULTS
set -euo pipefail
NS=${NS:-"2 1"}
CONFIGS=${CONFIGS:-"regression both-l0.1"}
SEEDS=${SEEDS:-0}
ITERS=${ITERS:-600}
EVERY=${EVERY:-100}
COUNT=${COUNT:-1000}
SEED0=${SEED0:-200000}
VALIDATION=${VALIDATION:-64}
OUTDIR=${OUTDIR:-runs/fewstep}
RESULTS=${RESULTS:-docs/results-fewstep.jsonl}
TEACHER=${TEACHER:-public/teacher.safetensors}
NICE=${NICE:-nice -n 10}
AGAINST=$OUTDIR/teacher-32-k$COUNT-s$SEED0.samples.safetensors
mkdir -p "$OUTDIR"
touch "$RESULTS"

# name -> distill flags (the rows of the issue's table; the 4-step table's names in scripts/rapm-table.sh)
reg="--mu-rel 1 --mu-abs 1"
declare -A flags=(
  [regression]="--full --lambda-rel 0 --lambda-abs 0 $reg"
  [absolute]="--full --lambda-rel 0 --lambda-abs 1 --mu-rel 0 --mu-abs 1"
  [both]="--full --lambda-rel 1 --lambda-abs 1 $reg"
  [both-l0.1]="--full --lambda-rel 0.1 --lambda-abs 0.1 $reg"
  [both-paired]="--full --lambda-rel 1 --lambda-abs 1 $reg --disc-loss paired --disc-lr 1e-3"
  [both-paired-l0.1]="--full --lambda-rel 0.1 --lambda-abs 0.1 $reg --disc-loss paired --disc-lr 1e-3"
  [both-lora1]="--rank 1 --student-lr 1e-3 --lambda-rel 1 --lambda-abs 1 $reg"
  # adversarial variants tried at N = 1 (issue 22, item 3)
  [absolute-l0.1]="--full --lambda-rel 0 --lambda-abs 0.1 $reg"
  [both-l0.01]="--full --lambda-rel 0.01 --lambda-abs 0.01 $reg"
  [both-l0.1-d2-replay16]="--full --lambda-rel 0.1 --lambda-abs 0.1 $reg --disc-steps 2 --disc-replay 16"
)
shards_for() { case $1 in 4) echo public/shards ;; *) echo "public/shards-${1}step" ;; esac; }

# Has $RESULTS a row with this key?
done_key() { grep -qF "\"key\":\"$1\"" "$RESULTS"; }

# Appends eval's row in $OUTDIR/row.tmp.json to $RESULTS with "key":KEY and the JSON fields EXTRA (an object's
# inner text) in front.
append_row() {
  node -e '
    const fs = require("fs");
    const row = JSON.parse(fs.readFileSync(process.argv[1], "utf8").trim());
    const extra = JSON.parse(`{${process.argv[2]}}`);
    const line = { key: process.argv[4], ...extra, date: new Date().toISOString(), ...row };
    fs.appendFileSync(process.argv[3], JSON.stringify(line) + "\n");
  ' "$OUTDIR/row.tmp.json" "$2" "$RESULTS" "$1"
  tail -n 1 "$RESULTS" | cut -c 1-160
}

# eval on $COUNT seeds from $SEED0 -> $OUTDIR/row.tmp.json
eval_row() {
  rm -f "$OUTDIR/row.tmp.json"
  $NICE npx tsx src/cli/eval.ts --count "$COUNT" --seed "$SEED0" --json "$OUTDIR/row.tmp.json" "$@" \
    > "$OUTDIR/eval.log" 2>&1 || { cat "$OUTDIR/eval.log" >&2; return 1; }
}

# score KEY EXTRA EVAL-ARGS...: one scored row, unless $RESULTS has it already
score() {
  local key=$1 extra=$2
  shift 2
  done_key "$key" && return 0
  eval_row "$@"
  append_row "$key" "$extra"
}

# 1. the teacher (its 32-step samples once, kept for the FID to teacher 32 of every other row)
if [ ! -f "$AGAINST" ]; then
  eval_row --model "$TEACHER" --steps 32 --guidance 1.5 --save-samples "$AGAINST" --label "teacher DDIM 32, CFG 1.5"
  done_key teacher-32 || append_row teacher-32 '"kind":"teacher","N":32'
fi
for steps in $NS; do
  score "teacher-$steps" "\"kind\":\"teacher\",\"N\":$steps" --model "$TEACHER" --steps "$steps" --guidance 1.5 \
    --against "$AGAINST" --label "teacher DDIM $steps, CFG 1.5"
done

# 2. the students
for n in $NS; do
  for config in $CONFIGS; do
    for seed in $SEEDS; do
      run="N$n-$config-s$seed"
      out="$OUTDIR/$run"
      if [ ! -f "$out/student-merged.safetensors" ] || [ "$(grep -c . "$out/metrics.jsonl")" -lt "$ITERS" ]; then
        resume=()
        [ -f "$out/checkpoint.safetensors" ] && resume=(--resume)
        # shellcheck disable=SC2086
        $NICE npx tsx src/cli/distill.ts --teacher "$TEACHER" --shards "$(shards_for "$n")" --iterations "$ITERS" \
          --export-every "$EVERY" --validation "$VALIDATION" --validate-every "$EVERY" --seed "$seed" --out "$out" \
          "${resume[@]}" ${flags[$config]} >> "$out.log" 2>&1
      fi
      sPerIt=$(node -e '
        const ms = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l).ms).sort((a, b) => a - b);
        console.log((ms[Math.floor(ms.length / 2)] / 1000).toFixed(3));
      ' "$out/metrics.jsonl")
      common="\"kind\":\"student\",\"N\":$n,\"config\":\"$config\",\"trainSeed\":$seed,\"sPerItMedian\":$sPerIt"
      for it in $(seq "$EVERY" "$EVERY" "$ITERS"); do
        file="$out/student-merged-i$it.safetensors"
        [ "$it" -eq "$ITERS" ] && file="$out/student-merged.safetensors"
        [ -f "$file" ] || continue
        score "$run-i$it" "$common,\"iteration\":$it" --model "$file" --steps "$n" --guidance 1 --against "$AGAINST" \
          --label "N = $n, $config, seed $seed, $it it"
      done
      # the studio's held-out validation curve of the same run
      done_key "$run-validation-$ITERS" || node -e '
        const fs = require("fs");
        const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const row = { key: process.argv[2], kind: "validation", N: +process.argv[3], config: process.argv[4],
          trainSeed: +process.argv[5], heldOut: v.split.indices.length, points: v.points, references: v.references };
        fs.appendFileSync(process.argv[6], JSON.stringify(row) + "\n");
      ' "$out/validation.json" "$run-validation-$ITERS" "$n" "$config" "$seed" "$RESULTS"
    done
  done
done
