import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RAPM, type RapmConfig } from './config';
import { TINY_GEOMETRY, TINY_MODEL, tinyBatch, tinyTeacher } from './fixtures.test-util';
import { RapmTrainer } from './trainer';

const cfg = (over: Partial<RapmConfig> = {}): RapmConfig => ({
  ...DEFAULT_RAPM,
  studentLr: 1e-3,
  discLr: 1e-3,
  ...over,
});

describe('RapmTrainer', () => {
  it('runs an iteration and reports finite per-slot metrics', () => {
    const trainer = new RapmTrainer(TINY_MODEL, tinyTeacher(), TINY_GEOMETRY, cfg());
    const m = trainer.step(tinyBatch(1));
    expect(m.iteration).toBe(1);
    expect(m.perSlot.regAbs).toHaveLength(2);
    for (const v of [m.studentLoss, m.discLossRel, m.discLossAbs, m.gradNorm.student, m.gradNorm.rel, m.gradNorm.abs]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(m.gradNorm.student).toBeGreaterThan(0);
    trainer.dispose();
  });

  it('keeps the tensor count flat over 20 iterations', () => {
    const trainer = new RapmTrainer(TINY_MODEL, tinyTeacher(), TINY_GEOMETRY, cfg());
    trainer.step(tinyBatch(0));
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 20; i++) trainer.step(tinyBatch(i, 1, i % 2 === 0));
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
  });
});
