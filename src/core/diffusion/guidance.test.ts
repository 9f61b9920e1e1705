import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type Denoiser, guided } from './guidance';

const numClasses = 10;

/** A denoiser whose output depends on x, t and the label, and that records its batch sizes. */
function recording(): { denoiser: Denoiser; batches: number[] } {
  const batches: number[] = [];
  const denoiser: Denoiser = (x, t, labels) =>
    tf.tidy(() => {
      batches.push(x.shape[0]);
      const l = tf.reshape(tf.cast(labels, 'float32'), [-1, 1, 1, 1]);
      return tf.add(tf.mul(x, tf.add(l, 1)), t / 1000) as tf.Tensor4D;
    });
  return { denoiser, batches };
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('classifier-free guidance', () => {
  it('w = 1 is the conditional output', () => {
    const { denoiser } = recording();
    const x = tf.randomNormal([3, 2, 2, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 4, 9], 'int32');
    expect(maxDiff(guided(denoiser, numClasses, 1)(x, 500, labels), denoiser(x, 500, labels))).toBe(0);
  });

  it('w = 0 is the unconditional output; w = 2.5 is uncond + w (cond - uncond), in one batched call', () => {
    const x = tf.randomNormal([3, 2, 2, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 4, 9], 'int32');
    const { denoiser, batches } = recording();
    const cond = denoiser(x, 300, labels);
    const uncond = denoiser(x, 300, tf.fill([3], numClasses, 'int32'));
    batches.length = 0;

    expect(maxDiff(guided(denoiser, numClasses, 0)(x, 300, labels), uncond)).toBeLessThan(1e-6);
    const out = guided(denoiser, numClasses, 2.5)(x, 300, labels);
    expect(maxDiff(out, tf.add(uncond, tf.mul(tf.sub(cond, uncond), 2.5)))).toBeLessThan(1e-5);
    expect(batches).toEqual([6, 6]);
  });

  it('with an interval, guides inside [lo, hi] and runs the conditional branch alone outside it', () => {
    const x = tf.randomNormal([3, 2, 2, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 4, 9], 'int32');
    const { denoiser, batches } = recording();
    const model = guided(denoiser, numClasses, 3, [200, 800]);
    for (const t of [200, 500, 800])
      expect(maxDiff(model(x, t, labels), guided(denoiser, numClasses, 3)(x, t, labels))).toBe(0);
    batches.length = 0;
    for (const t of [199, 801, 999]) expect(maxDiff(model(x, t, labels), denoiser(x, t, labels))).toBe(0);
    expect(batches).toEqual([3, 3, 3, 3, 3, 3]);
  });

  it('leaks no tensors', () => {
    const { denoiser } = recording();
    const x = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 2], 'int32');
    const before = tf.memory().numTensors;
    guided(denoiser, numClasses, 3)(x, 10, labels).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
