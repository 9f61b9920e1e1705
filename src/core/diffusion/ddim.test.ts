import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PredictionType } from '../model-config';
import { Ddim, TimestepRangeError } from './ddim';
import { alphasCumprod, SD_SCHEDULE } from './schedule';

const ddim = (prediction: PredictionType, setAlphaToOne = false, clipSample: [number, number] | null = null) =>
  new Ddim({ schedule: SD_SCHEDULE, prediction, setAlphaToOne, clipSample });

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('Ddim', () => {
  let x0: tf.Tensor4D;
  let eps: tf.Tensor4D;
  beforeAll(() => {
    x0 = tf.randomUniform([2, 4, 4, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
    eps = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  });

  for (const prediction of ['epsilon', 'v_prediction'] as const) {
    it(`${prediction}: a step with the true output lands on x0 noised to the target level`, () => {
      const d = ddim(prediction);
      for (const [t, s] of [
        [999, 749],
        [749, 499],
        [30, -1],
      ]) {
        const zt = d.addNoise(x0, eps, t);
        const output = d.target(x0, eps, t);
        const zs = d.step(output, zt, t, s);
        const expected =
          s < 0 ? tf.add(tf.mul(x0, Math.sqrt(0.99915)), tf.mul(eps, Math.sqrt(0.00085))) : d.addNoise(x0, eps, s);
        expect(maxDiff(zs, expected)).toBeLessThan(1e-4);
      }
    });

    it(`${prediction}: predict inverts target (v <-> (x0, eps))`, () => {
      const d = ddim(prediction);
      const zt = d.addNoise(x0, eps, 499);
      const p = d.predict(d.target(x0, eps, 499), zt, 499);
      expect(maxDiff(p.x0, x0)).toBeLessThan(1e-4);
      expect(maxDiff(p.eps, eps)).toBeLessThan(1e-4);
    });
  }

  it('v target matches sqrt(a) eps - sqrt(1-a) x0 with the tabulated alpha_bar', () => {
    const a = alphasCumprod(SD_SCHEDULE)[249];
    const v = ddim('v_prediction').target(x0, eps, 249);
    expect(maxDiff(v, tf.sub(tf.mul(eps, Math.sqrt(a)), tf.mul(x0, Math.sqrt(1 - a))))).toBeLessThan(1e-6);
  });

  it('setAlphaToOne makes the final step return x0 exactly', () => {
    const d = ddim('epsilon', true);
    const zt = d.addNoise(x0, eps, 249);
    expect(maxDiff(d.step(eps, zt, 249, -1), x0)).toBeLessThan(1e-4);
    expect(d.alphaBarAt(-1)).toBe(1);
    expect(ddim('epsilon', false).alphaBarAt(-1)).toBeCloseTo(0.99915, 10);
  });

  it('per-sample timesteps equal per-sample scalar steps', () => {
    const d = ddim('v_prediction');
    const ts = new Float32Array([749, 249]);
    const ss = new Float32Array([499, -1]);
    const zt = d.addNoise(x0, eps, ts);
    const zs = d.step(d.target(x0, eps, ts), zt, ts, ss);
    for (let i = 0; i < 2; i++) {
      const xi = tf.slice(x0, [i], [1]);
      const ei = tf.slice(eps, [i], [1]);
      const zi = d.step(d.target(xi, ei, ts[i]), d.addNoise(xi, ei, ts[i]), ts[i], ss[i]);
      expect(maxDiff(tf.slice(zs, [i], [1]), zi)).toBeLessThan(1e-5);
    }
  });

  it('clipSample clamps the predicted x0 and re-derives eps from it, so the pair still makes z', () => {
    const d = ddim('epsilon', false, [-1, 1]);
    const big = tf.mul(x0, 3) as tf.Tensor4D;
    const z = d.addNoise(big, eps, 499);
    const p = d.predict(eps, z, 499);
    expect(maxDiff(p.x0, tf.clipByValue(big, -1, 1))).toBeLessThan(1e-4);
    expect(maxDiff(d.addNoise(p.x0, p.eps, 499), z)).toBeLessThan(1e-4);
    // Where x0 was inside the range, eps is the model's own.
    const inside = tf.lessEqual(tf.abs(big), 1);
    const kept = tf.where(inside, tf.sub(p.eps, eps), tf.zerosLike(eps));
    expect(tf.max(tf.abs(kept)).dataSync()[0]).toBeLessThan(1e-3);
    expect(maxDiff(p.eps, eps)).toBeGreaterThan(0.1);
  });

  it('clipSample passes gradients straight through the clamp', () => {
    const d = ddim('epsilon', false, [-1, 1]);
    const z = d.addNoise(tf.mul(x0, 3) as tf.Tensor4D, eps, 999);
    const grad = tf.grad((out) => tf.sum(d.predict(out as tf.Tensor4D, z, 999).x0))(eps);
    // d x0 / d output = -sqrt(1 - a) / sqrt(a) everywhere, clamped or not
    const a = d.alphaBarAt(999);
    const want = -Math.sqrt(1 - a) / Math.sqrt(a);
    expect(tf.max(tf.abs(tf.sub(grad, want))).dataSync()[0]).toBeLessThan(1e-3 * Math.abs(want));
  });

  it('rejects bad timesteps with a typed error', () => {
    const d = ddim('epsilon');
    expect(() => d.addNoise(x0, eps, 1000)).toThrow(TimestepRangeError);
    expect(() => d.addNoise(x0, eps, 2.5)).toThrow(TimestepRangeError);
    expect(() => d.addNoise(x0, eps, -1)).toThrow(TimestepRangeError);
    expect(() => d.addNoise(x0, eps, new Float32Array([1, 2, 3]))).toThrow(TimestepRangeError);
  });

  it('leaks no tensors', () => {
    const d = ddim('v_prediction');
    const zt = d.addNoise(x0, eps, 499);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) d.step(zt, zt, new Float32Array([499, 400]), 249).dispose();
    const p = d.predict(zt, zt, 499);
    tf.dispose([p.x0, p.eps]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
