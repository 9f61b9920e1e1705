#!/usr/bin/env bash
# The RAPM tables of docs/results.md and docs/results-fewstep.md: the built-in teacher distilled from its built-in
# N-step shards under each configuration and seed, every export scored; resumable, one JSON line per number.
#
#   bash scripts/rapm-table.sh [all]      teacher rows, then every job, JOBS at a time (xargs -P)
#   bash scripts/rapm-table.sh jobs       print the job lines, one run each: CONFIG N SEED ITERS
#   bash scripts/rapm-table.sh run CONFIG N SEED ITERS   one job (what `all` runs, and what a farm runs)
#   bash scripts/rapm-table.sh teacher    the teacher rows only (before any job: the jobs score against them)
#   bash scripts/rapm-table.sh farm       write farm/rapm-teacher.txt and farm/rapm-jobs.txt, the two phases for
#                                         `bash farm/run.sh` (scripts/farm-run.sh; build farm/ with scripts/pack.sh farm)
#   bash scripts/rapm-table.sh configs    print each configuration's distill flags
# By hand: bash scripts/rapm-table.sh teacher && bash scripts/rapm-table.sh jobs | xargs -P 2 -L1 bash scripts/rapm-table.sh run
#
# Teacher rows: DDIM at each N of $NS and at 32 steps, CFG 1.5, on $COUNT fresh seeds from $SEED0; the 32-step
# samples are saved once and every other row is also scored against them (FID / pixel RMSE to teacher 32).
# A job: `npm run distill` on the N-step shards (4: public/shards, 2: public/shards-2step, 1: public/shards-1step),
# ITERS iterations (stopped sooner by MINUTES, if set: equal time), a merged export every $EVERY iterations and,
# with VALIDATION > 0, the studio's validation (VALIDATION held-out trajectories, every $EVERY iterations); then
# the exports at the iterations of $SCORE_AT (default: every $EVERY) and the last one are scored at N steps,
# guidance 1, on the same seeds (kind "student", with the run's median seconds per iteration), and the held-out
# validation curve is added (kind "validation"). A rerun skips rows $RESULTS has (by "key") and resumes a stopped
# distillation from its checkpoint. ("trainSeed" is the training seed; "seed" and "count" are eval's sample seeds.)
#
# Environment (defaults in brackets):
#   NS ["4"] CONFIGS ["regression absolute relative both both-l0.1 both-paired both-lora1 both-lora8"]
#   SEEDS ["0 1 2"] ITERS [600] EVERY [100] SCORE_AT [every EVERY] MINUTES [none] VALIDATION [64]
#   COUNT [1000] SEED0 [200000] JOBS [2] OUTDIR [runs/rapm-table] RESULTS [$OUTDIR/results.jsonl]
#   TEACHER [public/teacher.safetensors] NICE ["nice -n 10"] EXTRA [flags added to every distill run]
#   On a farm (farm/run.sh sets them): NODE, and F, the folder of the bundles distill.mjs and eval.mjs.
# Summary tables from the rows: npx tsx scripts/fewstep-summary.ts $RESULTS
#
# Configurations: loss terms by name (`configs` prints them); full fine-tuning (lr 5e-5), or with the suffix
# -lora<R> LoRA rank R (rank 1 at lr $LORA1_LR [1e-3], other ranks at the LoRA default 2e-4, src/core/rapm/settings.ts).
# A discriminator left out is switched off and its weight 0, as the runs in docs/results.md recorded it.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
NS=${NS:-4}
CONFIGS=${CONFIGS:-"regression absolute relative both both-l0.1 both-paired both-lora1 both-lora8"}
SEEDS=${SEEDS:-"0 1 2"}
ITERS=${ITERS:-600}
EVERY=${EVERY:-100}
SCORE_AT=${SCORE_AT:-}
MINUTES=${MINUTES:-}
VALIDATION=${VALIDATION:-64}
COUNT=${COUNT:-1000}
SEED0=${SEED0:-200000}
JOBS=${JOBS:-2}
OUTDIR=${OUTDIR:-runs/rapm-table}
RESULTS=${RESULTS:-$OUTDIR/results.jsonl}
TEACHER=${TEACHER:-public/teacher.safetensors}
NICE=${NICE-nice -n 10}
EXTRA=${EXTRA:-}
LORA1_LR=${LORA1_LR:-1e-3}
NODE=${NODE:-node}
AGAINST=$OUTDIR/teacher-32-k$COUNT-s$SEED0.samples.safetensors

reg="--mu-rel 1 --mu-abs 1"
both="--lambda-rel 1 --lambda-abs 1 $reg"
both01="--lambda-rel 0.1 --lambda-abs 0.1 $reg"
paired="--disc-loss paired --disc-lr 1e-3"
regonly="--lambda-rel 0 --lambda-abs 0 --discriminators off $reg"
v="--student-prediction v_prediction"
declare -A terms=(
  [both]="$both"
  [regression]="$regonly"
  [absolute]="--lambda-rel 0 --lambda-abs 1 --discriminators absolute --mu-rel 0 --mu-abs 1"
  [relative]="--lambda-rel 1 --lambda-abs 0 --discriminators relative --mu-rel 1 --mu-abs 0"
  [adversarial]="--lambda-rel 1 --lambda-abs 1 --mu-rel 0 --mu-abs 0"
  [both-l0.1]="$both01"
  [both-replay]="$both --disc-replay 16 --disc-lr 1e-3"
  [both-paired]="$both $paired"
  [both-paired-l0.1]="$both01 $paired"
  # adversarial variants tried at N = 1 (issue 22, item 3)
  [absolute-l0.1]="--lambda-rel 0 --lambda-abs 0.1 $reg"
  [both-l0.01]="--lambda-rel 0.01 --lambda-abs 0.01 $reg"
  [both-l0.1-d2-replay16]="$both01 --disc-steps 2 --disc-replay 16"
  # the student's learning rate, EMA and output type (v: src/core/rapm/student-prediction.ts), tried at N = 1
  [regression-lr2e-4]="$regonly --student-lr 2e-4"
  [regression-ema0.999]="$regonly --ema 0.999"
  [regression-v]="$regonly $v"
  [regression-v-lr2e-4]="$regonly $v --student-lr 2e-4"
  [regression-v-lr5e-4]="$regonly $v --student-lr 5e-4"
  [both-l0.1-v-lr2e-4]="$both01 $v --student-lr 2e-4"
  [both-l0.01-v-lr2e-4]="--lambda-rel 0.01 --lambda-abs 0.01 $reg $v --student-lr 2e-4"
  [both-l0.3-v-lr2e-4]="--lambda-rel 0.3 --lambda-abs 0.3 $reg $v --student-lr 2e-4"
  [both-l0.1-v-lr5e-4]="$both01 $v --student-lr 5e-4"
  [both-l0.1-v-lr1e-3]="$both01 $v --student-lr 1e-3"
  [absolute-l0.1-v-lr2e-4]="--lambda-rel 0 --lambda-abs 0.1 $reg $v --student-lr 2e-4"
  # the drift of the 2-step student with discriminators past 300 iterations (issue 22, item 4): a smaller step, a slower EMA
  [both-l0.1-lr2e-5]="$both01 --student-lr 2e-5"
  [both-l0.1-ema0.999]="$both01 --ema 0.999"
)

# The distill flags of configuration NAME: its loss terms and its student.
flags_of() {
  local name=$1 student=--full
  if [[ $name =~ ^(.*)-lora([0-9]+)$ ]]; then
    name=${BASH_REMATCH[1]}
    student="--rank ${BASH_REMATCH[2]}"
    [ "${BASH_REMATCH[2]}" = 1 ] && student="$student --student-lr $LORA1_LR"
  fi
  [ -n "${terms[$name]+x}" ] || { echo "rapm-table: unknown configuration '$1' (see: $0 configs)" >&2; return 1; }
  echo "$student ${terms[$name]} $EXTRA"
}

shards_for() { case $1 in 4) echo public/shards ;; *) echo "public/shards-${1}step" ;; esac; }

# A CLI of src/cli: the farm's bundle where there is one, else through tsx.
cli() {
  local name=$1
  shift
  if [ -n "${F:-}" ] && [ -f "$F/$name.mjs" ]; then $NICE "$NODE" "$F/$name.mjs" "$@"; else $NICE npx tsx "src/cli/$name.ts" "$@"; fi
}

# Has $RESULTS a row with this key?
done_key() { [ -f "$RESULTS" ] && grep -qF "\"key\":\"$1\"" "$RESULTS"; }

# eval_into TMP EVAL-ARGS...: eval on $COUNT seeds from $SEED0, its row into TMP.
eval_into() {
  local tmp=$1
  shift
  rm -f "$tmp"
  cli eval --count "$COUNT" --seed "$SEED0" --json "$tmp" "$@" >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; return 1; }
}

# append KEY EXTRA TMP: TMP's row appended to $RESULTS with "key":KEY and the JSON fields EXTRA (an object's inner
# text) in front.
append() {
  "$NODE" -e '
    const fs = require("fs");
    const row = JSON.parse(fs.readFileSync(process.argv[1], "utf8").trim());
    const extra = JSON.parse(`{${process.argv[2]}}`);
    const line = { key: process.argv[4], ...extra, date: new Date().toISOString(), ...row };
    fs.appendFileSync(process.argv[3], JSON.stringify(line) + "\n");
  ' "$3" "$2" "$RESULTS" "$1"
  rm -f "$3" "$3.log"
  grep -F "\"key\":\"$1\"" "$RESULTS" | cut -c 1-160
}

# score KEY EXTRA TMP EVAL-ARGS...: one scored row, unless $RESULTS has it already.
score() {
  local key=$1 extra=$2 tmp=$3
  shift 3
  done_key "$key" && return 0
  eval_into "$tmp" "$@"
  append "$key" "$extra" "$tmp"
}

teacher_rows() {
  mkdir -p "$OUTDIR"
  touch "$RESULTS"
  local t32=(--model "$TEACHER" --steps 32 --guidance 1.5 --save-samples "$AGAINST" --label "teacher DDIM 32, CFG 1.5")
  if [ ! -f "$AGAINST" ]; then
    eval_into "$OUTDIR/teacher-32.row.json" "${t32[@]}"
    if done_key teacher-32; then rm -f "$OUTDIR/teacher-32.row.json"*; else
      append teacher-32 '"kind":"teacher","N":32' "$OUTDIR/teacher-32.row.json"
    fi
  fi
  score teacher-32 '"kind":"teacher","N":32' "$OUTDIR/teacher-32.row.json" "${t32[@]}"
  for steps in $NS; do
    score "teacher-$steps" "\"kind\":\"teacher\",\"N\":$steps" "$OUTDIR/teacher-$steps.row.json" --model "$TEACHER" \
      --steps "$steps" --guidance 1.5 --against "$AGAINST" --label "teacher DDIM $steps, CFG 1.5"
  done
}

job_lines() {
  for n in $NS; do
    for config in $CONFIGS; do
      flags_of "$config" >/dev/null
      for seed in $SEEDS; do echo "$config $n $seed $ITERS"; done
    done
  done
}

# run CONFIG N SEED ITERS
run_job() {
  [ $# -eq 4 ] || { echo "usage: $0 run CONFIG N SEED ITERS" >&2; return 2; }
  local config=$1 n=$2 seed=$3 iters=$4 flags
  flags=$(flags_of "$config")
  [ -f "$AGAINST" ] || { echo "rapm-table: $AGAINST is missing: run '$0 teacher' first" >&2; return 1; }
  local run="N$n-$config-s$seed" out="$OUTDIR/N$n-$config-s$seed"
  mkdir -p "$OUTDIR"
  local lines=0
  [ -f "$out/metrics.jsonl" ] && lines=$(grep -c . "$out/metrics.jsonl" || true)
  # done: the distillation ended by itself (ITERS reached, or MINUTES up) for this ITERS; a larger ITERS resumes it
  if [ "$(cat "$out/done" 2>/dev/null)" != "$iters" ] && { [ ! -f "$out/student-merged.safetensors" ] || [ "$lines" -lt "$iters" ]; }; then
    local resume=() limit=() validation=(--validation "$VALIDATION")
    [ -f "$out/checkpoint.safetensors" ] && resume=(--resume)
    [ -n "$MINUTES" ] && limit=(--time-limit "$MINUTES")
    [ "$VALIDATION" -gt 0 ] && validation+=(--validate-every "$EVERY")
    # shellcheck disable=SC2086
    cli distill --teacher "$TEACHER" --shards "$(shards_for "$n")" --iterations "$iters" --export-every "$EVERY" \
      "${validation[@]}" "${limit[@]}" --seed "$seed" --out "$out" "${resume[@]}" $flags >>"$out.log" 2>&1 ||
      { tail -n 20 "$out.log" >&2; return 1; }
    echo "$iters" >"$out/done"
  fi
  local reached sPerIt
  reached=$(tail -n 1 "$out/metrics.jsonl" | grep -o '"iteration":[0-9]*' | cut -d: -f2)
  sPerIt=$("$NODE" -e '
    const ms = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l).ms).sort((a, b) => a - b);
    console.log((ms[Math.floor(ms.length / 2)] / 1000).toFixed(3));
  ' "$out/metrics.jsonl")
  local common="\"kind\":\"student\",\"N\":$n,\"config\":\"$config\",\"trainSeed\":$seed,\"sPerItMedian\":$sPerIt"
  local at=${SCORE_AT:-$(seq "$EVERY" "$EVERY" "$iters")} it file
  for it in $at $reached; do
    [ "$it" -le "$reached" ] || continue
    file="$out/student-merged-i$it.safetensors"
    [ "$it" -eq "$reached" ] && file="$out/student-merged.safetensors"
    [ -f "$file" ] || continue
    score "$run-i$it" "$common,\"iteration\":$it" "$out.row.json" --model "$file" --steps "$n" --guidance 1 \
      --against "$AGAINST" --label "N = $n, $config, seed $seed, $it it"
  done
  # the studio's held-out validation curve of the same run
  [ -f "$out/validation.json" ] || return 0
  done_key "$run-validation-$reached" || "$NODE" -e '
    const fs = require("fs");
    const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const row = { key: process.argv[2], kind: "validation", N: +process.argv[3], config: process.argv[4],
      trainSeed: +process.argv[5], heldOut: v.split.indices.length, points: v.points, references: v.references };
    fs.appendFileSync(process.argv[6], JSON.stringify(row) + "\n");
  ' "$out/validation.json" "$run-validation-$reached" "$n" "$config" "$seed" "$RESULTS"
}

# The knobs a job reads, as assignments for a farm's job lines (OUTDIR on the farm's work folder, $W).
farm_env() {
  printf 'OUTDIR=$W/rapm-table RESULTS=$W/rapm-table/results.jsonl NICE= COUNT=%q SEED0=%q EVERY=%q VALIDATION=%q ' \
    "$COUNT" "$SEED0" "$EVERY" "$VALIDATION"
  printf 'NS=%q TEACHER=%q LORA1_LR=%q ' "$NS" "$TEACHER" "$LORA1_LR"
  [ -n "$SCORE_AT" ] && printf 'SCORE_AT=%q ' "$SCORE_AT"
  [ -n "$MINUTES" ] && printf 'MINUTES=%q ' "$MINUTES"
  [ -n "$EXTRA" ] && printf 'EXTRA=%q ' "$EXTRA"
  return 0
}

case ${1:-all} in
  -h | --help | help) sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//' ;;
  configs) for c in "${!terms[@]}"; do printf '%-22s %s\n' "$c" "$(flags_of "$c")"; done | sort ;;
  jobs) job_lines ;;
  teacher) teacher_rows ;;
  run)
    shift
    run_job "$@"
    ;;
  farm)
    mkdir -p farm
    echo "$(farm_env)bash scripts/rapm-table.sh teacher" >farm/rapm-teacher.txt
    job_lines | while read -r line; do echo "$(farm_env)bash scripts/rapm-table.sh run $line"; done >farm/rapm-jobs.txt
    echo "farm/rapm-teacher.txt, farm/rapm-jobs.txt ($(wc -l <farm/rapm-jobs.txt) jobs): bash farm/run.sh farm/rapm-teacher.txt farm/rapm-jobs.txt"
    ;;
  all)
    teacher_rows
    job_lines | xargs -P "$JOBS" -L1 bash "$self" run
    ;;
  *)
    echo "rapm-table: unknown command '$1' (see: $0 --help)" >&2
    exit 2
    ;;
esac
