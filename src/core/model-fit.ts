/**
 * Whether a network fits the backend before anything is allocated for it. WebGPU refuses a buffer
 * over the device's `maxBufferSize` and a binding over `maxStorageBufferBindingSize` (tfjs asks for
 * the adapter's own maxima, so these are the adapter's), and tfjs-wasm's heap stops at 4 GiB; a
 * model past any of them would fail midway with a device or allocation error, or lose the device.
 * So the loaders and the trainer check first, from the parameter shapes alone, and refuse with
 * the limit by name.
 *
 * The sizes are estimates of this studio's own allocations, rounded up: every parameter (the
 * teacher), the largest activation of a pass over `rows` images, and for training the packed
 * optimiser group (src/core/train/packed-adam.ts: [p | m | v | ema] as ONE tensor, so a fully
 * fine-tuned student needs one buffer of 4x the weights) and the gradient's flat vector. Memory:
 * weights and optimiser state, plus an allowance of ACTIVATION_COPIES largest activations for
 * what a forward and backward pass keep alive.
 */
import * as tf from '@tensorflow/tfjs';
import { BundleError } from './io/errors';
import type { Network } from './nn/network';

export type FitLimit = 'maxBufferSize' | 'maxStorageBufferBindingSize' | 'memory';

export interface DeviceLimits {
  /** The tfjs backend the limits are of, for messages. */
  backend: string;
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** Bytes the backend can hold in all (tfjs-wasm: its 4 GiB heap; cpu: what the caller says). */
  memoryBytes?: number;
}

/** What the model is for: sampling only (trajectories, previews), or training a LoRA or fully fine-tuned student. */
export type FitUse = 'sample' | 'lora' | 'full';

/**
 * Largest activations (per row of a pass) assumed alive at once: a forward pass, and a training
 * iteration, whose backward keeps every intermediate. Measured with `npm run bench:model` on
 * tfjs-wasm's heap high-water mark (docs/benchmarks.md, "Any model"): a default RAPM LoRA iteration
 * held 56 per row for the MNIST teacher and 122 for the 36M DDPM CIFAR-10 UNet; forward passes 29-64.
 */
export const ACTIVATION_COPIES = { sample: 64, train: 128 } as const;

/** tfjs-wasm's heap maximum (65536 pages of 64 KiB: wasm32). */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

export interface Footprint {
  /** The largest single buffer and what it holds. */
  largest: { bytes: number; what: string };
  /** Everything at once, estimated. */
  totalBytes: number;
}

/** The model cannot run on this backend: `limit` says which one, with what it needs and what there is. */
export class ModelTooLargeError extends BundleError {
  constructor(
    readonly limit: FitLimit,
    readonly neededBytes: number,
    readonly availableBytes: number,
    what: string,
    backend: string,
  ) {
    super(
      'too-large',
      `the model is too large for this ${backend} backend: ${what} needs ${mib(neededBytes)}, over the ` +
        `${limit === 'memory' ? 'memory limit' : `device's ${limit}`} of ${mib(availableBytes)}; ` +
        `use a smaller model${limit === 'memory' ? ', a smaller batch' : ''} or LoRA instead of full fine-tuning, ` +
        `or a device with larger limits`,
    );
  }
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** The estimated sizes of a network used for `use` with passes of `rows` images (float32 everywhere). */
export function modelFootprint(network: Network, use: FitUse, rows: number): Footprint {
  const shapes = Object.entries(network.paramShapes());
  const sizes = shapes.map(([name, s]) => [name, s.reduce((a, b) => a * b, 1)] as const);
  const params = sizes.reduce((a, [, n]) => a + n, 0);
  const [bigName, bigSize] = sizes.reduce((a, b) => (b[1] > a[1] ? b : a));
  const activation = network.largestActivation() * rows;
  const candidates: { elements: number; what: string }[] = [
    { elements: bigSize, what: `parameter '${bigName}'` },
    { elements: activation, what: `the largest activation of a pass over ${rows} image(s)` },
  ];
  // full fine-tuning: the packed group [p | m | v | ema] over every weight, and its flat gradient
  if (use === 'full') candidates.push({ elements: 4 * params, what: 'the optimiser state (weights, 2 moments, EMA)' });
  const largest = candidates.reduce((a, b) => (b.elements > a.elements ? b : a));
  const stateCopies = use === 'full' ? 6 : use === 'lora' ? 2 : 1;
  return {
    largest: { bytes: 4 * largest.elements, what: largest.what },
    totalBytes: 4 * (stateCopies * params + ACTIVATION_COPIES[use === 'sample' ? 'sample' : 'train'] * activation),
  };
}

/** Throws ModelTooLargeError when the footprint breaks one of the limits (the first: buffer, binding, memory). */
export function checkModelFits(network: Network, limits: DeviceLimits, use: FitUse, rows: number): Footprint {
  const f = modelFootprint(network, use, rows);
  const { backend } = limits;
  if (limits.maxBufferSize !== undefined && f.largest.bytes > limits.maxBufferSize)
    throw new ModelTooLargeError('maxBufferSize', f.largest.bytes, limits.maxBufferSize, f.largest.what, backend);
  if (limits.maxStorageBufferBindingSize !== undefined && f.largest.bytes > limits.maxStorageBufferBindingSize) {
    throw new ModelTooLargeError(
      'maxStorageBufferBindingSize',
      f.largest.bytes,
      limits.maxStorageBufferBindingSize,
      f.largest.what,
      backend,
    );
  }
  if (limits.memoryBytes !== undefined && f.totalBytes > limits.memoryBytes)
    throw new ModelTooLargeError('memory', f.totalBytes, limits.memoryBytes, 'the weights and passes', backend);
  return f;
}

/** What the WebGPU device can hold in all, where it is known (WebGPU does not say; Dawn's null backend: 512 MiB). */
let webGpuMemoryBytes: number | undefined;

export function setWebGpuMemoryBytes(bytes: number | undefined): void {
  webGpuMemoryBytes = bytes;
}

/**
 * The current tfjs backend's limits: a WebGPU device's buffer limits, tfjs-wasm's heap, nothing
 * known for the others (`memoryBytes` may be given for them, e.g. the host's memory for cpu).
 */
export function backendLimits(memoryBytes?: number): DeviceLimits {
  const backend = tf.getBackend();
  if (backend === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { limits: GPUSupportedLimits } }).device;
    if (device) {
      return {
        backend,
        maxBufferSize: device.limits.maxBufferSize,
        maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
        memoryBytes: memoryBytes ?? webGpuMemoryBytes,
      };
    }
  }
  if (backend === 'wasm') return { backend, memoryBytes: Math.min(WASM_HEAP_BYTES, memoryBytes ?? Infinity) };
  return { backend, memoryBytes };
}
