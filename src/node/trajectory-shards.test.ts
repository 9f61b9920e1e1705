import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelBundle, saveModelBundle, shardTeacher, teacherIdentity } from '../core/io/bundle';
import { readShard } from '../core/io/shards';
import type { ModelConfig } from '../core/model-config';
import { initUnetParams } from '../core/nn/unet';
import { TINY_ATTENTION, tinyModelConfig } from '../core/tiny-model-config';
import { generateTrajectories } from '../core/rapm/trajectories';
import { ShardDirError, writeShardDir, type ShardDirOptions, type ShardManifest } from './trajectory-shards';

const config: ModelConfig = tinyModelConfig('tiny-teacher', 3, TINY_ATTENTION);

let dir: string;
let teacherBytes: Uint8Array;
let base: ShardDirOptions;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shards-'));
  const params = initUnetParams(config.unet, 1);
  teacherBytes = await saveModelBundle(config, params);
  tf.dispose(Object.values(params));
  base = {
    teacherBytes,
    outDir: join(dir, 'out'),
    count: 5,
    perShard: 2,
    slots: 2,
    stepsPerSlot: 2,
    guidanceScale: 2,
    seed: 3,
    dtype: 'F32',
    batchSize: 2,
  };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const mtime = async (file: string) => (await stat(join(base.outDir, file))).mtimeMs;

describe('writeShardDir', () => {
  it('writes balanced, seeded shards and a manifest that lists them', async () => {
    const progress: number[] = [];
    const manifest = (await writeShardDir({ ...base, onProgress: (done) => progress.push(done) }))!;
    expect(progress.at(-1)).toBe(5);
    expect(manifest.files.map((f) => [f.file, f.first, f.count])).toEqual([
      ['shard-00000.safetensors', 0, 2],
      ['shard-00001.safetensors', 2, 2],
      ['shard-00002.safetensors', 4, 1],
    ]);
    expect(manifest.teacher).toEqual(await teacherIdentity(teacherBytes));
    const onDisk = JSON.parse(await readFile(join(base.outDir, 'manifest.json'), 'utf8')) as ShardManifest;
    expect(onDisk).toEqual(manifest);
    expect(manifest.bytes).toBe(manifest.files.reduce((a, f) => a + f.bytes, 0));

    const shard = readShard(
      await readFile(join(base.outDir, 'shard-00001.safetensors')),
      await shardTeacher(teacherBytes),
    );
    expect(Array.from(shard.seeds!)).toEqual([3_000_002, 3_000_003]);
    expect(Array.from(shard.labels)).toEqual([2, 0]);
    // A shard's trajectories are the generator's for those seeds alone.
    const { params } = loadModelBundle(teacherBytes);
    const direct = await generateTrajectories(config, params, {
      seeds: [3_000_002, 3_000_003],
      labels: [2, 0],
      slots: 2,
      stepsPerSlot: 2,
      guidanceScale: 2,
      batchSize: 1,
    });
    tf.dispose(Object.values(params));
    const err = Math.max(...direct.positions.map((v, i) => Math.abs(v - shard.positions[i])));
    expect(err).toBeLessThan(1e-5);
  });

  it('resumes: keeps valid shards, regenerates a damaged one identically', async () => {
    const before = await readFile(join(base.outDir, 'shard-00001.safetensors'));
    const kept = await mtime('shard-00000.safetensors');
    await writeFile(join(base.outDir, 'shard-00001.safetensors'), before.subarray(0, 100));
    const lines: string[] = [];
    await writeShardDir({ ...base, log: (l) => lines.push(l) });
    expect(await mtime('shard-00000.safetensors')).toBe(kept);
    expect(lines.some((l) => l.startsWith('shard-00001.safetensors is damaged'))).toBe(true);
    // Same trajectories bit for bit (the bytes differ only in the provenance date).
    const again = readShard(await readFile(join(base.outDir, 'shard-00001.safetensors')));
    const first = readShard(before);
    expect(again.positions).toEqual(first.positions);
    expect(again.deltaPositions).toEqual(first.deltaPositions);
  });

  it('with only, writes just those shards and no manifest; a full run then keeps them', async () => {
    const dir = join(base.outDir, 'split');
    expect(await writeShardDir({ ...base, outDir: dir, only: [2, 0] })).toBeNull();
    expect((await readdir(dir)).sort()).toEqual(['shard-00000.safetensors', 'shard-00002.safetensors']);
    const kept = await mtime('split/shard-00002.safetensors');
    const manifest = await writeShardDir({ ...base, outDir: dir });
    expect(manifest!.files.map((f) => f.file)).toEqual([
      'shard-00000.safetensors',
      'shard-00001.safetensors',
      'shard-00002.safetensors',
    ]);
    expect(await mtime('split/shard-00002.safetensors')).toBe(kept);
    const whole = readShard(await readFile(join(base.outDir, 'shard-00002.safetensors')));
    expect(readShard(await readFile(join(dir, 'shard-00002.safetensors'))).positions).toEqual(whole.positions);
    await expect(writeShardDir({ ...base, outDir: dir, only: [3] })).rejects.toThrow(/shard 3 is not in 0..2/);
  });

  it('refuses to overwrite shards made with other settings', async () => {
    await expect(writeShardDir({ ...base, guidanceScale: 3 })).rejects.toThrow(ShardDirError);
    await expect(writeShardDir({ ...base, seed: 4 })).rejects.toThrow(/other seeds or labels/);
    await expect(writeShardDir({ ...base, dtype: 'F16' })).rejects.toThrow(/positionsDtype/);
    await expect(writeShardDir({ ...base, seed: 2200 })).rejects.toThrow(/--seed/);
  });
});
