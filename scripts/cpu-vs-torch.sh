#!/bin/bash
# The CPU comparison of docs/benchmarks.md: the same UNet forward and forward+backward in tfjs-wasm
# (npm run bench, UNet rows) and in PyTorch (scripts/torch-unet-bench.py), one thread each,
# alternating ROUNDS times so both see the same machine load. Needs Debian's PyTorch
# (apt-get install python3-torch) under /usr/bin/python3; CI does not run this.
#   npm run bench:torch -- [ROUNDS] [BATCHES]   (bash scripts/cpu-vs-torch.sh [ROUNDS] [BATCHES])
set -euo pipefail
rounds=${1:-3}
batches=${2:-1,8,32}
cd "$(dirname "$0")/.."
for ((r = 1; r <= rounds; r++)); do
  echo "## round $r: tfjs-wasm"
  npx tsx src/cli/bench.ts --batches "$batches" --runs 5 --no-rapm | grep '^|'
  echo "## round $r: PyTorch"
  OMP_NUM_THREADS=1 /usr/bin/python3 scripts/torch-unet-bench.py --batches "$batches" --runs 5
done
