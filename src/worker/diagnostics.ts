/**
 * Diagnostics for benchmarks (`?diagnostics` in the page's URL, off by default): the training
 * loop reports every iteration's wall time, the worker's live tfjs tensors after it (what the soak
 * script watches for leaks) and, on webgpu, how many compute dispatches it issued from this worker. Dispatches are counted by wrapping `GPUComputePassEncoder.dispatchWorkgroups`
 * before tfjs creates its device, so every shader tfjs or our fused kernels run is seen. When the
 * switch is off nothing is wrapped and the loop skips the bookkeeping.
 */
import * as tf from '@tensorflow/tfjs';
import type { StudioEvents } from './protocol';

let enabled = false;
/** Null where this worker has no WebGPU to count. */
let dispatches: number | null = null;

export function enableDiagnostics(): void {
  if (enabled) return;
  enabled = true;
  if (typeof GPUComputePassEncoder === 'undefined') return;
  const proto = GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  dispatches = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<typeof original>) {
    dispatches = (dispatches ?? 0) + 1;
    return original.apply(this, args);
  };
}

/** Where an iteration starts: null when diagnostics are off. */
export interface IterationMark {
  start: number;
  dispatches: number | null;
}

export function markIteration(): IterationMark | null {
  return enabled ? { start: performance.now(), dispatches } : null;
}

/**
 * The cost of the iteration begun at `mark` (call it once the iteration's results are read back,
 * so every dispatch of it has been issued). `dispatches` is null when the backend is not webgpu.
 */
export function iterationCost(
  mark: IterationMark,
  runId: string,
  iteration: number,
  hostMs: number | null,
): StudioEvents['iterationCost'] {
  const ms = performance.now() - mark.start;
  const counted = tf.getBackend() === 'webgpu' && mark.dispatches !== null && dispatches !== null;
  const { numTensors, numBytes } = tf.memory();
  return {
    runId,
    iteration,
    ms,
    dispatches: counted ? (dispatches ?? 0) - (mark.dispatches ?? 0) : null,
    hostMs,
    tensors: numTensors,
    tensorBytes: numBytes,
  };
}
