/**
 * Starts one tfjs backend and says why when it cannot. Each backend is probed first, so that a
 * failure carries its real cause (tfjs itself only logs a warning and returns false), and then
 * smoke-tested with one op read back, because a backend can initialise and still fail on its
 * first shader. Used by the studio worker and by the throwaway calibration workers.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { registerWebGpuKernels } from '../core/kernels/register-webgpu';
import { installWasmKernels } from '../core/kernels/wasm-kernels';
import type { AdapterSummary, BackendAttempt, BackendName } from './protocol';

/** Raised when no backend works at all; the message lists every backend's reason. */
export class NoBackendError extends Error {
  constructor(readonly attempts: BackendAttempt[]) {
    super(
      'No tfjs backend could start in this browser: ' +
        attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ') +
        '. Use a recent Chrome or Edge with hardware acceleration enabled.',
    );
    this.name = 'NoBackendError';
  }
}

/** A probe's verdict: the adapter it found, or why the backend cannot run here. */
export class BackendUnavailable extends Error {}

// The .wasm binaries are bundled as assets by Vite, so the wasm backend never reaches for a CDN.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});
installWasmKernels();
// The fused kernels (src/core/kernels) run wherever webgpu is picked; other backends use the composed ops.
registerWebGpuKernels();

/**
 * Threads for tfjs-wasm's threaded build (used only where the page is cross-origin isolated).
 * tfjs's own default leaves half the cores idle (one thread on a 2-core machine); 8 is the size
 * of the pthread pool its build starts with.
 */
setThreadsCount(Math.min(navigator.hardwareConcurrency || 1, 8));

let singleThread = false;

/**
 * `?threads=1`: tfjs-wasm loads its single-thread SIMD build, as on a page that is not
 * cross-origin isolated, so the two builds can be compared in the same page. Before wasm starts.
 */
export function useSingleThreadWasm(): void {
  singleThread = true;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
}

export function singleThreadWasm(): boolean {
  return singleThread;
}

type AdapterInfoSource = GPUAdapter & {
  info?: GPUAdapterInfo & { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
};

/** Adapter names of CPU rasterisers, for browsers that do not set `isFallbackAdapter`. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|softpipe|software|microsoft basic render|warp/i;

function isSoftware(names: string[], fallbackFlag: boolean | undefined): boolean {
  return fallbackFlag === true || names.some((n) => SOFTWARE_ADAPTER.test(n));
}

async function probeWebgpu(): Promise<AdapterSummary> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    throw new BackendUnavailable('navigator.gpu missing (this browser or context does not expose WebGPU)');
  }
  const adapter = (await navigator.gpu.requestAdapter()) as AdapterInfoSource | null;
  if (!adapter) {
    throw new BackendUnavailable('navigator.gpu.requestAdapter() returned null (no usable GPU adapter)');
  }
  // `adapter.info` replaced `requestAdapterInfo()`; older browsers only have the latter.
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.());
  const names = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
  const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter;
  return { ...names, software: isSoftware(Object.values(names), fallback) };
}

async function probeWebgl(): Promise<AdapterSummary> {
  if (typeof OffscreenCanvas === 'undefined') {
    throw new BackendUnavailable('OffscreenCanvas missing (WebGL cannot run inside a worker here)');
  }
  const canvas = new OffscreenCanvas(1, 1);
  const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
  if (!gl) throw new BackendUnavailable('OffscreenCanvas.getContext("webgl2"/"webgl") returned null');
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const vendor = String(gl.getParameter(debug ? debug.UNMASKED_VENDOR_WEBGL : gl.VENDOR));
  const description = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  // The probe's own context is not needed again: tfjs makes its own.
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { vendor, architecture: '', device: '', description, software: isSoftware([vendor, description], undefined) };
}

async function probeWasm(): Promise<null> {
  if (typeof WebAssembly === 'undefined') throw new BackendUnavailable('WebAssembly missing');
  return null;
}

const probes: Record<BackendName, () => Promise<AdapterSummary | null>> = {
  webgpu: probeWebgpu,
  webgl: probeWebgl,
  wasm: probeWasm,
};

async function smokeTest(): Promise<void> {
  const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)));
  try {
    const values = await y.data();
    if (values[0] !== 2 || values[1] !== 3) throw new BackendUnavailable(`smoke test computed [${values}]`);
  } finally {
    y.dispose();
  }
}

export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Starts `backend` as the global tfjs backend; throws with the cause when it cannot. */
export async function startBackend(backend: BackendName): Promise<AdapterSummary | null> {
  const adapter = await probes[backend]();
  if (!(await tf.setBackend(backend))) {
    throw new BackendUnavailable(`tf.setBackend('${backend}') failed to initialise (see the worker console)`);
  }
  await tf.ready();
  await smokeTest();
  return adapter;
}
