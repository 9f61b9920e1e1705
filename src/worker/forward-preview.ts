/**
 * One forward pass of the default UNet with random weights on a random input: proves the
 * backend runs the real model end to end and shows what it costs.
 */
import * as tf from '@tensorflow/tfjs';
import { MNIST_UNET, applyUnet, initUnetParams, type Params } from '../core/nn/unet';
import type { ForwardRequest, ForwardResult } from './protocol';

/** Mid-trajectory timestep, so the time embedding is neither at its start nor its end. */
const PREVIEW_TIMESTEP = 500;

/**
 * A fresh init zeroes the last conv of every residual branch and the output conv (training
 * starts from the identity), so its output is exactly 0: a blank image that proves nothing.
 * The preview therefore draws every weight tensor ('.w') at random, fan-in scaled.
 */
function randomizeWeights(params: Params, seed: number): void {
  let k = 0;
  for (const [name, value] of Object.entries(params)) {
    k++;
    if (!name.endsWith('.w')) continue;
    const fanIn = value.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    params[name] = tf.randomNormal(value.shape, 0, 1 / Math.sqrt(fanIn), 'float32', seed * 7919 + k);
    value.dispose();
  }
}

/** Grey levels of one [H, W, 1] output stretched to its own min..max, as RGBA. */
function toRgba(values: Float32Array, width: number, height: number, min: number, max: number): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(width * height * 4);
  const scale = max > min ? 255 / (max - min) : 0;
  for (let i = 0; i < width * height; i++) {
    const v = (values[i] - min) * scale;
    rgba[4 * i] = v;
    rgba[4 * i + 1] = v;
    rgba[4 * i + 2] = v;
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

export async function runForwardPreview({ seed }: ForwardRequest): Promise<ForwardResult> {
  const cfg = MNIST_UNET;
  const params = initUnetParams(cfg, seed);
  randomizeWeights(params, seed);
  const inputs = tf.tidy(() => ({
    x: tf.randomNormal([1, cfg.imageSize, cfg.imageSize, cfg.inChannels], 0, 1, 'float32', seed) as tf.Tensor4D,
    t: tf.tensor1d([PREVIEW_TIMESTEP]),
    // The last class id is the null (unconditional) class.
    labels: tf.tensor1d([cfg.numClasses], 'int32'),
  }));
  try {
    const start = performance.now();
    const out = tf.tidy(() => applyUnet(cfg, params, inputs.x, inputs.t, inputs.labels));
    // Only the first channel is shown: MNIST has one, and a grey image is enough to see it ran.
    const first = tf.tidy(() => out.slice([0, 0, 0, 0], [1, cfg.imageSize, cfg.imageSize, 1]));
    out.dispose();
    const values = (await first.data()) as Float32Array;
    const ms = performance.now() - start;
    first.dispose();
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return {
      width: cfg.imageSize,
      height: cfg.imageSize,
      rgba: toRgba(values, cfg.imageSize, cfg.imageSize, min, max),
      ms,
      min,
      max,
    };
  } finally {
    tf.dispose([inputs.x, inputs.t, inputs.labels, ...Object.values(params)]);
  }
}
