import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { PredictionType } from '../model-config';
import { applyUnet, initUnetParams } from '../nn/unet';
import { tinyUnetConfig } from '../tiny-model-config';
import { Ddim } from './ddim';
import type { Denoiser } from './guidance';
import { SD_SCHEDULE } from './schedule';
import { sampleDdim, SamplerInputError, seededNoise } from './sampler';
import { rapmGrids } from './timesteps';

const makeDdim = (prediction: PredictionType) =>
  new Ddim({ schedule: SD_SCHEDULE, prediction, setAlphaToOne: true, clipSample: null });

/** A perfect model: it knows x0, so its output is the exact eps (or v) of z_t around x0, whatever the label. */
function oracle(ddim: Ddim, x0: tf.Tensor4D): Denoiser {
  return (z, t) =>
    tf.tidy(() => {
      // Guidance doubles the batch to [x; x].
      const x = z.shape[0] === x0.shape[0] ? x0 : tf.concat([x0, x0]);
      const a = ddim.alphaBarAt(t);
      const eps = tf.div(tf.sub(z, tf.mul(x, Math.sqrt(a))), Math.sqrt(1 - a)) as tf.Tensor4D;
      return ddim.target(x, eps, t);
    });
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const labels = () => tf.tensor1d([1, 7], 'int32');

describe('sampleDdim', () => {
  for (const prediction of ['epsilon', 'v_prediction'] as const) {
    for (const [steps, spacing] of [
      [1, 'trailing'],
      [4, 'trailing'],
      [10, 'leading'],
      [7, 'linspace'],
    ] as const) {
      it(`${prediction}, ${steps} ${spacing} steps: an oracle denoiser returns x0`, () => {
        const ddim = makeDdim(prediction);
        const x0 = tf.randomUniform([2, 4, 4, 1], -1, 1, 'float32', 3) as tf.Tensor4D;
        const noise = seededNoise([11, 12], 4, 4, 1);
        const { samples } = sampleDdim(ddim, oracle(ddim, x0), noise, labels(), {
          steps,
          spacing,
          guidanceScale: 2,
          numClasses: 10,
        });
        expect(maxDiff(samples, x0)).toBeLessThan(2e-3);
      });
    }
  }

  it('ends inside the data range when the DDIM clips, and only then', () => {
    // Even a perfect model of x0 on the range's bounds overshoots them at the last step, which
    // lands at alpha_bar(0) < 1 and so keeps sqrt(1 - alpha_bar(0)) of the noise.
    const x0 = tf.sign(tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 8)) as tf.Tensor4D;
    const run = (clipSample: [number, number] | null) => {
      const ddim = new Ddim({ schedule: SD_SCHEDULE, prediction: 'epsilon', setAlphaToOne: false, clipSample });
      const noise = seededNoise([5, 6], 4, 4, 1);
      const opts = { steps: 4, spacing: 'trailing', guidanceScale: 1, numClasses: 10 } as const;
      const { samples } = sampleDdim(ddim, oracle(ddim, x0), noise, labels(), opts);
      const bounds = [tf.min(samples).dataSync()[0], tf.max(samples).dataSync()[0]];
      tf.dispose([noise, samples]);
      return bounds;
    };
    const [rawLo, rawHi] = run(null);
    expect(Math.max(-rawLo, rawHi)).toBeGreaterThan(1);
    const [lo, hi] = run([-1, 1]);
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(1);
    expect(lo === -1 || hi === 1).toBe(true); // the clamp binds: some pixels end exactly at a bound
    x0.dispose();
  });

  it('keeps the points at RAPM coarse boundaries and the first fine step out of each', () => {
    const ddim = makeDdim('epsilon');
    const { coarse, fine, coarseIndex } = rapmGrids(1000, 4, 8);
    const keepAt = coarseIndex.flatMap((i) => [fine[i], fine[i + 1]]);
    const x0 = tf.randomUniform([2, 4, 4, 1], -1, 1, 'float32', 4) as tf.Tensor4D;
    const noise = seededNoise([1, 2], 4, 4, 1);
    const l = labels();
    const before = tf.memory().numTensors;
    const { samples, points } = sampleDdim(ddim, oracle(ddim, x0), noise, l, {
      steps: 32,
      spacing: 'trailing',
      guidanceScale: 1,
      numClasses: 10,
      keepAt,
    });
    // The sampler keeps nothing of its own after returning: only the samples and the 8 points are new.
    expect(tf.memory().numTensors).toBe(before + 1 + 8);
    expect(points.map((p) => p.t)).toEqual([999, 968, 749, 718, 499, 468, 249, 218]);
    expect(points.filter((p) => coarse.includes(p.t))).toHaveLength(4);
    expect(maxDiff(points[0].z, noise)).toBe(0);
    // With a perfect model DDIM keeps eps fixed: every point is x0 noised with the same eps.
    const a = ddim.alphaBarAt(999);
    const eps = tf.div(tf.sub(noise, tf.mul(x0, Math.sqrt(a))), Math.sqrt(1 - a)) as tf.Tensor4D;
    for (const p of points) expect(maxDiff(p.z, ddim.addNoise(x0, eps, p.t))).toBeLessThan(1e-3);
    expect(maxDiff(samples, x0)).toBeLessThan(2e-3);
  });

  it('rejects keepAt off the grid and mismatched labels', () => {
    const ddim = makeDdim('epsilon');
    const x0 = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const noise = seededNoise([1, 2], 4, 4, 1);
    const opts = { steps: 4, spacing: 'trailing' as const, guidanceScale: 1, numClasses: 10 };
    expect(() => sampleDdim(ddim, oracle(ddim, x0), noise, labels(), { ...opts, keepAt: [750] })).toThrow(
      SamplerInputError,
    );
    expect(() => sampleDdim(ddim, oracle(ddim, x0), noise, tf.tensor1d([1], 'int32'), opts)).toThrow(SamplerInputError);
  });

  it('samples on an explicit grid, one step per entry, and refuses a bad grid', () => {
    const ddim = makeDdim('epsilon');
    const x0 = tf.fill([2, 4, 4, 1], 0.3) as tf.Tensor4D;
    const noise = seededNoise([1, 2], 4, 4, 1);
    const seen: number[] = [];
    const recording: Denoiser = (z, t, l) => {
      seen.push(t);
      return oracle(ddim, x0)(z, t, l);
    };
    const opts = { steps: 4, spacing: 'trailing' as const, guidanceScale: 1, numClasses: 10 };
    const grid = [999, 874, 749, 624, 499, 374, 249, 124];
    const { samples } = sampleDdim(ddim, recording, noise, labels(), { ...opts, timesteps: grid });
    expect(seen).toEqual(grid);
    expect(maxDiff(samples, x0)).toBeLessThan(2e-3);
    for (const bad of [[], [499, 999], [999, 499.5], [1000, 499], [999, -1]]) {
      expect(() => sampleDdim(ddim, recording, noise, labels(), { ...opts, timesteps: bad })).toThrow(
        SamplerInputError,
      );
    }
  });

  it('frees its state and kept points when the denoiser fails', () => {
    const ddim = makeDdim('epsilon');
    const noise = seededNoise([1, 2], 4, 4, 1);
    const l = labels();
    let calls = 0;
    const failing: Denoiser = (z) => {
      if (++calls === 3) throw new Error('out of memory');
      return tf.zerosLike(z);
    };
    const before = tf.memory().numTensors;
    const opts = { steps: 4, spacing: 'trailing' as const, guidanceScale: 1, numClasses: 10, keepAt: [999, 749] };
    expect(() => sampleDdim(ddim, failing, noise, l, opts)).toThrow('out of memory');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('seeded noise repeats and is per-sample', () => {
    const a = seededNoise([5, 6], 3, 3, 2);
    expect(maxDiff(a, seededNoise([5, 6], 3, 3, 2))).toBe(0);
    expect(maxDiff(tf.slice(a, [1], [1]), seededNoise([6], 3, 3, 2))).toBe(0);
  });

  it('runs a tiny random UNet for 2 guided steps: right shape, finite values', () => {
    const cfg = tinyUnetConfig(10);
    const params = initUnetParams(cfg, 0);
    const denoiser: Denoiser = (x, t, l) => tf.tidy(() => applyUnet(cfg, params, x, tf.fill([x.shape[0]], t), l));
    const ddim = makeDdim('v_prediction');
    const { samples } = sampleDdim(ddim, denoiser, seededNoise([1, 2], 8, 8, 1), labels(), {
      steps: 2,
      spacing: 'trailing',
      guidanceScale: 3,
      numClasses: cfg.numClasses,
    });
    expect(samples.shape).toEqual([2, 8, 8, 1]);
    expect(tf.all(tf.isFinite(samples)).dataSync()[0]).toBe(1);
  });
});
