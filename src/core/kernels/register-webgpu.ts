/**
 * Registers this project's fused WebGPU kernels with tfjs. Call once the webgpu backend module
 * is loaded (the studio worker at startup, Node's webgpu path in src/node/backend.ts); on other
 * backends nothing is registered and the composed ops run.
 */
import * as tf from '@tensorflow/tfjs';
import { adamEmaKernel, adamPackedKernel } from './adam-ema';
import { attentionKernels } from './attention';
import { groupNormKernels } from './group-norm';
import { loraMergeKernels } from './lora-merge';

export function registerWebGpuKernels(): void {
  for (const k of [...groupNormKernels, ...attentionKernels, adamEmaKernel, adamPackedKernel, ...loraMergeKernels]) {
    if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  }
}
