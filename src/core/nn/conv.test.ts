import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { conv2d } from './conv';

function loss(x: tf.Tensor4D, w: tf.Tensor4D, conv: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D) {
  // A fixed random projection makes every output element matter to the gradient.
  const y = conv(x, w);
  const proj = tf.randomNormal(y.shape, 0, 1, 'float32', 7);
  return tf.sum(tf.mul(y, proj)) as tf.Scalar;
}

const native = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, 1, 'same');

describe('conv2d with custom gradient', () => {
  for (const k of [1, 3]) {
    it(`matches the cpu backend's native gradients (k=${k})`, async () => {
      const x = tf.randomNormal([2, 5, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([k, k, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a as tf.Tensor4D, b as tf.Tensor4D, conv2d))([
        x,
        w,
      ]);
      const ours = [await dx.array(), await dw.array(), await conv2d(x, w).array()];

      const prev = tf.getBackend();
      await tf.setBackend('cpu');
      const xc = tf.tensor(await x.array()) as tf.Tensor4D;
      const wc = tf.tensor(await w.array()) as tf.Tensor4D;
      const [dxc, dwc] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a as tf.Tensor4D, b as tf.Tensor4D, native))([
        xc,
        wc,
      ]);
      const ref = [await dxc.array(), await dwc.array(), await native(xc, wc).array()];
      await tf.setBackend(prev);

      for (let i = 0; i < 3; i++) {
        const a = tf.tensor(ours[i] as number[]);
        const b = tf.tensor(ref[i] as number[]);
        expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-3);
      }
    });
  }

  it("with bias: the backprop kernels of backends that have them (cpu) agree with wasm's formulation", async () => {
    const grads = async () => {
      const x = tf.randomNormal([2, 5, 6, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 6) as tf.Tensor4D;
      const b = tf.randomNormal([4], 0, 1, 'float32', 7) as tf.Tensor1D;
      const proj = tf.randomNormal([2, 5, 6, 4], 0, 1, 'float32', 8);
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, { bias: bb as tf.Tensor1D }), proj)) as tf.Scalar;
      const frozenDx = tf.grad((xx: tf.Tensor) =>
        tf.sum(tf.mul(conv2d(xx as tf.Tensor4D, w, { bias: b, frozen: true }), proj)),
      )(x);
      return Promise.all([...tf.grads(f)([x, w, b]), frozenDx].map((t) => t.data()));
    };
    const prev = tf.getBackend();
    const wasm = await grads();
    await tf.setBackend('cpu');
    const cpu = await grads();
    await tf.setBackend(prev);
    wasm.forEach((a, i) => {
      const diff = Math.max(...Array.from(a, (v, j) => Math.abs(v - cpu[i][j])));
      expect(diff).toBeLessThan(1e-3);
    });
    expect(Array.from(wasm[3])).toEqual(Array.from(wasm[0]));
  });

  it('matches a numerical gradient of the filter', () => {
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 2, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
    const f = (ww: tf.Tensor4D) => loss(x, ww, conv2d);
    const dw = tf
      .grad((ww: tf.Tensor) => f(ww as tf.Tensor4D))(w)
      .dataSync();
    const wv = w.dataSync();
    const eps = 1e-2;
    for (const idx of [0, 5, 17, 35]) {
      const plus = wv.slice();
      plus[idx] += eps;
      const minus = wv.slice();
      minus[idx] -= eps;
      const num =
        (f(tf.tensor4d(plus, w.shape)).dataSync()[0] - f(tf.tensor4d(minus, w.shape)).dataSync()[0]) / (2 * eps);
      expect(Math.abs(num - dw[idx])).toBeLessThan(2e-2 * Math.max(1, Math.abs(num)));
    }
  });

  it('rejects even kernels with a clear error', () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => conv2d(x, tf.zeros([2, 2, 1, 1]) as tf.Tensor4D)).toThrow(/square and odd/);
  });
});
