/**
 * Node's tfjs backends. wasm is the default: its .wasm files ship inside the npm package
 * (tfjs-node cannot install here). webgpu runs tfjs's WebGPU backend on Dawn's `dawn.node`
 * from the npm package `webgpu` (a dev dependency, 132 MB with its native addons for five
 * platforms): on a real GPU, on Dawn's null backend for host cost (npm run bench:host), and on
 * SwiftShader for exact equivalence tests (src/core/rapm/replayed-step.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWebGpuKernels } from '../core/kernels/register-webgpu';
import { installWasmKernels } from '../core/kernels/wasm-kernels';
import { setWebGpuMemoryBytes } from '../core/model-fit';

export type NodeBackend = 'wasm' | 'webgpu' | 'cpu';
export const NODE_BACKENDS: readonly NodeBackend[] = ['wasm', 'webgpu', 'cpu'];

/** A backend the user asked for could not be set up; the message says how to fix it. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

export async function useWasmBackend(): Promise<string> {
  installWasmKernels();
  await tf.setBackend('wasm');
  await tf.ready();
  return tf.getBackend();
}

export function parseBackend(name: string): NodeBackend {
  const hit = NODE_BACKENDS.find((b) => b === name);
  if (!hit) throw new BackendUnavailableError(`unknown backend '${name}': use one of ${NODE_BACKENDS.join(', ')}`);
  return hit;
}

/** Sets the tfjs backend and returns a one-line description of it (with the GPU adapter for webgpu). */
/** What Dawn's null backend lets a device allocate in all (a fixed budget; measured: 512 MiB of 16 MiB buffers). */
export const DAWN_NULL_MEMORY_BYTES = 512 * 2 ** 20;

/** Whether DAWN_OPTIONS selects Dawn's null backend (host cost only, no GPU work). */
export const onDawnNull = () => dawnOptions().includes('backend=null');

export async function useBackend(name: NodeBackend): Promise<string> {
  if (name === 'wasm') return useWasmBackend();
  if (name === 'cpu') {
    await tf.setBackend('cpu');
    await tf.ready();
    return 'cpu';
  }
  return useWebGpuBackend();
}

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

/**
 * Space-separated dawn.node options from DAWN_OPTIONS, e.g. `backend=vulkan` or
 * `enable-dawn-features=allow_unsafe_apis` (listed in the `webgpu` package's README).
 */
function dawnOptions(): string[] {
  return (process.env.DAWN_OPTIONS ?? '').split(/\s+/).filter(Boolean);
}

async function loadDawn(): Promise<DawnModule> {
  // A variable specifier keeps tsc and esbuild from resolving a package that is usually absent.
  const specifier = 'webgpu';
  try {
    return (await import(specifier)) as DawnModule;
  } catch (e) {
    throw new BackendUnavailableError(
      `the webgpu backend needs the npm package 'webgpu' (Dawn's dawn.node), which failed to load: ` +
        `${(e as Error).message}\nInstall it without touching package.json: npm install --no-save webgpu`,
    );
  }
}

async function useWebGpuBackend(): Promise<string> {
  const { create, globals } = await loadDawn();
  // tfjs-backend-webgpu reads GPUBufferUsage etc. as globals and registers itself only if
  // navigator.gpu exists when its module is first evaluated, hence the dynamic import below.
  Object.assign(globalThis, globals);
  const gpu = create(dawnOptions());
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new BackendUnavailableError(
      'Dawn found no WebGPU adapter. On Linux it needs the Vulkan loader (libvulkan.so.1, Debian/Ubuntu ' +
        'package libvulkan1) and a Vulkan driver that Dawn accepts: for NVIDIA set VK_DRIVER_FILES to the ' +
        "driver's nvidia_icd.json (often /usr/share/vulkan/icd.d or /usr/local/nvidia/share/vulkan/icd.d). " +
        "Mesa's lavapipe is rejected. Dawn's own warnings above say which step failed; " +
        'DAWN_OPTIONS="adapter=?" lists the adapters it sees.',
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  registerWebGpuKernels();
  if (!(await tf.setBackend('webgpu'))) {
    throw new BackendUnavailableError(
      'tfjs could not create its webgpu backend on the adapter Dawn found; see the error logged above',
    );
  }
  await tf.ready();
  // the null backend's device holds a fixed budget, so a model past it is refused before allocation
  setWebGpuMemoryBytes(onDawnNull() ? DAWN_NULL_MEMORY_BYTES : undefined);
  const { vendor, architecture, device, description } = adapter.info;
  return `webgpu (Dawn): vendor '${vendor}', architecture '${architecture}', device '${device}', description '${description}'`;
}
