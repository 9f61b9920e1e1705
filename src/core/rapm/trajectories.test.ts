import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { guided } from '../diffusion/guidance';
import { modelDdim, modelDenoiser } from '../diffusion/model-sampling';
import { sampleDdim, seededNoise } from '../diffusion/sampler';
import { TimestepGridError } from '../diffusion/timesteps';
import { readShard, writeShard } from '../io/shards';
import type { ModelConfig } from '../model-config';
import { initUnetParams, type Params } from '../nn/unet';
import { tinyModelConfig } from '../tiny-model-config';
import { generateTrajectories, TrajectoryRequestError } from './trajectories';

// Two channels, so a wrong NHWC -> NCHW transposition cannot pass unnoticed.
const config: ModelConfig = tinyModelConfig('tiny-teacher', 10, { inChannels: 2 });
let params: Params;
beforeAll(() => {
  params = initUnetParams(config.unet, 3);
});
const [C, H, W] = [2, 8, 8];

/** Point p of trajectory k from an NCHW [K, P, C, H, W] array, as an NHWC [1, H, W, C] tensor. */
function point(flat: Float32Array, points: number, k: number, p: number): tf.Tensor4D {
  const size = C * H * W;
  const offset = (k * points + p) * size;
  return tf.tidy(() => tf.transpose(tf.tensor4d(flat.slice(offset, offset + size), [1, C, H, W]), [0, 2, 3, 1]));
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('generateTrajectories', () => {
  it('keeps z~_N = the noise, z~_0 = the teacher N*M-step sample, and Delta points = one teacher step', async () => {
    const seeds = [101, 202, 303];
    const labels = [4, 0, 9];
    const w = 2;
    const traj = await generateTrajectories(config, params, {
      seeds,
      labels,
      slots: 4,
      stepsPerSlot: 8,
      guidanceScale: w,
      batchSize: 2,
    });
    expect(traj.meta.coarseTimesteps).toEqual([999, 749, 499, 249]);
    expect(traj.meta.deltaTimesteps).toEqual([968, 718, 468, 218]);
    expect(traj.meta.delta).toBe(31);
    expect(traj.positions.length).toBe(3 * 5 * C * H * W);
    expect(traj.deltaPositions.length).toBe(3 * 4 * C * H * W);

    const ddim = modelDdim(config);
    const teacher = guided(modelDenoiser(config, params), config.numClasses, w);
    for (let k = 0; k < seeds.length; k++) {
      const noise = seededNoise([seeds[k]], H, W, C);
      const label = tf.tensor1d([labels[k]], 'int32');
      expect(maxDiff(point(traj.positions, 5, k, 0), noise)).toBe(0);
      const reference = sampleDdim(ddim, modelDenoiser(config, params), noise, label, {
        steps: 32,
        spacing: 'trailing',
        guidanceScale: w,
        numClasses: config.numClasses,
      });
      expect(maxDiff(point(traj.positions, 5, k, 4), reference.samples)).toBeLessThan(1e-4);
      for (let n = 0; n < 4; n++) {
        const t = traj.meta.coarseTimesteps[n];
        const start = point(traj.positions, 5, k, n);
        const manual = tf.tidy(() => ddim.step(teacher(start, t, label), start, t, traj.meta.deltaTimesteps[n]));
        expect(maxDiff(point(traj.deltaPositions, 4, k, n), manual)).toBeLessThan(1e-4);
      }
    }
  });

  it('is a function of each seed alone: batching, order and repetition change nothing', async () => {
    const req = { slots: 2, stepsPerSlot: 2, guidanceScale: 1.5 };
    const all = await generateTrajectories(config, params, {
      ...req,
      seeds: [7, 8, 9, 10, 11],
      labels: [1, 2, 3, 4, 5],
      batchSize: 2,
    });
    const again = await generateTrajectories(config, params, {
      ...req,
      seeds: [7, 8, 9, 10, 11],
      labels: [1, 2, 3, 4, 5],
      batchSize: 2,
    });
    expect(again.positions).toEqual(all.positions);
    expect(again.deltaPositions).toEqual(all.deltaPositions);
    const alone = await generateTrajectories(config, params, { ...req, seeds: [10], labels: [4], batchSize: 1 });
    const size = 3 * C * H * W;
    const row = all.positions.slice(3 * size, 4 * size);
    expect(Math.max(...alone.positions.map((v, i) => Math.abs(v - row[i])))).toBeLessThan(1e-5);
  });

  it('reports progress per batch, leaks no tensors, and its output makes a valid shard', async () => {
    const progress: number[] = [];
    const before = tf.memory().numTensors;
    const traj = await generateTrajectories(config, params, {
      seeds: [1, 2, 3, 4, 5],
      labels: [0, 1, 2, 3, 4],
      slots: 2,
      stepsPerSlot: 3,
      guidanceScale: 2,
      batchSize: 2,
      onProgress: (done, total) => progress.push(done / total),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([0.4, 0.8, 1]);
    const teacher = { name: config.name, sha256: 'ab'.repeat(32) };
    const bytes = writeShard({ ...traj.meta, teacher }, traj, { dtype: 'F16' });
    const shard = readShard(bytes, { identity: teacher, config });
    expect(shard.summary).toMatchObject({ count: 5, slots: 2, hasDelta: true, hasSeeds: true });
    expect(Array.from(shard.seeds!)).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects requests it cannot run with typed errors', async () => {
    const ok = { seeds: [1], labels: [0], slots: 4, stepsPerSlot: 8, guidanceScale: 2, batchSize: 1 };
    await expect(generateTrajectories(config, params, { ...ok, stepsPerSlot: 1 })).rejects.toThrow(
      TrajectoryRequestError,
    );
    await expect(generateTrajectories(config, params, { ...ok, labels: [10] })).rejects.toThrow(TrajectoryRequestError);
    await expect(generateTrajectories(config, params, { ...ok, seeds: [2 ** 31] })).rejects.toThrow(
      TrajectoryRequestError,
    );
    await expect(generateTrajectories(config, params, { ...ok, labels: [0, 1] })).rejects.toThrow(
      TrajectoryRequestError,
    );
    await expect(generateTrajectories(config, params, { ...ok, slots: 0 })).rejects.toThrow(TimestepGridError);
  });
});
