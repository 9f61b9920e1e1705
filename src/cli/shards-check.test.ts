/**
 * The shard format's documented Python writer and the shards:check CLI, end to end: the exact
 * script in docs/shard-format.md must produce files the studio accepts, with the same teacher
 * identity the studio computes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../core/model-config';
import { initUnetParams } from '../core/nn/unet';
import { tinyModelConfig } from '../core/tiny-model-config';
import { saveModelBundle, shardTeacher } from '../core/io/bundle';
import { readShard, validateShard } from '../core/io/shards';

const here = dirname(fileURLToPath(import.meta.url));

// 28x28 like MNIST, which is what the documented Python writer writes; one thin level keeps it fast.
const CONFIG: ModelConfig = tinyModelConfig('doc-teacher', 10, {
  imageSize: 28,
  baseChannels: 4,
  channelMults: [1],
  groups: 2,
});
const UNET = CONFIG.unet;

function pythonWriterFromDocs(): string {
  const doc = readFileSync(join(here, '../../docs/shard-format.md'), 'utf8');
  const match = /<!-- shard-writer\.py:begin -->\s*```python\n([\s\S]*?)```\s*<!-- shard-writer\.py:end -->/.exec(doc);
  if (!match) throw new Error('docs/shard-format.md lost its marked Python writer block');
  return match[1];
}

function checkCli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'shards-check.ts'), ...args], {
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('shard format docs and shards:check', () => {
  let dir: string;
  let teacherPath: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rapm-shards-'));
    writeFileSync(join(dir, 'shard_writer.py'), pythonWriterFromDocs());
    const params = initUnetParams(UNET, 1);
    teacherPath = join(dir, 'teacher.safetensors');
    writeFileSync(teacherPath, await saveModelBundle(CONFIG, params));
    tf.dispose(Object.values(params));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the documented Python writer produces valid shards with the studio teacher identity', async () => {
    const out = join(dir, 'py.safetensors');
    execFileSync('python3', [join(dir, 'shard_writer.py'), out, teacherPath]);
    const teacher = await shardTeacher(readFileSync(teacherPath));
    const summary = validateShard(readFileSync(out), teacher);
    expect(summary).toMatchObject({
      count: 3,
      slots: 4,
      fineStepsPerSlot: 8,
      delta: 31,
      positionsDtype: 'F32',
      hasDelta: true,
      hasSeeds: true,
      teacher: { name: 'doc-teacher', sha256: teacher.identity.sha256 },
    });
    const shard = readShard(readFileSync(out));
    expect(shard.labels).toEqual(new Int32Array([3, 1, 4]));
    // The last point of each placeholder trajectory is the blank image (-1) in NCHW order.
    expect(shard.positions.subarray(4 * 784, 5 * 784).every((x) => Math.abs(x + 1) < 1e-6)).toBe(true);
    expect(shard.meta.provenance).toEqual({ writer: 'docs/shard-format.md example' });
  });

  it('the writer in the docs is scripts/shard_writer.py, which scripts/diffusers-trajectories.py imports', () => {
    expect(pythonWriterFromDocs()).toBe(readFileSync(join(here, '../../scripts/shard_writer.py'), 'utf8'));
  });

  it('shards:check --model takes a diffusers folder: the Python-written fixture passes, another teacher fails', () => {
    const fixtures = join(here, '../../e2e/fixtures');
    const shard = join(fixtures, 'diffusers-python/cond-28-attn-w2.safetensors');
    const ok = checkCli('--model', join(fixtures, 'diffusers/cond-28-attn'), shard);
    expect(ok.status, ok.out).toBe(0);
    expect(ok.out).toMatch(
      /cond-28-attn-w2\.safetensors\s+ok\s+2\s+4\s+8\s+31\s+1x28x28\s+F32\s+yes\s+yes\s+2\s+cond-28-attn@/,
    );
    const other = checkCli('--model', join(fixtures, 'diffusers/uncond-32-rgb'), shard);
    expect(other.status, other.out).toBe(1);
    expect(other.out).toContain('FAILED [teacher-mismatch]');
  });

  it('shards:check prints a line per file and fails on any bad one', () => {
    const good = join(dir, 'good.safetensors');
    execFileSync('python3', [join(dir, 'shard_writer.py'), good, teacherPath]);
    const other = join(dir, 'other.safetensors');
    execFileSync('python3', [join(dir, 'shard_writer.py'), other]);
    const broken = join(dir, 'broken.safetensors');
    writeFileSync(broken, readFileSync(good).subarray(0, 1000));

    const ok = checkCli(good, '--teacher', teacherPath);
    expect(ok.status, ok.out).toBe(0);
    expect(ok.out).toMatch(/good\.safetensors\s+ok\s+3\s+4\s+8\s+31\s+1x28x28\s+F32\s+yes\s+yes\s+2\s+doc-teacher@/);

    const mixed = checkCli(good, broken, other, join(dir, 'missing.safetensors'), '--teacher', teacherPath);
    expect(mixed.status, mixed.out).toBe(1);
    expect(mixed.out).toContain('broken.safetensors  FAILED [not-safetensors]');
    expect(mixed.out).toContain(
      "other.safetensors  FAILED [teacher-mismatch] shard was generated by teacher 'example'",
    );
    expect(mixed.out).toContain('missing.safetensors  FAILED [ENOENT]');
    expect(mixed.out).toContain('1 of 4 shard(s) valid');
  });
});
