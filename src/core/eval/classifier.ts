/**
 * The quality meter's network: a small MNIST CNN whose penultimate activations are the
 * feature space for FID and whose logits give class accuracy of conditional samples.
 *
 * Layout (NHWC, input [B, 28, 28, 1] in [-1, 1]):
 *   for each stage c in `channels`: conv3x3 -> ReLU -> avgPool 2x2 ('same', so 28 -> 14 -> 7 -> 4)
 *   flatten -> dense `featureDim` -> ReLU (= features) -> dense `numClasses` (= logits)
 * The third stage exists to shrink the flattened vector (64*4*4 instead of 64*7*7): the dense
 * layer is then 4x smaller and the shipped weights stay well under 1 MB.
 *
 * Parameters are named tensors (like the UNet) and `applyClassifier` is a pure function of them,
 * so the same code serves training (variables), evaluation (loaded tensors) and tests.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2d } from '../nn/conv';
import { gaussian } from '../random';

export interface ClassifierConfig {
  imageSize: number;
  inChannels: number;
  /** Output channels of each conv stage; each stage halves the resolution (rounding up). */
  channels: number[];
  /** Width of the penultimate layer: the FID feature dimension. */
  featureDim: number;
  numClasses: number;
}

export type Params = Record<string, tf.Tensor>;

export const MNIST_CLASSIFIER: ClassifierConfig = {
  imageSize: 28,
  inChannels: 1,
  channels: [32, 64, 64],
  featureDim: 128,
  numClasses: 10,
};

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Spatial side after all stages: each 'same' 2x2 pool maps s to ceil(s / 2). */
function finalSide(cfg: ClassifierConfig): number {
  let s = cfg.imageSize;
  for (let i = 0; i < cfg.channels.length; i++) s = Math.ceil(s / 2);
  return s;
}

export function classifierParamShapes(cfg: ClassifierConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  let cin = cfg.inChannels;
  cfg.channels.forEach((cout, i) => {
    shapes[`conv.${i}.w`] = [3, 3, cin, cout];
    shapes[`conv.${i}.b`] = [cout];
    cin = cout;
  });
  const flat = finalSide(cfg) ** 2 * cin;
  shapes['fc.w'] = [flat, cfg.featureDim];
  shapes['fc.b'] = [cfg.featureDim];
  shapes['out.w'] = [cfg.featureDim, cfg.numClasses];
  shapes['out.b'] = [cfg.numClasses];
  return shapes;
}

/** He-normal weights (fan-in, suits ReLU), zero biases; the same for a seed on every backend. */
export function initClassifierParams(cfg: ClassifierConfig, seed: number): Params {
  const params: Params = {};
  Object.entries(classifierParamShapes(cfg)).forEach(([name, shape], i) => {
    if (name.endsWith('.b')) {
      params[name] = tf.zeros(shape);
      return;
    }
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    params[name] = tf.mul(tf.tensor(gaussian(seed * 1000 + i, size(shape)), shape), Math.sqrt(2 / fanIn));
  });
  return params;
}

export function classifierParamCount(cfg: ClassifierConfig): number {
  return Object.values(classifierParamShapes(cfg)).reduce((n, s) => n + size(s), 0);
}

export interface ClassifierOutput {
  /** [B, numClasses] unnormalised class scores. */
  logits: tf.Tensor2D;
  /** [B, featureDim] penultimate activations (after ReLU): the FID feature vectors. */
  features: tf.Tensor2D;
}

export function applyClassifier(cfg: ClassifierConfig, p: Params, x: tf.Tensor4D): ClassifierOutput {
  const [, h, w, c] = x.shape;
  if (h !== cfg.imageSize || w !== cfg.imageSize || c !== cfg.inChannels) {
    throw new Error(
      `classifier: expected input [B, ${cfg.imageSize}, ${cfg.imageSize}, ${cfg.inChannels}], got [${x.shape.join(', ')}]`,
    );
  }
  return tf.tidy(() => {
    let y = x;
    cfg.channels.forEach((_, i) => {
      const z = tf.relu(tf.add(conv2d(y, p[`conv.${i}.w`] as tf.Tensor4D), p[`conv.${i}.b`])) as tf.Tensor4D;
      y = tf.avgPool(z, 2, 2, 'same');
    });
    const flat = tf.reshape(y, [y.shape[0], -1]) as tf.Tensor2D;
    const features = tf.relu(tf.add(tf.matMul(flat, p['fc.w'] as tf.Tensor2D), p['fc.b'])) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(features, p['out.w'] as tf.Tensor2D), p['out.b']) as tf.Tensor2D;
    return { logits, features };
  });
}
