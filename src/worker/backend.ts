/**
 * Picks the fastest tfjs backend this browser can actually run: WebGPU, then WebGL, then
 * wasm. Each candidate is probed first so that a failure carries its real cause (tfjs itself
 * only logs a warning and returns false), and then smoke-tested with one op read back,
 * because a backend can initialise and still fail on its first shader.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { installWasmKernels } from '../core/nn/wasm-kernels';
import { BACKENDS, type AdapterSummary, type BackendAttempt, type BackendName, type BackendReport } from './protocol';

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
class BackendUnavailable extends Error {}

// The .wasm binaries are bundled as assets by Vite, so the wasm backend never reaches for a CDN.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});
installWasmKernels();

type AdapterInfoSource = GPUAdapter & { info?: GPUAdapterInfo };

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
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

async function probeWebgl(): Promise<AdapterSummary> {
  if (typeof OffscreenCanvas === 'undefined') {
    throw new BackendUnavailable('OffscreenCanvas missing (WebGL cannot run inside a worker here)');
  }
  const canvas = new OffscreenCanvas(1, 1);
  const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
  if (!gl) throw new BackendUnavailable('OffscreenCanvas.getContext("webgl2"/"webgl") returned null');
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  return {
    vendor: String(gl.getParameter(debug ? debug.UNMASKED_VENDOR_WEBGL : gl.VENDOR)),
    architecture: '',
    device: '',
    description: String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER)),
  };
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

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function selectBackend(
  onStatus: (message: string) => void,
  backends: readonly BackendName[] = BACKENDS,
): Promise<BackendReport> {
  const attempts: BackendAttempt[] = [];
  for (const backend of backends) {
    onStatus(`Trying ${backend}…`);
    try {
      const adapter = await probes[backend]();
      if (!(await tf.setBackend(backend))) {
        throw new BackendUnavailable(`tf.setBackend('${backend}') failed to initialise (see the worker console)`);
      }
      await tf.ready();
      await smokeTest();
      attempts.push({ backend, ok: true });
      return { backend, adapter, attempts };
    } catch (err) {
      attempts.push({ backend, ok: false, reason: reasonOf(err) });
    }
  }
  throw new NoBackendError(attempts);
}
