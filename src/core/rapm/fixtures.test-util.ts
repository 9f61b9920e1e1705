/** Small deterministic fixtures for RAPM tests: a tiny random teacher and random trajectories. */
import * as tf from '@tensorflow/tfjs';
import { rapmGrids } from '../diffusion/timesteps';
import { readShard, writeShard, type Shard, type TeacherIdentity } from '../io/shards';
import type { ModelConfig } from '../model-config';
import { initUnetParams, type Params } from '../nn/unet';
import { gaussian } from '../random';
import { tinyModelConfig } from '../tiny-model-config';
import type { CheckpointExpectation } from './checkpoint';
import type { TrajectoryBatch, TrajectoryGeometry } from './trainer';

export const TINY_MODEL: ModelConfig = tinyModelConfig('tiny-test-teacher', 3);

export const TINY_GEOMETRY: TrajectoryGeometry = {
  coarseTimesteps: [999, 499],
  deltaTimesteps: [874, 374],
  guidance: 2,
};

/** The identity a tiny teacher's checkpoints and exports name (its hash is not computed in these tests). */
export const TINY_IDENTITY: TeacherIdentity = { name: TINY_MODEL.name, sha256: 'ab'.repeat(32) };

/** What a tiny run's checkpoint is loaded against to resume. */
export const TINY_EXPECT: CheckpointExpectation = { teacher: TINY_IDENTITY, geometry: TINY_GEOMETRY };

/** A teacher whose zero-initialised branches carry signal (as after training). */
export function tinyTeacher(seed = 0): Params {
  const p = initUnetParams(TINY_MODEL.unet, seed);
  let k = 0;
  for (const n of Object.keys(p)) {
    const noisy = tf.add(p[n], tf.randomNormal(p[n].shape, 0, 0.05, 'float32', seed * 1000 + k++));
    p[n].dispose();
    p[n] = noisy;
  }
  return p;
}

export function tinyBatch(seed: number, b = 1, withDelta = true): TrajectoryBatch {
  const n = TINY_GEOMETRY.coarseTimesteps.length;
  const px = 8 * 8;
  return {
    positions: gaussian(seed, b * (n + 1) * px),
    deltaPositions: withDelta ? gaussian(seed + 1, b * n * px) : null,
    labels: Int32Array.from({ length: b }, (_, i) => (seed + i) % 3),
  };
}

/**
 * A shard of `count` random trajectories of the tiny teacher on an N-slot trailing grid (M = 2),
 * labels cycling through its classes.
 */
export function tinyShard(slots: number, count: number, seed = 0): Shard {
  const { coarse, fine, coarseIndex } = rapmGrids(1000, slots, 2);
  const px = 8 * 8;
  return readShard(
    writeShard(
      {
        teacher: TINY_IDENTITY,
        schedule: TINY_MODEL.schedule,
        coarseTimesteps: coarse,
        fineStepsPerSlot: 2,
        delta: fine[0] - fine[1],
        deltaTimesteps: coarseIndex.map((k) => fine[k + 1]),
        guidanceScale: 2,
        prediction: TINY_MODEL.prediction,
        data: TINY_MODEL.data,
        numClasses: TINY_MODEL.numClasses,
      },
      {
        positions: gaussian(seed, count * (slots + 1) * px),
        deltaPositions: gaussian(seed + 1, count * slots * px),
        labels: Int32Array.from({ length: count }, (_, i) => i % TINY_MODEL.numClasses),
      },
    ),
    { identity: TINY_IDENTITY, config: TINY_MODEL },
  );
}
