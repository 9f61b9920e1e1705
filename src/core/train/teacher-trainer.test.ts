import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initUnetParams, type Params } from '../nn/unet';
import { gaussian } from '../random';
import { TINY_MODEL } from '../rapm/fixtures.test-util';
import { TeacherTrainer, type TeacherBatch, type TeacherTrainConfig } from './teacher-trainer';

const BASE: TeacherTrainConfig = {
  batchSize: 2,
  steps: 200,
  adam: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  warmupSteps: 10,
  labelDropout: 0.1,
  emaDecay: 0.9,
  seed: 0,
};

function batch(seed: number): TeacherBatch {
  const px = 2 * 8 * 8;
  return {
    images: Float32Array.from(gaussian(seed, px), (v) => Math.tanh(v)),
    labels: Int32Array.from([0, 3]),
    noise: Float32Array.from(gaussian(seed + 1, px)),
    timesteps: Int32Array.from([10, 700]),
  };
}

const values = (p: Params) => Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.dataSync().slice()]));

describe('TeacherTrainer learning-rate schedule', () => {
  it('by default warms up from step 0 and ends its cosine at 10% of the peak', () => {
    const t = new TeacherTrainer(TINY_MODEL, BASE, initUnetParams(TINY_MODEL.unet, 0));
    expect(t.learningRate(0)).toBeCloseTo(1e-4, 12);
    expect(t.learningRate(9)).toBeCloseTo(1e-3, 12);
    expect(t.learningRate(200)).toBeCloseTo(1e-4, 12);
    expect(t.learningRate(105)).toBeCloseTo(1e-3 * 0.55, 12);
    t.dispose();
  });

  it('a restart warms up again from scheduleStart and decays to finalLrFraction at steps', () => {
    const cfg = { ...BASE, scheduleStart: 100, finalLrFraction: 0.02 };
    const t = new TeacherTrainer(TINY_MODEL, cfg, initUnetParams(TINY_MODEL.unet, 0));
    expect(t.learningRate(100)).toBeCloseTo(1e-4, 12);
    expect(t.learningRate(109)).toBeCloseTo(1e-3, 12);
    expect(t.learningRate(200)).toBeCloseTo(2e-5, 12);
    expect(t.learningRate(400)).toBeCloseTo(2e-5, 12);
    const after = Array.from({ length: 91 }, (_, i) => t.learningRate(110 + i));
    after.slice(1).forEach((lr, i) => expect(lr).toBeLessThan(after[i]));
    t.dispose();
  });
});

describe('TeacherTrainer EMA', () => {
  it('keeps each extra decay beside the main EMA, with or without the warm-up cap', async () => {
    for (const emaWarmup of [true, false]) {
      const init = initUnetParams(TINY_MODEL.unet, 1);
      const before = values(init);
      const cfg = { ...BASE, emaWarmup, extraEmaDecays: [0.5, 0.99] };
      const t = new TeacherTrainer(TINY_MODEL, cfg, init);
      const loss = await t.trainStep(batch(3));
      expect(Number.isFinite(loss)).toBe(true);
      // after step 1 the warm-up caps every decay at (1 + 1) / (10 + 1)
      const cap = 2 / 11;
      const now = values(t.params);
      const expectEma = (ema: Params, decay: number) => {
        const d = emaWarmup ? Math.min(decay, cap) : decay;
        for (const [k, v] of Object.entries(values(ema))) {
          const want = before[k].map((b, i) => d * b + (1 - d) * now[k][i]);
          expect(Array.from(v)).toEqual(Array.from(want).map((x) => expect.closeTo(x, 6)));
        }
      };
      expect(t.emaDecayNow(0.9)).toBeCloseTo(emaWarmup ? cap : 0.9, 12);
      expectEma(t.ema, 0.9);
      expectEma(t.extraEmas['0.5'], 0.5);
      expectEma(t.extraEmas['0.99'], 0.99);
      t.dispose();
    }
  });

  it('holds the tensor count flat from step to step and frees everything on dispose', async () => {
    const start = tf.memory().numTensors;
    const t = new TeacherTrainer(TINY_MODEL, { ...BASE, extraEmaDecays: [0.99] }, initUnetParams(TINY_MODEL.unet, 2));
    await t.trainStep(batch(5));
    const afterOne = tf.memory().numTensors;
    await t.trainStep(batch(7));
    await t.trainStep(batch(9));
    expect(tf.memory().numTensors).toBe(afterOne);
    t.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
