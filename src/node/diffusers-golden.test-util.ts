/**
 * The golden fixtures (e2e/fixtures/diffusers/, made by scripts/diffusers-fixtures.py with
 * diffusers 0.25.0) read from disk, and the comparisons of core/diffusers/golden.ts on them, on
 * whatever tfjs backend is active.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readDiffusersFolder } from './diffusers-folder';
import { loadDiffusersModel, type DiffusersModel } from '../core/diffusers/folder';
import * as golden from '../core/diffusers/golden';

export { relativeError } from '../core/diffusers/golden';

export const GOLDEN_ROOT = join(import.meta.dirname, '..', '..', 'e2e', 'fixtures', 'diffusers');
export const GOLDEN_FIXTURES = readdirSync(GOLDEN_ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const file = (name: string, f: string) => new Uint8Array(readFileSync(join(GOLDEN_ROOT, name, f)));

export async function loadGolden(name: string): Promise<DiffusersModel> {
  return loadDiffusersModel((await readDiffusersFolder(join(GOLDEN_ROOT, name))).files, name);
}

/** The forward pass on inputs.safetensors: errors of the output and of the sinusoid against outputs.safetensors. */
export function goldenForward(name: string, model: DiffusersModel) {
  return golden.goldenForward(model, file(name, 'inputs.safetensors'), file(name, 'outputs.safetensors'));
}

/** DDIM from ddim.safetensors' noise: the error at every point of the trajectory, the final sample last. */
export function goldenTrajectory(name: string, model: DiffusersModel) {
  return golden.goldenTrajectory(model, file(name, 'ddim.safetensors'));
}
