/**
 * The switch between tfjs's composed ops (the reference path, every backend) and this project's
 * fused kernels. A fused kernel is used when it is registered for the active backend (today:
 * webgpu, see register-webgpu.ts) and fusion is not switched off; the equivalence tests switch it
 * off to run the reference path on the same backend.
 */
import * as tf from '@tensorflow/tfjs';

let enabled = true;

/** Turns the fused kernels on (the default) or off, for every backend. */
export function setFusedKernels(on: boolean): void {
  enabled = on;
}

/** True when `kernelName` should run as this project's fused kernel on the active backend. */
export function useFused(kernelName: string): boolean {
  return enabled && tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
