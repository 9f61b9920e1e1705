/**
 * A model as a sampler: its DDIM (the paper's settings unless the config says otherwise:
 * `set_alpha_to_one` and `clip_sample` off) and its network as a Denoiser. Every tool that samples a bundle (trajectory
 * generation, sample grids, evaluation) uses these two, so they all walk the same path;
 * `sampleModel` draws many seeded samples in batches.
 */
import * as tf from '@tensorflow/tfjs';
import { modelNetwork } from '../model';
import type { AnyModelConfig, SamplingConfig } from '../model-config';
import type { Network } from '../nn/network';
import type { Params } from '../nn/unet';
import { Ddim } from './ddim';
import type { Denoiser, GuidanceInterval } from './guidance';
import { sampleDdim, SamplerInputError, seededNoise } from './sampler';
import type { TimestepSpacing } from './timesteps';

export function modelDdim(config: SamplingConfig): Ddim {
  return new Ddim({
    schedule: config.schedule,
    prediction: config.prediction,
    setAlphaToOne: config.setAlphaToOne ?? false,
    clipSample: config.clipSample ? config.data.range : null,
  });
}

export function modelDenoiser(config: AnyModelConfig, params: Params): Denoiser {
  return networkDenoiser(modelNetwork(config), params);
}

/** Any network (this studio's UNet, a diffusers UNet2DModel) as a Denoiser at one timestep per call. */
export function networkDenoiser(network: Network, params: Params): Denoiser {
  return (x, t, labels) => tf.tidy(() => network.apply(params, x, tf.fill([x.shape[0]], t), labels));
}

export interface SampleRequest {
  /** One seed per sample: sample i's noise is seededNoise([seeds[i]]), whatever the batching. */
  seeds: ArrayLike<number>;
  /** One class per sample, 0 <= label < numClasses. */
  labels: ArrayLike<number>;
  steps: number;
  spacing: TimestepSpacing;
  /** An explicit grid in place of steps and spacing (a student's coarse timesteps). */
  timesteps?: readonly number[];
  guidanceScale: number;
  /** Guide only at timesteps in [lo, hi] (see guidance.ts); default: every step. */
  guidanceInterval?: GuidanceInterval;
  batchSize: number;
  onProgress?: (done: number, total: number) => void;
}

/** The model's DDIM samples, NHWC [K, H, W, C] flattened, drawn batch by batch. */
export async function sampleModel(config: AnyModelConfig, params: Params, req: SampleRequest): Promise<Float32Array> {
  if (req.labels.length !== req.seeds.length) {
    throw new SamplerInputError(`${req.labels.length} labels for ${req.seeds.length} seeds: give one label per seed`);
  }
  if (!Number.isInteger(req.batchSize) || req.batchSize < 1) {
    throw new SamplerInputError(`batch size must be a positive integer, got ${req.batchSize}`);
  }
  const { channels, height, width } = config.data;
  const perImage = channels * height * width;
  const ddim = modelDdim(config);
  const denoiser = modelDenoiser(config, params);
  const total = req.seeds.length;
  const out = new Float32Array(total * perImage);
  for (let start = 0; start < total; start += req.batchSize) {
    const end = Math.min(start + req.batchSize, total);
    const noise = seededNoise(Array.from(req.seeds).slice(start, end), height, width, channels);
    const labels = tf.tensor1d(Array.from(req.labels).slice(start, end), 'int32');
    let samples: tf.Tensor4D;
    try {
      samples = sampleDdim(ddim, denoiser, noise, labels, {
        steps: req.steps,
        spacing: req.spacing,
        timesteps: req.timesteps,
        guidanceScale: req.guidanceScale,
        guidanceInterval: req.guidanceInterval,
        numClasses: config.numClasses,
      }).samples;
    } finally {
      tf.dispose([noise, labels]);
    }
    try {
      out.set(await samples.data(), start * perImage);
    } finally {
      samples.dispose();
    }
    req.onProgress?.(end, total);
  }
  return out;
}
