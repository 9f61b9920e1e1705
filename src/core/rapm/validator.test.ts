/**
 * The Validator on the tiny teacher: the held-out set, the teacher's lines measured once, the
 * EMA student's points and the best one, the split carried by checkpoints, and a resumed record.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { gaussian } from '../random';
import { checkpointValidationSplit, loadRapmCheckpoint, saveRapmCheckpoint } from './checkpoint';
import { DEFAULT_RAPM } from './config';
import { disposeSnapshot, snapshotStudent } from './student-snapshot';
import { TINY_GEOMETRY, TINY_IDENTITY, TINY_MODEL, tinyTeacher } from './fixtures.test-util';
import { RapmTrainer } from './trainer';
import { TrajectorySource } from './trajectory-source';
import { Validator, newValidationRecord, resumedValidationRecord, trainingSource } from './validator';

function tinySource(count: number): TrajectorySource {
  const slots = TINY_GEOMETRY.coarseTimesteps.length;
  return new TrajectorySource(
    {
      positions: gaussian(11, count * (slots + 1) * 64),
      deltaPositions: gaussian(12, count * slots * 64),
      labels: Int32Array.from({ length: count }, (_, i) => i % 3),
      count,
      slots,
      channels: 1,
      height: 8,
      width: 8,
      fineStepsPerSlot: 5,
    },
    TINY_GEOMETRY,
  );
}

describe('Validator', () => {
  it('holds out at most a quarter of the trajectories, none for count 0', () => {
    expect(newValidationRecord(1024, { count: 64, every: 100 }, 0)!.split.indices).toHaveLength(64);
    expect(newValidationRecord(32, { count: 64, every: 100 }, 0)!.split.indices).toHaveLength(8);
    expect(newValidationRecord(32, { count: 0, every: 100 }, 0)).toBeNull();
    expect(newValidationRecord(3, { count: 64, every: 100 }, 0)).toBeNull();
  });

  it('scores the EMA student, keeps the best point and leaks no tensors', async () => {
    const teacher = tinyTeacher();
    const stored = tinySource(40);
    const record = newValidationRecord(40, { count: 8, every: 2 }, 0)!;
    const validator = new Validator(TINY_MODEL, teacher, stored, record, null, 4);
    const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, { ...DEFAULT_RAPM, studentLr: 1e-3 });
    const source = trainingSource(stored, record);
    const validate = async () => {
      const snapshot = snapshotStudent(trainer);
      try {
        return await validator.validate(snapshot);
      } finally {
        disposeSnapshot(snapshot);
      }
    };

    const refs = await validator.references();
    expect(refs.map((r) => r.label)).toEqual(['teacher, 2 steps', 'teacher, 10 steps']);
    expect(refs[1].rmse).toBe(0);
    expect(await validator.references()).toBe(refs); // measured once

    const first = await validate();
    expect(first).toMatchObject({ improved: true, point: { iteration: 0, fid: null, accuracy: null } });
    expect(validator.has(0)).toBe(true);
    expect(validator.due(0)).toBe(false);
    trainer.step(source.batch(trainer.iteration, 1, 0)); // the first step allocates the Adam state
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      trainer.step(source.batch(trainer.iteration, 1, 0));
      if (validator.due(trainer.iteration)) await validate();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(record.points.map((p) => p.iteration)).toEqual([0, 2, 4]);
    const lowest = record.points.reduce((a, b) => (b.rmse < a.rmse ? b : a));
    expect(record.best).toEqual({ iteration: lowest.iteration, rmse: lowest.rmse });
    // the student moved: its samples differ from the untrained one's
    expect(new Set(record.points.map((p) => p.rmse)).size).toBe(3);

    // the split travels in the checkpoint; a resumed record forgets points after it
    const bytes = await saveRapmCheckpoint(trainer, TINY_IDENTITY, record.split);
    expect(checkpointValidationSplit(bytes)).toEqual(record.split);
    expect(checkpointValidationSplit(await saveRapmCheckpoint(trainer, TINY_IDENTITY))).toBeNull();
    loadRapmCheckpoint(bytes, TINY_MODEL, teacher, { teacher: TINY_IDENTITY, geometry: TINY_GEOMETRY }).dispose();
    expect(resumedValidationRecord(record, 2).points.map((p) => p.iteration)).toEqual([0, 2]);
    trainer.dispose();
    tf.dispose(Object.values(teacher));
  });
});
