/**
 * The studio's student preview for a given noise, on a loaded model: DDIM (eta 0, guidance 1) on
 * the model's student grid (`sampling.studentTimesteps`, what an exported student's
 * scheduler_config.json records), the same path the page's preview takes (sampleDdim with the
 * student's timesteps). Noise files hold diffusers' names and layout: `sample` [B, C, H, W] F32 and,
 * for a class-conditional model, `class_labels` [B] (I32 or I64); the output holds `sample`
 * [B, C, H, W] F32, the final samples (clamped to [-1, 1] where the scheduler clips).
 */
import * as tf from '@tensorflow/tfjs';
import { modelDdim, networkDenoiser } from '../core/diffusion/model-sampling';
import { sampleDdim } from '../core/diffusion/sampler';
import { parseSafetensors, writeSafetensors, type LoadedTensor } from '../core/io/safetensors';
import type { DiffusionModel } from '../core/model';

export interface NoiseInput {
  /** [B, C, H, W] */
  sample: LoadedTensor;
  labels: Int32Array;
}

export function readNoiseFile(bytes: Uint8Array): NoiseInput {
  const { tensors } = parseSafetensors(bytes);
  const sample = tensors.get('sample');
  if (!sample || sample.shape.length !== 4) throw new Error("the noise file needs 'sample' [B, C, H, W]");
  const labels = tensors.get('class_labels');
  return { sample, labels: labels ? Int32Array.from(labels.data) : new Int32Array(sample.shape[0]) };
}

/** Our preview's final samples for `noise`, [B, C, H, W] flattened. */
export async function studentPreview(model: DiffusionModel, noise: NoiseInput): Promise<Float32Array> {
  const grid = model.sampling.studentTimesteps;
  if (!grid) throw new Error('the model records no student timesteps (_rapm_student_timesteps)');
  const [b, c, h, w] = noise.sample.shape;
  const out = tf.tidy(() => {
    const x = tf.tensor4d(noise.sample.data, [b, c, h, w]).transpose([0, 2, 3, 1]) as tf.Tensor4D;
    const { samples } = sampleDdim(
      modelDdim(model.sampling),
      networkDenoiser(model.network, model.params),
      x,
      tf.tensor1d(noise.labels, 'int32'),
      {
        steps: grid.length,
        spacing: 'trailing',
        timesteps: grid,
        guidanceScale: 1,
        numClasses: model.sampling.numClasses,
      },
    );
    return samples.transpose([0, 3, 1, 2]);
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

export function previewFile(samples: Float32Array, shape: number[], source: string): Uint8Array {
  return writeSafetensors({ sample: { dtype: 'F32', shape, data: samples } }, { source });
}
