/**
 * The exported students against the real diffusers, without Python: each folder of
 * e2e/fixtures/diffusers-export/ holds a student exported by this studio
 * (scripts/diffusers-export-fixture.ts), a noise file, and what diffusers 0.25.0 made of them
 * (scripts/diffusers-export-check.py: UNet2DModel.from_pretrained, DDIMScheduler.from_pretrained,
 * set_timesteps(N), step). Our preview of the folder, recomputed here on wasm, must equal
 * diffusers' samples; it must also equal the preview recorded when the fixture was made.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, type LoadedTensor } from '../io/safetensors';
import { readDiffusersFolder } from '../../node/diffusers-folder';
import { relativeError } from '../../node/diffusers-golden.test-util';
import { readNoiseFile, studentPreview } from '../../node/diffusers-preview';
import { loadDiffusersModel } from './folder';

const ROOT = join(import.meta.dirname, '..', '..', '..', 'e2e', 'fixtures', 'diffusers-export');
const FOLDERS = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/**
 * Two float32 implementations drift apart step by step: cond-28-attn's four steps from t = 999
 * grow the gap about 4x each (2.6e-6, 9.0e-6, 2.6e-5, 1.1e-4; docs/model-format.md), as its
 * ten-step golden trajectory grows about 20-fold.
 */
const TOLERANCE = 2e-4;

const sample = (dir: string, file: string) =>
  parseSafetensors(readFileSync(join(dir, file))).tensors.get('sample') as LoadedTensor;

describe.each(FOLDERS)('exported student %s', (name) => {
  it("samples on its grid as diffusers' DDIMScheduler does from the same noise", async () => {
    const dir = join(ROOT, name);
    const model = loadDiffusersModel((await readDiffusersFolder(join(dir, 'student'))).files, name);
    const before = tf.memory().numTensors;
    const ours = await studentPreview(model, readNoiseFile(readFileSync(join(dir, 'noise.safetensors'))));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(model.params));
    const diffusers = relativeError(ours, sample(dir, 'diffusers.safetensors').data);
    const recorded = relativeError(ours, sample(dir, 'ours.safetensors').data);
    console.log(`${name}: grid [${model.sampling.studentTimesteps}], vs diffusers ${diffusers.toExponential(2)}`);
    expect(diffusers).toBeLessThan(TOLERANCE);
    expect(recorded).toBeLessThan(1e-6);
  });
});
