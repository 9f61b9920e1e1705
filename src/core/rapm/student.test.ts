import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadModelBundle } from '../io/bundle';
import { seededNoise } from '../diffusion/sampler';
import { gaussian } from '../random';
import { DEFAULT_RAPM } from './config';
import { TINY_GEOMETRY, TINY_MODEL, tinyBatch, tinyTeacher } from './fixtures.test-util';
import { mergeStudent } from './lora';
import { exportLora, exportMerged, loadLora, sampleStudent } from './student';
import { asStudentModel } from './student-prediction';
import { disposeSnapshot, snapshotStudent } from './student-snapshot';
import { RapmTrainer } from './trainer';

describe('student export', () => {
  it('LoRA-only and merged exports load and sample the same images as the trainer', async () => {
    const teacher = tinyTeacher(7);
    const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, {
      ...DEFAULT_RAPM,
      studentLr: 1e-3,
      emaDecay: 0,
    });
    for (let i = 0; i < 2; i++) trainer.step(tinyBatch(i));
    const provenance = { teacher: { name: TINY_MODEL.name, sha256: 'ab'.repeat(32) }, iterations: 2 };
    const snapshot = snapshotStudent(trainer);
    const lora = await exportLora(TINY_MODEL, snapshot, provenance);
    const merged = await exportMerged(TINY_MODEL, teacher, snapshot, provenance);
    disposeSnapshot(snapshot);
    expect(lora.byteLength).toBeLessThan(merged.byteLength);

    const fromLora = loadLora(lora, TINY_MODEL, provenance.teacher.sha256, teacher);
    const fromMerged = loadModelBundle(merged);
    expect(fromMerged.config.name).toBe(`${TINY_MODEL.name}-rapm-student`);
    const noise = seededNoise([1, 2, 3], 8, 8, 1);
    const labels = tf.tensor1d([0, 1, 2], 'int32');
    const grid = TINY_GEOMETRY.coarseTimesteps;
    expect(fromLora.model.studentTimesteps).toEqual(grid);
    expect(fromMerged.config.studentTimesteps).toEqual(grid);
    const a = sampleStudent(fromLora.model, fromLora.params, noise, labels, grid);
    const b = sampleStudent(fromMerged.config, fromMerged.params, noise, labels, grid);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-4);
    // and the student is not just the teacher
    const t = sampleStudent(TINY_MODEL, teacher, noise, labels, grid);
    expect(tf.max(tf.abs(tf.sub(a, t))).dataSync()[0]).toBeGreaterThan(1e-4);
  });

  it('a 1-step student (grid [999]) trains, and both exports carry and sample its one step', async () => {
    const teacher = tinyTeacher(9);
    const geometry = { coarseTimesteps: [999], deltaTimesteps: [874], guidance: 2 };
    const trainer = new RapmTrainer(TINY_MODEL, teacher, geometry, { ...DEFAULT_RAPM, studentLr: 1e-3, emaDecay: 0 });
    // one slot: positions [z~_1, z~_0], one Delta point
    for (let i = 0; i < 2; i++) {
      trainer.step({
        positions: gaussian(i, 2 * 64),
        deltaPositions: gaussian(i + 1, 64),
        labels: Int32Array.of(i % 3),
      });
    }
    const provenance = { teacher: { name: TINY_MODEL.name, sha256: 'ab'.repeat(32) }, iterations: 2 };
    const snapshot = snapshotStudent(trainer);
    expect(snapshot.timesteps).toEqual([999]);
    const lora = await exportLora(TINY_MODEL, snapshot, provenance);
    const merged = await exportMerged(TINY_MODEL, teacher, snapshot, provenance);
    disposeSnapshot(snapshot);
    trainer.dispose();
    const fromLora = loadLora(lora, TINY_MODEL, provenance.teacher.sha256, teacher);
    const fromMerged = loadModelBundle(merged);
    expect(fromLora.model.studentTimesteps).toEqual([999]);
    expect(fromMerged.config.studentTimesteps).toEqual([999]);
    const noise = seededNoise([4, 5], 8, 8, 1);
    const labels = tf.tensor1d([0, 2], 'int32');
    const a = sampleStudent(fromLora.model, fromLora.params, noise, labels, [999]);
    const b = sampleStudent(fromMerged.config, fromMerged.params, noise, labels, [999]);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-4);
    const t = sampleStudent(TINY_MODEL, teacher, noise, labels, [999]);
    expect(tf.max(tf.abs(tf.sub(a, t))).dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([a, b, t, noise, labels, ...Object.values(fromMerged.params), ...Object.values(teacher)]);
  });

  it('a v-predicting student trains and samples as v, and both exports say so', async () => {
    const teacher = tinyTeacher(11);
    const geometry = { coarseTimesteps: [999], deltaTimesteps: [874], guidance: 2 };
    const batch = { positions: gaussian(3, 2 * 64), deltaPositions: gaussian(4, 64), labels: Int32Array.of(1) };
    const v = { ...DEFAULT_RAPM, student: { ...DEFAULT_RAPM.student, prediction: 'v_prediction' as const } };
    // the same weights read two ways: the regression term of the first step differs
    const asEps = new RapmTrainer(TINY_MODEL, teacher, geometry, { ...DEFAULT_RAPM, emaDecay: 0 });
    const asV = new RapmTrainer(TINY_MODEL, teacher, geometry, { ...v, emaDecay: 0 });
    const epsLoss = asEps.step(batch).perSlot.regAbs[0];
    const vLoss = asV.step(batch).perSlot.regAbs[0];
    expect(Math.abs(epsLoss - vLoss)).toBeGreaterThan(1e-3);
    asEps.dispose();

    const provenance = { teacher: { name: TINY_MODEL.name, sha256: 'ab'.repeat(32) }, iterations: 1 };
    const snapshot = snapshotStudent(asV);
    const lora = await exportLora(TINY_MODEL, snapshot, provenance);
    const merged = await exportMerged(TINY_MODEL, teacher, snapshot, provenance);
    const weights = snapshot.weights;
    const fromLora = loadLora(lora, TINY_MODEL, provenance.teacher.sha256, teacher);
    const fromMerged = loadModelBundle(merged);
    expect(TINY_MODEL.prediction).toBe('epsilon');
    expect(fromLora.model.prediction).toBe('v_prediction');
    expect(fromMerged.config.prediction).toBe('v_prediction');
    const noise = seededNoise([6, 7], 8, 8, 1);
    const labels = tf.tensor1d([0, 2], 'int32');
    const trained = mergeStudent(teacher, weights, snapshot.student);
    const direct = sampleStudent(asStudentModel(TINY_MODEL, snapshot.student), trained, noise, labels, [999]);
    const a = sampleStudent(fromLora.model, fromLora.params, noise, labels, [999]);
    const b = sampleStudent(fromMerged.config, fromMerged.params, noise, labels, [999]);
    expect(tf.max(tf.abs(tf.sub(a, direct))).dataSync()[0]).toBeLessThan(1e-4);
    expect(tf.max(tf.abs(tf.sub(b, direct))).dataSync()[0]).toBeLessThan(1e-4);
    // read as epsilon, the same weights sample something else
    const asEpsSamples = sampleStudent(TINY_MODEL, trained, noise, labels, [999]);
    expect(tf.max(tf.abs(tf.sub(asEpsSamples, direct))).dataSync()[0]).toBeGreaterThan(1e-3);
    disposeSnapshot(snapshot);
    asV.dispose();
    tf.dispose([direct, a, b, asEpsSamples, noise, labels, ...Object.values(trained)]);
    tf.dispose([...Object.values(fromMerged.params), ...Object.values(fromLora.params), ...Object.values(teacher)]);
  });

  it('refuses adapters of another teacher', async () => {
    const teacher = tinyTeacher(8);
    const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, DEFAULT_RAPM);
    const snapshot = snapshotStudent(trainer);
    const lora = await exportLora(TINY_MODEL, snapshot, {
      teacher: { name: 'x', sha256: '00'.repeat(32) },
      iterations: 0,
    });
    disposeSnapshot(snapshot);
    expect(() => loadLora(lora, TINY_MODEL, '11'.repeat(32), teacher)).toThrow(/belong to teacher 'x'/);
  });
});
