/**
 * Registers this project's fused WebGPU kernels with tfjs. Call once the webgpu backend module
 * is loaded (the studio worker at startup, Node's webgpu path in src/node/backend.ts); on other
 * backends nothing is registered and the composed ops run.
 */
import * as tf from '@tensorflow/tfjs';
import { adamEmaKernel, adamPackedKernel } from './adam-ema';
import { attentionKernels } from './attention';
import { embeddingKernel } from './embedding';
import { groupNormKernels } from './group-norm';
import { loraMergeKernels } from './lora-merge';
import { rowSumKernel } from './row-sum';

/**
 * tfjs's webgpu backend runs a convolution with few 32x32 output tiles (at batch 1: the 3x3
 * convolutions at 14x14 and 7x7) as an im2col program plus a matMul, two dispatches; with this
 * flag at 0 each is one Conv2DMM dispatch. Its matMul use reads only values above 0, so matMuls
 * keep tfjs's default. The flag is registered by the webgpu backend module.
 */
const CONV_IM2COL_THRESHOLD = 'WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL';

/**
 * tfjs's webgpu backend runs an op on the CPU when all its inputs are small (< 1,000 elements) and
 * not yet uploaded (`shouldExecuteOnCPU`): a diffusers attention block's q/k/v biases, concatenated
 * in every pass, never reach the GPU that way, and reading them back inside a captured training
 * step stops the replayed step (the capture refuses read-backs). With this flag off every op runs
 * on the GPU. The flag is read at each call.
 */
const CPU_FORWARD = 'WEBGPU_CPU_FORWARD';

export function registerWebGpuKernels(): void {
  const kernels = [
    ...groupNormKernels,
    ...attentionKernels,
    embeddingKernel,
    rowSumKernel,
    adamEmaKernel,
    adamPackedKernel,
    ...loraMergeKernels,
  ];
  for (const k of kernels) {
    if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  }
  tf.env().set(CONV_IM2COL_THRESHOLD, 0);
  tf.env().set(CPU_FORWARD, false);
}
