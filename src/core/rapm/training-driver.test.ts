import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { seededNoise } from '../diffusion/sampler';
import { rapmGrids } from '../diffusion/timesteps';
import { loadModelBundle } from '../io/bundle';
import { decodeTensorMap, encodeTensorMap } from '../io/tensor-map';
import { CheckpointError } from './checkpoint';
import { DEFAULT_RAPM } from './config';
import { TINY_IDENTITY, TINY_MODEL, tinyShard, tinyTeacher } from './fixtures.test-util';
import { exportStudent, loadLora, sampleStudent, studentSamples } from './student';
import { disposeSnapshot } from './student-snapshot';
import type { TeacherModel } from './teacher-model';
import { TrainingDriver } from './training-driver';

const CONFIG = { ...DEFAULT_RAPM, studentLr: 1e-3, emaDecay: 0.5 };
const OPTIONS = { checkpoints: { everyIterations: 0, everySeconds: 60 } };
const shards = (slots: number) => [{ name: `n${slots}.safetensors`, shard: tinyShard(slots, 6, slots) }];

function teacher(seed = 3): TeacherModel {
  return { config: TINY_MODEL, params: tinyTeacher(seed), identity: TINY_IDENTITY };
}

async function codeOf(f: () => unknown): Promise<string> {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as CheckpointError).code;
  }
  throw new Error('expected a CheckpointError');
}

describe('TrainingDriver resume', () => {
  it('continues from a checkpoint of the same teacher and grid, and refuses another teacher or grid', async () => {
    const t = teacher();
    const first = TrainingDriver.start(t, shards(2), CONFIG, OPTIONS);
    await first.step();
    await first.step();
    const bytes = await first.checkpoint();
    first.dispose();

    const resumed = TrainingDriver.resume(t, shards(2), bytes, CONFIG, OPTIONS);
    expect(resumed.iteration).toBe(2);
    expect(resumed.source.geometry.coarseTimesteps).toEqual([999, 499]);
    resumed.dispose();

    const before = tf.memory().numTensors;
    expect(await codeOf(() => TrainingDriver.resume(t, shards(4), bytes, CONFIG, OPTIONS))).toBe('wrong-geometry');
    const renamed = { ...t, identity: { ...TINY_IDENTITY, sha256: 'cd'.repeat(32) } };
    expect(await codeOf(() => TrainingDriver.resume(renamed, shards(2), bytes, CONFIG, OPTIONS))).toBe('wrong-teacher');
    const { tensors, metadata } = decodeTensorMap(bytes);
    const v1 = await encodeTensorMap(tensors, { ...metadata, version: '1', teacher: TINY_MODEL.name });
    tf.dispose(Object.values(tensors));
    expect(await codeOf(() => TrainingDriver.resume(t, shards(2), v1, CONFIG, OPTIONS))).toBe('wrong-version');
    // the refusals leave nothing behind on the device
    expect(tf.memory().numTensors).toBe(before);
  });

  it('checkpoints by count and by time on an injected clock', async () => {
    let now = 0;
    const driver = TrainingDriver.start(teacher(), shards(2), CONFIG, {
      checkpoints: { everyIterations: 3, everySeconds: 60 },
      clock: () => now,
    });
    const due: number[] = [];
    for (const seconds of [10, 10, 10, 70, 10, 10]) {
      await driver.step();
      now += seconds * 1000;
      if (driver.checkpointDue()) {
        due.push(driver.iteration);
        await driver.checkpoint();
      }
    }
    expect(due).toEqual([3, 4, 6]);
    driver.dispose();
  });
});

describe('the student travels with its grid', () => {
  for (const slots of [2, 8]) {
    it(`a student trained on N = ${slots} shards samples, exports and reloads on those ${slots} timesteps`, async () => {
      const t = teacher(slots);
      const driver = TrainingDriver.start(t, shards(slots), CONFIG, OPTIONS);
      await driver.step();
      const grid = rapmGrids(1000, slots, 2).coarse;
      const snapshot = driver.snapshot();
      expect(snapshot.timesteps).toEqual(grid);

      const merged = loadModelBundle(await exportStudent(t, snapshot, 'merged', {}));
      expect(merged.config.studentTimesteps).toEqual(grid);
      const lora = loadLora(await exportStudent(t, snapshot, 'lora', {}), TINY_MODEL, TINY_IDENTITY.sha256, t.params);
      expect(lora.model.studentTimesteps).toEqual(grid);

      // the driver's own samples are the merged file's on its recorded grid, and not those of a 4-step grid
      const noise = seededNoise([5, 6, 7], 8, 8, 1);
      const labels = Int32Array.from([0, 1, 2]);
      const ours = await studentSamples(t, snapshot, (await noise.data()) as Float32Array, labels);
      const fromFile = sampleStudent(merged.config, merged.params, noise, tf.tensor1d(labels, 'int32'), grid);
      const fourSteps = sampleStudent(
        merged.config,
        merged.params,
        noise,
        tf.tensor1d(labels, 'int32'),
        [999, 749, 499, 249],
      );
      const diff = (a: tf.Tensor, b: Float32Array) => tf.max(tf.abs(tf.sub(a, tf.tensor(b, a.shape)))).dataSync()[0];
      expect(diff(fromFile, ours)).toBeLessThan(1e-4);
      expect(diff(fourSteps, ours)).toBeGreaterThan(1e-3);

      disposeSnapshot(snapshot);
      tf.dispose([noise, fromFile, fourSteps, ...Object.values(merged.params), ...Object.values(lora.params)]);
      driver.dispose();
    });
  }

  it("a snapshot keeps the student of its iteration while the loop replaces and disposes the trainer's weights", async () => {
    const driver = TrainingDriver.start(teacher(), shards(2), CONFIG, OPTIONS);
    await driver.step();
    const snapshot = driver.snapshot();
    const name = Object.keys(snapshot.weights)[0];
    const held = await snapshot.weights[name].data();
    const live = driver.trainer.samplingWeights()[name];
    await driver.step();
    await driver.step();
    expect(live.isDisposed).toBe(true); // the EMA the snapshot was taken from is gone
    expect(Array.from(await snapshot.weights[name].data())).toEqual(Array.from(held));
    expect(snapshot.iteration).toBe(1);
    disposeSnapshot(snapshot);
    driver.dispose();
  });
});
