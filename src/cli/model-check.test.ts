/**
 * npm run model:check on the diffusers fixtures: it prints the parsed architecture and parameter
 * count, its --out equals diffusers' output for the fixture's inputs, and a folder or inputs file
 * it cannot run ends with the typed error's message (naming the field) and exit code 1.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../node/diffusers-golden.test-util';
import { parseSafetensors, writeSafetensors } from '../core/io/safetensors';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'e2e', 'fixtures', 'diffusers');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'model-check.ts'), ...args], {
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('npm run model:check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapm-model-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the architecture and parameter count, and writes diffusers' output for the fixture's inputs", () => {
    const model = join(fixtures, 'cond-28-attn');
    const out = join(dir, 'out.safetensors');
    const run = cli('--model', model, '--inputs', join(model, 'inputs.safetensors'), '--out', out);
    expect(run.out).toContain('diffusers UNet2DModel: 1 x 28 x 28 in, 1 channel(s) out, 10 class embeddings');
    expect(run.out).toContain('attention 4 heads');
    expect(run.out).toContain('parameters: 45,289 in 145 tensors');
    expect(run.out).toContain('prediction epsilon, clip_sample true, set_alpha_to_one false, 10 classes');
    expect(run.status).toBe(0);
    const ours = parseSafetensors(readFileSync(out)).tensors.get('sample');
    const theirs = parseSafetensors(readFileSync(join(model, 'outputs.safetensors'))).tensors.get('sample');
    expect(ours?.shape).toEqual([2, 1, 28, 28]);
    expect(relativeError(ours!.data, theirs!.data)).toBeLessThan(1e-5);
  });

  it('refuses a config it cannot run, naming the field and value, with exit code 1', () => {
    const model = join(dir, 'fourier');
    cpSync(join(fixtures, 'uncond-32-plain'), model, { recursive: true });
    const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(model, 'config.json'), JSON.stringify({ ...config, time_embedding_type: 'fourier' }));
    const run = cli('--model', model);
    expect(run.out).toContain('config.json: time_embedding_type = "fourier"');
    expect(run.status).toBe(1);
  });

  it('refuses class labels for an unconditional model', () => {
    const model = join(fixtures, 'uncond-32-plain');
    const inputs = parseSafetensors(readFileSync(join(model, 'inputs.safetensors'))).tensors;
    const sample = inputs.get('sample')!;
    const file = join(dir, 'labelled.safetensors');
    writeFileSync(
      file,
      writeSafetensors({
        sample: { dtype: 'F32', shape: sample.shape, data: sample.data as Float32Array },
        timestep: { dtype: 'I32', shape: [1], data: new Int32Array([10]) },
        class_labels: { dtype: 'I32', shape: [3], data: new Int32Array(3) },
      }),
    );
    const run = cli('--model', model, '--inputs', file, '--out', join(dir, 'x.safetensors'));
    expect(run.out).toContain("unexpected tensor 'class_labels' (the model is unconditional)");
    expect(run.status).toBe(1);
  });
});
