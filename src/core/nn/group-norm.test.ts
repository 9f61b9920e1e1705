import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { groupNorm } from './group-norm';

/** The textbook composition (what the UNet used before): tfjs's autodiff gives its gradients. */
function composed(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const g = Math.min(groups, c);
  const xg = x.reshape([b, h, w, g, c / g]);
  const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
  const normed = tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, 1e-5))).reshape([b, h, w, c]);
  return tf.add(tf.mul(normed, gamma), beta) as tf.Tensor4D;
}

type Norm = typeof groupNorm;

function valueAndGrads(norm: Norm, x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number) {
  return tf.tidy(() => {
    // A fixed random projection makes every output element matter to the gradient.
    const proj = tf.randomNormal(x.shape, 0, 1, 'float32', 11);
    const f = (a: tf.Tensor, g: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(norm(a as tf.Tensor4D, g, bb, groups), proj)) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(f)([x, gamma, beta]);
    return [norm(x, gamma, beta, groups), value, ...grads];
  });
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];

describe('groupNorm with explicit gradient', () => {
  for (const [shape, groups] of [
    [[2, 5, 4, 12], 4],
    [[3, 7, 7, 48], 8],
    [[2, 3, 3, 4], 8], // groups capped at the channel count
  ] as [[number, number, number, number], number][]) {
    it(`matches the composed norm and its autodiff gradients (${shape}, ${groups} groups)`, () => {
      // Non-zero means and unequal scales per channel, as activations have.
      const x = tf.add(
        tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), tf.randomUniform([shape[3]], 0.2, 3, 'float32', 2)),
        tf.randomNormal([shape[3]], 0, 2, 'float32', 3),
      ) as tf.Tensor4D;
      const gamma = tf.randomNormal([shape[3]], 1, 0.3, 'float32', 4);
      const beta = tf.randomNormal([shape[3]], 0, 0.3, 'float32', 5);
      const ours = valueAndGrads(groupNorm, x, gamma, beta, groups);
      const ref = valueAndGrads(composed, x, gamma, beta, groups);
      const names = ['output', 'loss', 'dx', 'dgamma', 'dbeta'];
      ours.forEach((t, i) => {
        expect(t.shape, names[i]).toEqual(ref[i].shape);
        const scale = Math.max(1, tf.max(tf.abs(ref[i])).dataSync()[0]);
        expect(maxDiff(t, ref[i]) / scale, names[i]).toBeLessThan(1e-4);
      });
      tf.dispose([x, gamma, beta, ...ours, ...ref]);
    });
  }

  it('keeps the tensor count flat', () => {
    const x = tf.randomNormal([2, 4, 4, 8]) as tf.Tensor4D;
    const gamma = tf.ones([8]);
    const beta = tf.zeros([8]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(valueAndGrads(groupNorm, x, gamma, beta, 4));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, gamma, beta]);
  });
});
