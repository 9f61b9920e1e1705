import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TINY_ATTENTION, tinyUnetConfig } from '../tiny-model-config';
import {
  MNIST_UNET,
  UNetConfig,
  applyUnet,
  initUnetParams,
  paramCount,
  unetEncoder,
  unetFlops,
  unetParamShapes,
} from './unet';

/** Fresh weights plus noise, so that zero-initialised branches also carry signal and gradient. */
function trainedLike(cfg: UNetConfig, seed: number) {
  const p = initUnetParams(cfg, seed);
  let k = 0;
  for (const n of Object.keys(p))
    p[n] = tf.add(p[n], tf.randomNormal(p[n].shape, 0, 0.1, 'float32', seed * 1000 + k++));
  return p;
}

const tiny = tinyUnetConfig(10, TINY_ATTENTION);

describe('UNet', () => {
  it('maps a batch to an output of the same shape, for 1 and 3 channels', () => {
    for (const inChannels of [1, 3]) {
      const cfg = { ...tiny, inChannels };
      const p = trainedLike(cfg, 0);
      const x = tf.randomNormal([2, 8, 8, inChannels], 0, 1, 'float32', 1) as tf.Tensor4D;
      const y = applyUnet(cfg, p, x, tf.tensor1d([10, 900]), tf.tensor1d([3, cfg.numClasses], 'int32'));
      expect(y.shape).toEqual([2, 8, 8, inChannels]);
      expect(tf.all(tf.isFinite(y)).dataSync()[0]).toBe(1);
      expect(tf.moments(y).variance.dataSync()[0]).toBeGreaterThan(0);
    }
  });

  it('creates exactly the declared parameters', () => {
    const p = initUnetParams(MNIST_UNET, 0);
    const shapes = unetParamShapes(MNIST_UNET);
    expect(Object.keys(p).sort()).toEqual(Object.keys(shapes).sort());
    for (const [k, s] of Object.entries(shapes)) expect(p[k].shape).toEqual(s);
  });

  it('depends on the class and the timestep', () => {
    const p = trainedLike(tiny, 1);
    const x = tf.randomNormal([1, 8, 8, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const f = (t: number, c: number) => applyUnet(tiny, p, x, tf.tensor1d([t]), tf.tensor1d([c], 'int32'));
    const d = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    expect(d(f(100, 1), f(100, 2))).toBeGreaterThan(1e-5);
    expect(d(f(100, 1), f(700, 1))).toBeGreaterThan(1e-5);
  });

  it('has gradients for every parameter on wasm', () => {
    const p = trainedLike(tiny, 2);
    const names = Object.keys(p);
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const f = (...ts: tf.Tensor[]) => {
      const q = Object.fromEntries(names.map((n, i) => [n, ts[i]]));
      return tf.mean(
        tf.square(applyUnet(tiny, q, x, tf.tensor1d([5, 500]), tf.tensor1d([0, 1], 'int32')).sub(1)),
      ) as tf.Scalar;
    };
    const grads = tf.grads(f)(names.map((n) => p[n]));
    const zero = names.filter((_, i) => !(tf.max(tf.abs(grads[i])).dataSync()[0] > 0));
    expect(zero).toEqual([]);
  });

  it('gives the same weight gradients when the biases and norms are fixed (the LoRA student)', () => {
    const p = trainedLike(tiny, 4);
    const weights = Object.keys(p).filter((n) => n.endsWith('.w') && !n.startsWith('time.'));
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const grads = (fixed?: (name: string) => boolean) =>
      tf.grads((...ts: tf.Tensor[]) => {
        const q = { ...p, ...Object.fromEntries(weights.map((n, i) => [n, ts[i]])) };
        const y = applyUnet(tiny, q, x, tf.tensor1d([5, 500]), tf.tensor1d([0, 1], 'int32'), fixed);
        return tf.mean(tf.square(y.sub(1))) as tf.Scalar;
      })(weights.map((n) => p[n]));
    const all = grads();
    const some = grads((name) => !weights.includes(name));
    weights.forEach((n, i) => {
      const d = tf.max(tf.abs(tf.sub(all[i], some[i]))).dataSync()[0];
      expect(d, n).toBeLessThanOrEqual(1e-6 * Math.max(tf.max(tf.abs(all[i])).dataSync()[0], 1e-12));
    });
  });

  it('exposes encoder features for the discriminators', () => {
    const p = initUnetParams(MNIST_UNET, 0);
    const feats = unetEncoder(
      MNIST_UNET,
      p,
      tf.zeros([1, 28, 28, 1]) as tf.Tensor4D,
      tf.tensor1d([1]),
      tf.tensor1d([0], 'int32'),
    );
    expect(feats.map((f) => f.shape)).toEqual([
      [1, 28, 28, 16],
      [1, 14, 14, 32],
      [1, 7, 7, 64],
      [1, 7, 7, 64],
    ]);
  });

  it('the default MNIST config costs at most about 100 MFLOP per image', () => {
    expect(unetFlops(MNIST_UNET)).toBeLessThan(100e6);
    expect(paramCount(initUnetParams(MNIST_UNET, 0))).toBeGreaterThan(100_000);
  });

  it('rejects a size the levels cannot halve', () => {
    expect(() => unetParamShapes({ ...MNIST_UNET, imageSize: 30 })).toThrow(/divisible/);
  });
});

describe('UNet initialisation', () => {
  it('starts with an output of exactly zero (zero-initialised residual branches and output conv)', () => {
    const p = initUnetParams(tiny, 0);
    const y = applyUnet(
      tiny,
      p,
      tf.randomNormal([1, 8, 8, 1]) as tf.Tensor4D,
      tf.tensor1d([3]),
      tf.tensor1d([1], 'int32'),
    );
    expect(tf.max(tf.abs(y)).dataSync()[0]).toBe(0);
  });
});
