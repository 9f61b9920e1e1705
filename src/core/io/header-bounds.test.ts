/**
 * Headers from strangers: every number a header carries is bounded before anything is allocated
 * from it, and a violation is a typed error naming the field, the value as written and the limit.
 * The fuzz test sets every numeric header field of every format, one at a time, to huge,
 * negative, fractional, integral-float and beyond-2^53 values: each file must either load or be
 * refused with the format's typed error, quickly (memory bounded by the file, not the header).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierParamShapes, MNIST_CLASSIFIER } from '../eval/classifier';
import { decodeEvaluator } from '../eval/evaluator-bundle';
import type { ModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import { CheckpointError, loadRapmCheckpoint, saveRapmCheckpoint } from '../rapm/checkpoint';
import { DEFAULT_RAPM } from '../rapm/config';
import { TINY_EXPECT, TINY_GEOMETRY, TINY_IDENTITY, TINY_MODEL, tinyTeacher } from '../rapm/fixtures.test-util';
import { RapmTrainer } from '../rapm/trainer';
import { loadModelBundle, saveModelBundle } from './bundle';
import { BundleError, FormatError, SafetensorsError, ShardError } from './errors';
import { parseSafetensorsHeader, writeSafetensors } from './safetensors';
import { validateShard, writeShard, type ShardMeta } from './shards';

/** A safetensors file whose header JSON is exactly `header` (padded), followed by `data`. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(header);
  const padded = Math.ceil(text.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + data.byteLength).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(text, 8);
  out.set(data, 8 + padded);
  return out;
}

/** The same file with __metadata__[key] replaced by `text` (tensors and their bytes kept). */
function withMetadata(bytes: Uint8Array, key: string, text: string): Uint8Array {
  const h = parseSafetensorsHeader(bytes);
  const json: Record<string, unknown> = { __metadata__: { ...h.metadata, [key]: text } };
  for (const [name, t] of h.tensors) json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: t.dataOffsets };
  return rawFile(JSON.stringify(json), bytes.subarray(h.dataStart));
}

/** Paths of every number in a JSON value, e.g. ['unet', 'channelMults', 0]. */
function numericPaths(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof v === 'number') return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => numericPaths(x, [...path, i]));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => numericPaths(x, [...path, k]));
  return [];
}

const MARK = '"__value__"';
/** JSON text of `v` with the number at `path` written as the literal `literal` (e.g. 2.0, 9007199254740993). */
function mutate(v: unknown, path: (string | number)[], literal: string): string {
  const copy = JSON.parse(JSON.stringify(v)) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path[path.length - 1]] = '__value__';
  return JSON.stringify(copy).replace(MARK, literal);
}

/** Huge, negative, fractional, integral-float, 2^32 and beyond-2^53 literals. */
const LITERALS = ['1e15', '-1', '0.5', '2.0', '4294967296', '9007199254740993', '1e400'];

/** Runs `load` on every mutation of every numeric field; each must succeed or throw `type`. */
function fuzz(
  value: unknown,
  file: (text: string) => Uint8Array,
  load: (bytes: Uint8Array) => void,
  type: new (...args: never[]) => FormatError,
): { refused: number; fields: number } {
  const paths = numericPaths(value);
  let refused = 0;
  for (const path of paths) {
    for (const literal of LITERALS) {
      const bytes = file(mutate(value, path, literal));
      try {
        load(bytes);
      } catch (e) {
        if (!(e instanceof type)) throw new Error(`${path.join('.')} = ${literal}: ${String(e)}`, { cause: e });
        refused++;
      }
    }
  }
  return { refused, fields: paths.length };
}

const UNET_CONFIG: ModelConfig = {
  ...TINY_MODEL,
  name: 'bounds-teacher',
  clipSample: true,
};

const META: Omit<ShardMeta, 'count'> = {
  teacher: { name: 'bounds-teacher', sha256: 'ab'.repeat(32) },
  schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  coarseTimesteps: [999, 499],
  fineStepsPerSlot: 4,
  delta: 125,
  deltaTimesteps: [874, 374],
  guidanceScale: 2,
  prediction: 'epsilon',
  data: { channels: 1, height: 2, width: 2, range: [-1, 1] },
  numClasses: 10,
};

function tinyShard(): Uint8Array {
  return writeShard(META, { positions: new Float32Array(2 * 3 * 4), labels: new Int32Array([0, 9]) });
}

describe('header bounds', () => {
  let teacher: Params;
  let bundle: Uint8Array;
  beforeAll(async () => {
    teacher = tinyTeacher(0);
    bundle = await saveModelBundle(UNET_CONFIG, teacher);
  });
  afterAll(() => tf.dispose(Object.values(teacher)));

  it('refuses a shard claiming 100,000,000 or 2^32 classes before counting labels per class', () => {
    const shard = JSON.parse(parseSafetensorsHeader(tinyShard()).metadata.shard) as Record<string, unknown>;
    for (const [literal, value] of [
      ['100000000', '100000000'],
      ['4294967296', '4294967296'],
      ['18446744073709551616', '18446744073709551616'],
    ]) {
      const bytes = withMetadata(tinyShard(), 'shard', mutate(shard, ['numClasses'], literal));
      let error: unknown;
      try {
        validateShard(bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ShardError);
      expect(error).toMatchObject({
        code: 'bad-metadata',
        violation: { field: 'shard.numClasses', value, limit: 'in 0..1000' },
      });
      expect((error as Error).message).toContain(`got ${value}`);
    }
  });

  it('refuses a bundle claiming 3,000,000 res blocks per level before building the UNet', () => {
    const config = JSON.parse(parseSafetensorsHeader(bundle).metadata.config) as Record<string, unknown>;
    const bytes = withMetadata(bundle, 'config', mutate(config, ['unet', 'resBlocksPerLevel'], '3000000'));
    let error: unknown;
    try {
      loadModelBundle(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BundleError);
    expect(error).toMatchObject({
      code: 'bad-config',
      violation: { field: 'config.unet.resBlocksPerLevel', value: '3000000', limit: 'in 1..8' },
    });
  });

  it('quotes a huge header length exactly', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 8367736964726415744n, true);
    expect(() => parseSafetensorsHeader(bytes)).toThrow(/says 8367736964726415744 bytes/);
  });

  it('fuzz: every numeric field of a shard header', () => {
    const shard = JSON.parse(parseSafetensorsHeader(tinyShard()).metadata.shard) as Record<string, unknown>;
    const r = fuzz(
      shard,
      (text) => withMetadata(tinyShard(), 'shard', text),
      (b) => validateShard(b),
      ShardError,
    );
    expect(r.fields).toBeGreaterThanOrEqual(15);
    expect(r.refused).toBeGreaterThan(r.fields * 4);
  });

  it('fuzz: every numeric field of a model bundle config', () => {
    const config = JSON.parse(parseSafetensorsHeader(bundle).metadata.config) as Record<string, unknown>;
    const r = fuzz(
      config,
      (text) => withMetadata(bundle, 'config', text),
      (b) => tf.dispose(Object.values(loadModelBundle(b).params)),
      BundleError,
    );
    expect(r.fields).toBeGreaterThanOrEqual(14);
    expect(r.refused).toBeGreaterThan(r.fields * 4);
  });

  it('fuzz: every numeric field of an evaluator config', () => {
    const cfg = { ...MNIST_CLASSIFIER, channels: [2], featureDim: 4 };
    const shapes = classifierParamShapes(cfg);
    const tensors = Object.fromEntries(
      Object.entries(shapes).map(([n, s]) => [
        n,
        { dtype: 'F32' as const, shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) },
      ]),
    );
    const good = writeSafetensors(tensors, { format: 'rapm-evaluator', version: '1', config: JSON.stringify(cfg) });
    expect(() => tf.dispose(Object.values(decodeEvaluator(good).params))).not.toThrow();
    const r = fuzz(
      cfg,
      (text) => withMetadata(good, 'config', text),
      (b) => tf.dispose(Object.values(decodeEvaluator(b).params)),
      BundleError,
    );
    expect(r.refused).toBeGreaterThan(r.fields * 4);
  });

  it('fuzz: every numeric field of a checkpoint config and geometry, no tensor left behind', async () => {
    const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, DEFAULT_RAPM);
    const good = await saveRapmCheckpoint(trainer, TINY_IDENTITY);
    trainer.dispose();
    const before = tf.memory().numTensors;
    const load = (b: Uint8Array) => loadRapmCheckpoint(b, TINY_MODEL, teacher, TINY_EXPECT).dispose();
    const meta = parseSafetensorsHeader(good).metadata;
    for (const key of ['config', 'geometry', 'adamSteps']) {
      const value = JSON.parse(meta[key]) as unknown;
      const r = fuzz(value, (text) => withMetadata(good, key, text), load, CheckpointError);
      expect(r.refused, key).toBeGreaterThan(r.fields * 3);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fuzz: every shape and offset of a safetensors header', () => {
    const file = writeSafetensors({
      a: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
      b: { dtype: 'I32', shape: [4], data: new Int32Array(4) },
    });
    const h = parseSafetensorsHeader(file);
    const json: Record<string, unknown> = {};
    for (const [name, t] of h.tensors) json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: t.dataOffsets };
    const data = file.subarray(h.dataStart);
    const r = fuzz(
      json,
      (text) => rawFile(text, data),
      (b) => parseSafetensorsHeader(b),
      SafetensorsError,
    );
    // Every mutation breaks the byte accounting or the integer rules.
    expect(r.refused).toBe(r.fields * LITERALS.length);
  });
});

describe('strict header JSON', () => {
  const data = new Uint8Array(4);
  const entry = '"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  const refused = (header: string, text: string) => {
    expect(() => parseSafetensorsHeader(rawFile(header, data))).toThrow(SafetensorsError);
    expect(() => parseSafetensorsHeader(rawFile(header, data))).toThrow(text);
  };

  it('accepts the plain form', () => {
    expect(parseSafetensorsHeader(rawFile(`{${entry}}`, data)).tensors.get('x')?.shape).toEqual([1]);
  });

  it('refuses duplicate keys, __metadata__ included, at any depth', () => {
    refused(`{${entry},${entry}}`, 'duplicate key "x"');
    refused(`{"__metadata__":{"a":"1"},${entry},"__metadata__":{"a":"2"}}`, 'duplicate key "__metadata__"');
    refused(`{"__metadata__":{"a":"1","a":"2"},${entry}}`, 'duplicate key "a"');
    refused(`{"x":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 'duplicate key "dtype"');
  });

  it('refuses a byte order mark', () => {
    refused(`\uFEFF{${entry}}`, 'byte order mark');
  });

  it('refuses integers written as floats or beyond 2^53 in shapes and offsets, quoting them', () => {
    refused('{"x":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', 'shape [1.0]');
    refused('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}', 'data_offsets [0,4e0]');
    refused('{"x":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}}', '9007199254740993');
  });

  it('refuses a shard count written as a float, and says what a missing format is', () => {
    const shard = JSON.parse(parseSafetensorsHeader(tinyShard()).metadata.shard) as Record<string, unknown>;
    expect(() => validateShard(withMetadata(tinyShard(), 'shard', mutate(shard, ['count'], '2.0')))).toThrow(
      /shard\.count must be an integer .* got 2\.0/,
    );
    const h = parseSafetensorsHeader(tinyShard());
    const json: Record<string, unknown> = {};
    for (const [name, t] of h.tensors) json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: t.dataOffsets };
    const noFormat = rawFile(JSON.stringify(json), tinyShard().subarray(h.dataStart));
    expect(() => validateShard(noFormat)).toThrow('__metadata__ has no format and no version');
    expect(() => validateShard(noFormat)).not.toThrow(/undefined/);
  });
});
