import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../io/errors';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensors';
import type { Params } from '../nn/unet';
import { CheckpointError, loadRapmCheckpoint, saveRapmCheckpoint } from './checkpoint';
import { DEFAULT_RAPM } from './config';
import { checkRapmConfig } from './config-check';
import { TINY_EXPECT, TINY_GEOMETRY, TINY_IDENTITY, TINY_MODEL, tinyTeacher } from './fixtures.test-util';
import { RapmTrainer } from './trainer';

/** Re-writes a checkpoint's tensors and metadata through `edit`, as a damaged or foreign file would be. */
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

const withConfig = (bytes: Uint8Array, change: Record<string, unknown>) =>
  rewrite(bytes, (_, m) => (m.config = JSON.stringify({ ...JSON.parse(m.config), ...change })));

describe('RAPM checkpoint loader', () => {
  let teacher: Params;
  let good: Uint8Array;
  beforeAll(async () => {
    teacher = tinyTeacher(0);
    const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, { ...DEFAULT_RAPM, emaDecay: 0.9 });
    good = await saveRapmCheckpoint(trainer, TINY_IDENTITY);
    trainer.dispose();
  });
  afterAll(() => tf.dispose(Object.values(teacher)));

  it('refuses every damaged file with a typed error and leaves no tensor behind', () => {
    const name = [...parseSafetensors(good).tensors.keys()].find((n) => n.startsWith('trainable.'))!;
    const cases: [string, Uint8Array, string, string][] = [
      ['truncated', good.subarray(0, good.byteLength - 4), 'not-safetensors', 'truncated'],
      ['no format', rewrite(good, (_, m) => delete m.format), 'wrong-format', 'no format'],
      ['config not JSON', rewrite(good, (_, m) => (m.config = '{')), 'bad-metadata', 'config is not strict JSON'],
      ['emaDecay 1', withConfig(good, { emaDecay: 1 }), 'bad-metadata', '0 <= config.emaDecay < 1'],
      ['huge rank', withConfig(good, { student: { ...DEFAULT_RAPM.student, rank: 1e9 } }), 'bad-metadata', 'rank'],
      [
        'descending',
        rewrite(good, (_, m) => (m.geometry = '{"coarseTimesteps":[499,999],"deltaTimesteps":[1,2],"guidance":2}')),
        'bad-metadata',
        'descending',
      ],
      ['iteration', rewrite(good, (_, m) => (m.iteration = '1.0')), 'bad-metadata', 'iteration'],
      [
        'version 1',
        rewrite(good, (_, m) => Object.assign(m, { version: '1', teacher: TINY_MODEL.name })),
        'wrong-version',
        "version '1'",
      ],
      [
        'same name, other teacher',
        rewrite(good, (_, m) => (m.teacher = JSON.stringify({ ...TINY_IDENTITY, sha256: 'cd'.repeat(32) }))),
        'wrong-teacher',
        'sha256 cdcdcdcdcdcd',
      ],
      [
        'other grid than the shards',
        rewrite(
          good,
          (_, m) =>
            (m.geometry = '{"coarseTimesteps":[999,749,499,249],"deltaTimesteps":[874,624,374,124],"guidance":2}'),
        ),
        'wrong-geometry',
        'the shards have',
      ],
      ['missing', rewrite(good, (t) => t.delete(name)), 'missing-tensor', name],
      [
        'extra',
        rewrite(good, (t) => t.set('trainable.nope', { dtype: 'F32', shape: [1], data: new Float32Array(1) })),
        'extra-tensor',
        'trainable.nope',
      ],
      [
        'shape',
        rewrite(good, (t) => t.set(name, { dtype: 'F32', shape: [1], data: new Float32Array(1) })),
        'wrong-shape',
        name,
      ],
    ];
    const before = tf.memory().numTensors;
    for (const [label, bytes, code, text] of cases) {
      let error: unknown;
      try {
        loadRapmCheckpoint(bytes, TINY_MODEL, teacher, TINY_EXPECT).dispose();
      } catch (e) {
        error = e;
      }
      expect(error, label).toBeInstanceOf(CheckpointError);
      expect((error as FormatError).code, label).toBe(code);
      expect((error as Error).message, label).toContain(text);
      expect(tf.memory().numTensors, label).toBe(before);
    }
    const resumed = loadRapmCheckpoint(good, TINY_MODEL, teacher, TINY_EXPECT);
    expect(resumed.cfg.emaDecay).toBe(0.9);
    resumed.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bounds emaDecay to [0, 1) wherever a config is checked', () => {
    const fail = (m: string) => new Error(m);
    expect(checkRapmConfig({ ...DEFAULT_RAPM, emaDecay: 0 }, fail).emaDecay).toBe(0);
    expect(checkRapmConfig({ ...DEFAULT_RAPM, emaDecay: 0.999 }, fail).emaDecay).toBe(0.999);
    for (const emaDecay of [1, 1.5, -0.1, NaN])
      expect(() => checkRapmConfig({ ...DEFAULT_RAPM, emaDecay }, fail)).toThrow(/emaDecay/);
  });
});
