/**
 * A model bundle as a sampler: its DDIM (the paper's settings: `set_alpha_to_one=False`,
 * `clip_sample=False`) and its UNet as a Denoiser. Every tool that samples a bundle (trajectory
 * generation, sample grids, evaluation) uses these two, so they all walk the same path.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model-config';
import { applyUnet, type Params } from '../nn/unet';
import { Ddim } from './ddim';
import type { Denoiser } from './guidance';

export function modelDdim(config: ModelConfig): Ddim {
  return new Ddim({ schedule: config.schedule, prediction: config.prediction, setAlphaToOne: false, clipSample: null });
}

export function modelDenoiser(config: ModelConfig, params: Params): Denoiser {
  return (x, t, labels) => tf.tidy(() => applyUnet(config.unet, params, x, tf.fill([x.shape[0]], t), labels));
}
