/**
 * The golden fixtures (e2e/fixtures/diffusers/, made by scripts/diffusers-fixtures.py with
 * diffusers 0.25.0) and the two comparisons the tests make on them, on whatever tfjs backend is
 * active. Relative error = max |ours - diffusers| / max |diffusers| over the tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readDiffusersFolder } from './diffusers-folder';
import { modelDdim, networkDenoiser } from '../core/diffusion/model-sampling';
import { sampleDdim } from '../core/diffusion/sampler';
import { timesteps } from '../core/diffusion/timesteps';
import { parseSafetensors, type LoadedTensor } from '../core/io/safetensors';
import { diffusersTimestepEmbedding } from '../core/nn/diffusers-unet';
import { loadDiffusersModel, type DiffusersModel } from '../core/diffusers/folder';

export const GOLDEN_ROOT = join(import.meta.dirname, '..', '..', 'e2e', 'fixtures', 'diffusers');
export const GOLDEN_FIXTURES = readdirSync(GOLDEN_ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

export function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`${ours.length} values against ${ref.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / scale;
}

/** [B, C, H, W] (diffusers) -> [B, H, W, C]. */
const nhwc = (t: LoadedTensor) =>
  tf.tidy(
    () => tf.tensor4d(t.data, t.shape as [number, number, number, number]).transpose([0, 2, 3, 1]) as tf.Tensor4D,
  );

async function nchwData(x: tf.Tensor4D): Promise<Float32Array> {
  const t = x.transpose([0, 3, 1, 2]);
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

const tensors = (name: string, file: string) =>
  parseSafetensors(readFileSync(join(GOLDEN_ROOT, name, file))).tensors as Map<string, LoadedTensor>;

export async function loadGolden(name: string): Promise<DiffusersModel> {
  return loadDiffusersModel((await readDiffusersFolder(join(GOLDEN_ROOT, name))).files, name);
}

/** The forward pass on inputs.safetensors: errors of the output and of the sinusoid against outputs.safetensors. */
export async function goldenForward(name: string, model: DiffusersModel) {
  const inputs = tensors(name, 'inputs.safetensors');
  const expected = tensors(name, 'outputs.safetensors');
  const before = tf.memory().numTensors;
  const sample = inputs.get('sample') as LoadedTensor;
  const x = nhwc(sample);
  const t = tf.tensor1d(Array.from((inputs.get('timestep') as LoadedTensor).data));
  const labels = tf.tensor1d(Array.from(inputs.get('class_labels')?.data ?? new Int32Array(sample.shape[0])), 'int32');
  const out = tf.tidy(() => model.network.apply(model.params, x, t, labels));
  const emb = tf.tidy(() => diffusersTimestepEmbedding(model.unet, t));
  const time = relativeError(await emb.data(), (expected.get('time_proj') as LoadedTensor).data);
  const output = relativeError(await nchwData(out), (expected.get('sample') as LoadedTensor).data);
  tf.dispose([x, t, labels, out, emb]);
  return { output, time, leaked: tf.memory().numTensors - before };
}

/**
 * DDIM from ddim.safetensors' noise on the grid the scheduler config gives (checked against
 * diffusers' timesteps): the error at every point of the trajectory, the final sample last.
 */
export async function goldenTrajectory(name: string, model: DiffusersModel) {
  const ddim = tensors(name, 'ddim.safetensors');
  const reference = ddim.get('trajectory') as LoadedTensor;
  const expectedGrid = Array.from((ddim.get('timesteps') as LoadedTensor).data);
  const grid = timesteps(
    model.sampling.schedule.trainSteps,
    expectedGrid.length,
    model.scheduler.spacing,
    model.scheduler.stepsOffset,
  );
  const noise = nhwc(ddim.get('noise') as LoadedTensor);
  const labels = tf.tensor1d(Array.from(ddim.get('class_labels')?.data ?? new Int32Array(noise.shape[0])), 'int32');
  const denoiser = networkDenoiser(model.network, model.params);
  const { samples, points } = sampleDdim(modelDdim(model.sampling), denoiser, noise, labels, {
    steps: grid.length,
    spacing: model.scheduler.spacing,
    timesteps: grid,
    guidanceScale: 1,
    numClasses: model.sampling.numClasses,
    keepAt: grid,
  });
  const per = reference.data.length / reference.shape[0];
  const step = (i: number) => reference.data.subarray(i * per, (i + 1) * per);
  const errors: number[] = [];
  for (let i = 0; i < points.length; i++) errors.push(relativeError(await nchwData(points[i].z), step(i)));
  // diffusers' last prev_sample, clamped to the data range as our final samples are when clipping
  const clip = (v: number) => (model.sampling.clipSample ? Math.min(1, Math.max(-1, v)) : v);
  errors.push(relativeError(await nchwData(samples), Float32Array.from(step(grid.length), clip)));
  tf.dispose([noise, labels, samples, ...points.map((p) => p.z)]);
  return { grid, expectedGrid, errors };
}
