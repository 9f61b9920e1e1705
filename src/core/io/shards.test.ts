import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model-config';
import { tinyModelConfig } from '../tiny-model-config';
import { ShardError, ShardTeacherContradictionError, ShardTeacherMismatchError } from './errors';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from './safetensors';
import { readShard, validateShard, writeShard, type ShardArrays, type ShardMeta } from './shards';

const TEACHER = { name: 'tiny-teacher', sha256: 'ab'.repeat(32) };
const META: Omit<ShardMeta, 'count'> = {
  teacher: TEACHER,
  schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  coarseTimesteps: [999, 749, 499, 249],
  fineStepsPerSlot: 8,
  delta: 31,
  deltaTimesteps: [968, 718, 468, 218],
  guidanceScale: 2,
  prediction: 'epsilon',
  data: { channels: 1, height: 4, width: 4, range: [-1, 1] },
  numClasses: 10,
  provenance: { command: 'test' },
};
/** The teacher META's shards agree with. */
const LOADED: { identity: typeof TEACHER; config: ModelConfig } = {
  identity: TEACHER,
  // META's 4x4 one-channel data and linear schedule
  config: tinyModelConfig(TEACHER.name, 10, { imageSize: 4, baseChannels: 4, channelMults: [1], groups: 2 }),
};
const K = 3;
const PER = 16; // C*H*W

function arrays(): Required<ShardArrays> {
  return {
    positions: new Float32Array(K * 5 * PER).map((_, i) => Math.sin(i) * 2),
    labels: new Int32Array([0, 9, 4]),
    seeds: new Int32Array([11, 12, 13]),
    deltaPositions: new Float32Array(K * 4 * PER).map((_, i) => Math.cos(i)),
  };
}

function expectShardError(f: () => unknown, code: string, ...texts: string[]): ShardError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ShardError);
    expect((e as ShardError).code).toBe(code);
    for (const t of texts) expect((e as Error).message).toContain(t);
    return e as ShardError;
  }
  throw new Error(`expected a ShardError with code ${code}`);
}

/** Re-write a shard's tensors and metadata through `edit`, as a foreign writer might have. */
function rewrite(
  bytes: Uint8Array,
  edit: (tensors: Map<string, TensorToWrite>, shard: Record<string, unknown>, metadata: Record<string, string>) => void,
): Uint8Array {
  const file = parseSafetensors(bytes);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of file.tensors) {
    if (t.dtype === 'I32' || t.dtype === 'I64') tensors.set(name, { dtype: t.dtype, shape: t.shape, data: t.data });
    else tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data as Float32Array });
  }
  const metadata = { ...file.metadata };
  const shard = JSON.parse(metadata.shard) as Record<string, unknown>;
  const before = metadata.shard;
  edit(tensors, shard, metadata);
  if (metadata.shard === before) metadata.shard = JSON.stringify(shard);
  return writeSafetensors(tensors, metadata);
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('trajectory shards', () => {
  it('round-trips in F32 and summarises', () => {
    const a = arrays();
    const bytes = writeShard(META, a);
    const shard = readShard(bytes, LOADED);
    expect(shard.positions).toEqual(a.positions);
    expect(shard.deltaPositions).toEqual(a.deltaPositions);
    expect(shard.labels).toEqual(a.labels);
    expect(shard.seeds).toEqual(a.seeds);
    expect(shard.meta).toEqual({ ...META, count: K });
    const s = validateShard(bytes);
    expect(s).toMatchObject({
      count: 3,
      slots: 4,
      positionsDtype: 'F32',
      hasDelta: true,
      hasSeeds: true,
      byteLength: bytes.byteLength,
    });
    expect(s.labelCounts).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('stores F16 within half precision, and optional tensors may be left out', () => {
    const a = arrays();
    const bytes = writeShard(META, { positions: a.positions, labels: a.labels }, { dtype: 'F16' });
    const shard = readShard(bytes);
    expect(shard.summary).toMatchObject({ positionsDtype: 'F16', hasDelta: false, hasSeeds: false });
    expect(shard.seeds).toBeUndefined();
    let worst = 0;
    for (let i = 0; i < a.positions.length; i++) worst = Math.max(worst, Math.abs(shard.positions[i] - a.positions[i]));
    expect(worst).toBeLessThan(2 * 2 ** -11);
  });

  it('accepts I64 labels and seeds from foreign writers', () => {
    const bytes = rewrite(writeShard(META, arrays()), (t) => {
      t.set('labels', { dtype: 'I64', shape: [K], data: new BigInt64Array([1n, 2n, 3n]) });
      t.set('seeds', { dtype: 'I64', shape: [K], data: new BigInt64Array([5n, 6n, 7n]) });
    });
    expect(readShard(bytes).labels).toEqual(new Int32Array([1, 2, 3]));
  });

  it('refuses a shard of another teacher, naming both and what to do', () => {
    const bytes = writeShard(META, arrays());
    const e = expectShardError(
      () => validateShard(bytes, { ...LOADED, identity: { name: 'other-teacher', sha256: 'cd'.repeat(32) } }),
      'teacher-mismatch',
      'tiny-teacher',
      'abababababab',
      'other-teacher',
      'cdcdcdcdcdcd',
      'regenerate',
    );
    expect(e).toBeInstanceOf(ShardTeacherMismatchError);
    // The hash is the identity: the name is only shown.
    expect(validateShard(bytes, { ...LOADED, identity: { name: 'renamed', sha256: TEACHER.sha256 } }).count).toBe(3);
  });

  it('refuses a shard that names the teacher but contradicts its config, naming the field and both values', () => {
    const good = writeShard(META, arrays());
    expect(validateShard(good, LOADED).count).toBe(K);
    const cases: [string, (s: Record<string, unknown>) => void, string, string][] = [
      // 32x32 positions for a 28x28 teacher (here 4x4): consistent with themselves, not with it.
      ['shard.data.height', (s) => (s.data = { ...META.data, height: 8, width: 8 }), '8', '4'],
      ['shard.data.channels', (s) => (s.data = { ...META.data, channels: 3 }), '3', '1'],
      ['shard.prediction', (s) => (s.prediction = 'v_prediction'), '"v_prediction"', '"epsilon"'],
      ['shard.schedule.kind', (s) => (s.schedule = { ...META.schedule, kind: 'scaled_linear' }), 'scaled', 'linear'],
      ['shard.schedule.betaEnd', (s) => (s.schedule = { ...META.schedule, betaEnd: 0.012 }), '0.012', '0.02'],
      ['shard.schedule.trainSteps', (s) => (s.schedule = { ...META.schedule, trainSteps: 2000 }), '2000', '1000'],
      // 11 classes: label 10 would be the teacher's null class.
      ['shard.numClasses', (s) => (s.numClasses = 11), '11', '10'],
    ];
    for (const [field, edit, mine, theirs] of cases) {
      const bytes = rewrite(good, (t, s) => {
        edit(s);
        const d = s.data as ShardMeta['data'];
        const per = d.channels * d.height * d.width;
        t.set('positions', {
          dtype: 'F32',
          shape: [K, 5, d.channels, d.height, d.width],
          data: new Float32Array(K * 5 * per),
        });
        t.set('delta_positions', {
          dtype: 'F32',
          shape: [K, 4, d.channels, d.height, d.width],
          data: new Float32Array(K * 4 * per),
        });
        if (field === 'shard.numClasses')
          t.set('labels', { dtype: 'I32', shape: [K], data: new Int32Array([0, 10, 4]) });
      });
      expect(() => validateShard(bytes)).not.toThrow();
      const e = expectShardError(() => validateShard(bytes, LOADED), 'teacher-contradiction', field, mine, theirs);
      expect(e).toBeInstanceOf(ShardTeacherContradictionError);
      expect(e).toMatchObject({ field });
    }
  });

  it('names each kind of problem', () => {
    const good = writeShard(META, arrays());
    expectShardError(() => validateShard(good.subarray(0, 50)), 'not-safetensors');
    expectShardError(
      () => validateShard(rewrite(good, (_, __, m) => (m.format = 'rapm-studio/model'))),
      'wrong-format',
      'model',
    );
    expectShardError(() => validateShard(rewrite(good, (_, __, m) => (m.version = '2'))), 'wrong-format');
    expectShardError(() => validateShard(rewrite(good, (_, __, m) => (m.shard = '{'))), 'bad-metadata');
    expectShardError(() => validateShard(rewrite(good, (_, s) => delete s.teacher)), 'bad-metadata', 'shard.teacher');
    expectShardError(
      () => validateShard(rewrite(good, (_, s) => (s.teacher = { name: 'x', sha256: 'AB' }))),
      'bad-metadata',
      'sha256',
    );
    expectShardError(
      () => validateShard(rewrite(good, (_, s) => (s.coarseTimesteps = [999, 499, 749, 249]))),
      'bad-metadata',
      'descending',
    );
    expectShardError(
      () => validateShard(rewrite(good, (_, s) => (s.deltaTimesteps = [968, 718, 468]))),
      'bad-metadata',
      'deltaTimesteps',
    );
    expectShardError(
      () => validateShard(rewrite(good, (_, s) => (s.deltaTimesteps = [968, 718, 499, 218]))),
      'bad-metadata',
      'deltaTimesteps[2]',
    );
    expectShardError(() => validateShard(rewrite(good, (_, s) => (s.prediction = 'x0'))), 'bad-metadata', 'prediction');
    expectShardError(() => validateShard(rewrite(good, (t) => t.delete('positions'))), 'missing-tensor', 'positions');
    expectShardError(
      () =>
        validateShard(rewrite(good, (t) => t.set('extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) }))),
      'unexpected-tensor',
      'extra',
    );
    expectShardError(
      () =>
        validateShard(rewrite(good, (t) => t.set('labels', { dtype: 'F32', shape: [K], data: new Float32Array(K) }))),
      'wrong-dtype',
      'labels',
      'I32 or I64',
    );
    // Metadata says 3 trajectories, tensors hold 2: an inconsistency between the two.
    expectShardError(
      () => validateShard(rewrite(good, (t) => t.set('labels', { dtype: 'I32', shape: [2], data: new Int32Array(2) }))),
      'wrong-shape',
      'expected shape [3]',
      'got [2]',
    );
    expectShardError(
      () => validateShard(rewrite(good, (_, s) => (s.count = 4))),
      'wrong-shape',
      '[4,5,1,4,4]',
      '[3,5,1,4,4]',
    );
    expectShardError(
      () => validateShard(rewrite(good, (_, s) => (s.data = { channels: 1, height: 4, width: 2, range: [-1, 1] }))),
      'wrong-shape',
      'positions',
    );
    expectShardError(
      () => validateShard(rewrite(good, (_, s) => (s.coarseTimesteps = [999, 666, 333]))),
      'bad-metadata',
      'deltaTimesteps',
    );
    const e = expectShardError(
      () =>
        validateShard(
          rewrite(good, (t) => {
            const p = arrays().positions;
            p[1 * 5 * PER + 2 * PER + 7] = NaN; // trajectory 1, point 2, c 0, h 1, w 3
            t.set('positions', { dtype: 'F32', shape: [K, 5, 1, 4, 4], data: p });
          }),
        ),
      'non-finite',
      'positions',
      '[1,2,0,1,3]',
    );
    expect(e).toMatchObject({ tensor: 'positions', index: [1, 2, 0, 1, 3] });
    expectShardError(
      () =>
        validateShard(
          rewrite(good, (t) => {
            const d = arrays().deltaPositions;
            d[d.length - 1] = -Infinity;
            t.set('delta_positions', { dtype: 'F32', shape: [K, 4, 1, 4, 4], data: d });
          }),
        ),
      'non-finite',
      'delta_positions',
      '[2,3,0,3,3]',
    );
    expectShardError(
      () =>
        validateShard(
          rewrite(good, (t) => t.set('labels', { dtype: 'I32', shape: [K], data: new Int32Array([0, 10, 1]) })),
        ),
      'label-out-of-range',
      'at [1]',
      '0..9',
    );
    expectShardError(
      () =>
        validateShard(
          rewrite(good, (t) =>
            t.set('seeds', { dtype: 'I64', shape: [K], data: new BigInt64Array([1n, 2n ** 40n, 3n]) }),
          ),
        ),
      'seed-out-of-range',
      'seeds',
    );
  });

  it('refuses to write what it could not read back', () => {
    const a = arrays();
    expectShardError(() => writeShard(META, { ...a, positions: a.positions.subarray(1) }), 'bad-input', 'positions');
    expectShardError(() => writeShard({ ...META, delta: 0 }, a), 'bad-metadata', 'shard.delta');
    const big = a.positions.slice();
    big[5] = 1e5; // fine in F32, Inf in F16
    expect(() => writeShard(META, { ...a, positions: big })).not.toThrow();
    expectShardError(() => writeShard(META, { ...a, positions: big }, { dtype: 'F16' }), 'non-finite', 'F16');
  });

  it('fuzz: truncated and mutated shards only ever raise ShardError', () => {
    const random = rng(2024);
    const int = (n: number) => Math.floor(random() * n);
    const base = writeShard(META, arrays(), { dtype: 'F16' });
    const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
    const values: unknown[] = [null, -1, 0, 1, 2.5, 1e9, 'x', [], {}, [999], [1, 2, 3, 4], true];
    const keys = Object.keys({ ...META, count: K });
    const codes = new Set<string>();
    let ok = 0;
    for (let i = 0; i < 600; i++) {
      let file: Uint8Array = base.slice();
      switch (i % 4) {
        case 0:
          file = file.slice(0, int(file.byteLength));
          break;
        case 1:
          for (let k = 0; k < 1 + int(3); k++) file[8 + int(headerEnd - 8)] = int(256);
          break;
        case 2:
          for (let k = 0; k < 1 + int(4); k++) file[headerEnd + int(file.byteLength - headerEnd)] = int(256);
          break;
        case 3:
          // A metadata field replaced by a value of another type or range.
          file = rewrite(base, (_, s) => {
            const key = keys[int(keys.length)];
            if (random() < 0.2) delete s[key];
            else s[key] = values[int(values.length)];
          });
          break;
      }
      try {
        validateShard(file);
        ok++;
      } catch (e) {
        if (!(e instanceof ShardError))
          throw new Error(`fuzz case ${i} raised a non-shard error: ${String(e)}`, { cause: e });
        codes.add(e.code);
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(450);
    expect(codes.size).toBeGreaterThanOrEqual(4);
  });
});
