import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError } from '../io/errors';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensors';
import type { Params } from '../nn/unet';
import { DEFAULT_RAPM } from './config';
import { TINY_GEOMETRY, TINY_MODEL, tinyTeacher } from './fixtures.test-util';
import { exportLora, loadLora } from './student';
import { disposeSnapshot, snapshotStudent } from './student-snapshot';
import { RapmTrainer } from './trainer';

const SHA = 'ab'.repeat(32);

/** Re-writes a LoRA export's tensors and metadata through `edit`. */
function rewrite(
  bytes: Uint8Array,
  edit: (tensors: Map<string, TensorToWrite>, metadata: Record<string, string>) => void,
): Uint8Array {
  const file = parseSafetensors(bytes);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of file.tensors)
    tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data as Float32Array });
  const metadata = { ...file.metadata };
  edit(tensors, metadata);
  return writeSafetensors(tensors, metadata);
}

describe('LoRA export loader', () => {
  let teacher: Params;
  let good: Uint8Array;
  beforeAll(async () => {
    teacher = tinyTeacher(3);
    const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, DEFAULT_RAPM);
    const snapshot = snapshotStudent(trainer);
    good = await exportLora(TINY_MODEL, snapshot, { teacher: { name: TINY_MODEL.name, sha256: SHA }, iterations: 0 });
    disposeSnapshot(snapshot);
    trainer.dispose();
  });
  afterAll(() => tf.dispose(Object.values(teacher)));

  it('refuses damaged exports with typed errors before decoding, and leaves no tensor behind', () => {
    const a = [...parseSafetensors(good).tensors.keys()].find((n) => n.endsWith('.A'))!;
    const student = (change: Record<string, unknown>) =>
      rewrite(good, (_, m) => (m.student = JSON.stringify({ ...JSON.parse(m.student), ...change })));
    const cases: [string, Uint8Array, string, string][] = [
      ['truncated', good.subarray(0, 20), 'not-safetensors', 'LoRA export'],
      ['no format', rewrite(good, (_, m) => delete m.format), 'wrong-format', 'no format'],
      ['teacher not JSON', rewrite(good, (_, m) => (m.teacher = '{')), 'bad-config', 'teacher is not strict JSON'],
      ['huge rank', student({ rank: 1e9 }), 'bad-config', 'student.rank must be an integer in 1..1024'],
      ['full mode', student({ mode: 'full' }), 'bad-config', 'adapters only'],
      ['other rank', student({ rank: 2 }), 'wrong-shape', 'rank 2'],
      ['grid', rewrite(good, (_, m) => (m.timesteps = '[1.0]')), 'bad-config', 'timesteps[0]'],
      ['missing', rewrite(good, (t) => t.delete(a)), 'missing-tensor', a],
      [
        'extra',
        rewrite(good, (t) => t.set('lora.x.A', { dtype: 'F32', shape: [1], data: new Float32Array(1) })),
        'extra-tensor',
        'lora.x.A',
      ],
    ];
    const before = tf.memory().numTensors;
    for (const [label, bytes, code, text] of cases) {
      let error: unknown;
      try {
        tf.dispose(Object.values(loadLora(bytes, TINY_MODEL, SHA, teacher).params));
      } catch (e) {
        error = e;
      }
      expect(error, label).toBeInstanceOf(BundleError);
      expect((error as BundleError).code, label).toBe(code);
      expect((error as Error).message, label).toContain(text);
    }
    expect(tf.memory().numTensors).toBe(before);
    const loaded = loadLora(good, TINY_MODEL, SHA, teacher);
    expect(loaded.model.studentTimesteps).toEqual(TINY_GEOMETRY.coarseTimesteps);
    tf.dispose(Object.values(loaded.params));
    expect(tf.memory().numTensors).toBe(before);
  });
});
