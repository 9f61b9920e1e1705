/**
 * Validation scores on the shipped data: the built-in teacher, its stored trajectories, the
 * evaluator and its real-digit features. The teacher's own stored end points score RMSE 0 and
 * near-perfect accuracy; its 4-step DDIM from the same noise lands near them but not on them.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { decodeEvaluator } from '../eval/evaluator-bundle';
import { decodeRealFeatures, encodeRealFeatures, RealFeaturesError } from '../eval/real-features';
import { loadModelBundle, tensorDataHash } from '../io/bundle';
import { readShard } from '../io/shards';
import { TrajectorySource } from './trajectory-source';
import { makeValidationSplit } from './validation-split';
import {
  evaluatorFits,
  meanSampleRmse,
  scoreSamples,
  teacherReferences,
  validateStudent,
  validationSet,
  type Evaluation,
} from './validation';

const TEACHER = 'public/teacher.safetensors';
const SHARD = 'public/shards/shard-00000.safetensors';
const EVALUATOR = 'public/evaluator.safetensors';
const REAL = 'public/evaluator-real.safetensors';
const shipped = [TEACHER, SHARD, EVALUATOR, REAL].every(existsSync);

async function load() {
  const { config: model, params } = loadModelBundle(readFileSync(TEACHER));
  const shard = readShard(readFileSync(SHARD));
  const source = new TrajectorySource(
    {
      positions: shard.positions,
      deltaPositions: null,
      labels: shard.labels,
      count: shard.summary.count,
      slots: shard.summary.slots,
      channels: 1,
      height: 28,
      width: 28,
    },
    {
      coarseTimesteps: shard.meta.coarseTimesteps,
      deltaTimesteps: shard.meta.deltaTimesteps,
      guidance: shard.meta.guidanceScale,
    },
  );
  const evaluatorBytes = readFileSync(EVALUATOR);
  const evaluator = decodeEvaluator(evaluatorBytes);
  const evaluation: Evaluation = {
    evaluator,
    real: decodeRealFeatures(readFileSync(REAL), await tensorDataHash(evaluatorBytes)),
  };
  return { model, params, shard, source, evaluation };
}

describe.runIf(shipped)('validation on the built-in teacher and shards', () => {
  it('takes noise and end points of the held-out trajectories from their first and last slots', async () => {
    const { source, shard, params, evaluation } = await load();
    const split = makeValidationSplit(source.data.count, 16, 0);
    const set = validationSet(source, split.indices);
    const px = 28 * 28;
    const n = shard.summary.slots;
    const k = split.indices[5];
    expect(set.noise.subarray(5 * px, 6 * px)).toEqual(
      shard.positions.subarray(k * (n + 1) * px, (k * (n + 1) + 1) * px),
    );
    expect(set.teacherEnd.subarray(5 * px, 6 * px)).toEqual(
      shard.positions.subarray((k * (n + 1) + n) * px, (k * (n + 1) + n + 1) * px),
    );
    expect(set.labels[5]).toBe(shard.labels[k]);
    tf.dispose([...Object.values(params), ...Object.values(evaluation.evaluator.params)]);
  });

  it("scores the teacher's end points and its 4-step DDIM against real digits", async () => {
    const { model, params, source, evaluation } = await load();
    expect(evaluatorFits(evaluation, model)).toBe(true);
    const set = validationSet(source, makeValidationSplit(source.data.count, 24, 0).indices);
    const before = tf.memory().numTensors;
    // No synchronous read anywhere: on WebGPU one returns zeros and loses the device (metrics.ts).
    const syncReads = vi.spyOn(tf.engine(), 'readSync');
    const measured: [number, number][] = [];
    const [few, full] = await teacherReferences(
      model,
      params,
      { timesteps: source.geometry.coarseTimesteps, guidance: source.geometry.guidance, fullSteps: 32 },
      set,
      evaluation,
      16,
      (done, total) => measured.push([done, total]),
    );
    expect(tf.memory().numTensors).toBe(before);
    // progress after each batch that has come back: 0, 16, then all 24
    expect(measured).toEqual([
      [0, 24],
      [16, 24],
      [24, 24],
    ]);
    expect(full).toMatchObject({ label: 'teacher, 32 steps', steps: 32, rmse: 0 });
    expect(full.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(few.label).toBe('teacher, 4 steps');
    // the same digit, drawn coarser: close to the end point, not on it
    expect(few.rmse).toBeGreaterThan(0.02);
    expect(few.rmse).toBeLessThan(0.5);
    expect(few.accuracy).toBeGreaterThanOrEqual(0.6);
    for (const r of [few, full]) {
      expect(Number.isFinite(r.fid)).toBe(true);
      expect(r.fid).toBeGreaterThan(0);
    }
    // pure noise is far from everything
    const noise = await scoreSamples(set.noise, set, evaluation);
    expect(noise.rmse).toBeGreaterThan(few.rmse);
    expect(noise.fid!).toBeGreaterThan(full.fid!);
    // the teacher sampled as a student (no guidance) gives a point with its cost
    measured.length = 0;
    const point = await validateStudent(
      model,
      params,
      source.geometry.coarseTimesteps,
      set,
      evaluation,
      7,
      32,
      (d, t) => measured.push([d, t]),
    );
    expect(point).toMatchObject({ iteration: 7 });
    expect(point.rmse).toBeGreaterThan(0);
    expect(point.accuracy).toBeGreaterThanOrEqual(0.5);
    expect(point.ms).toBeGreaterThan(0);
    expect(measured).toEqual([
      [0, 24],
      [24, 24],
    ]);
    expect(syncReads).not.toHaveBeenCalled();
    syncReads.mockRestore();
    const rmseOnly = await validateStudent(model, params, source.geometry.coarseTimesteps, set, null, 7);
    expect(rmseOnly).toMatchObject({ iteration: 7, fid: null, accuracy: null, rmse: point.rmse });
    tf.dispose([...Object.values(params), ...Object.values(evaluation.evaluator.params)]);
  });
});

describe('validation scores on plain arrays', () => {
  it('mean per-sample RMSE averages each sample’s RMSE', () => {
    const a = new Float32Array([0, 0, 0, 0, 1, 1, 1, 1]);
    const b = new Float32Array([1, 1, 1, 1, 1, 1, 1, 3]);
    // sample 0: RMSE 1; sample 1: sqrt(4 / 4) = 1
    expect(meanSampleRmse(a, b, 2)).toBeCloseTo(1, 6);
    expect(meanSampleRmse(a, a, 2)).toBe(0);
  });

  it.runIf(shipped)('real features belong to one evaluator', async () => {
    const bytes = readFileSync(REAL);
    const sha = await tensorDataHash(readFileSync(EVALUATOR));
    const real = decodeRealFeatures(bytes, sha);
    expect(real.dim).toBe(128);
    expect(real.count).toBeGreaterThan(1000);
    expect(decodeRealFeatures(encodeRealFeatures(real), sha).mean).toEqual(real.mean);
    expect(() => decodeRealFeatures(bytes, '0'.repeat(64))).toThrow(RealFeaturesError);
    expect(() => decodeRealFeatures(readFileSync(EVALUATOR), sha)).toThrow(/not a real-features file/);
  });
});
