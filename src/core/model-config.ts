/**
 * What a model bundle's `__metadata__.config` holds: enough to rebuild the network and
 * its sampler without any other file. `SamplingConfig` is the part every model has, whatever
 * its network (this studio's UNet or an imported diffusers UNet2DModel, src/core/model.ts).
 */
import type { ScheduleConfig } from './diffusion/schedule';
import type { DiffusersUNetConfig } from './nn/diffusers-unet';
import type { UNetConfig } from './nn/unet';

/** What the network outputs: the noise, v (Salimans & Ho 2022), or the clean sample (diffusers' `sample`). */
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

/** The prediction types a model bundle may declare (this studio trains epsilon and v teachers only). */
export type BundlePredictionType = 'epsilon' | 'v_prediction';

export interface SamplingConfig {
  /** Human-readable name, e.g. "mnist-teacher". */
  name: string;
  schedule: ScheduleConfig;
  prediction: PredictionType;
  /** Data layout of one sample (NCHW in files, NHWC in tensors) and its value range. */
  data: { channels: number; height: number; width: number; range: [number, number] };
  /**
   * Clamp each DDIM step's predicted x0 to `data.range` and re-derive eps from it (diffusers'
   * clip_sample with use_clipped_model_output). Off for latent
   * models (the paper's SD teachers); on for the small pixel-space MNIST teacher, whose first step
   * from t = 999 (abar = 4e-5) otherwise amplifies its eps error about 150-fold.
   */
  clipSample?: boolean;
  /**
   * DDIM's last step goes to alpha_bar = 1 instead of alpha_bar(0) (diffusers' `set_alpha_to_one`).
   * Off unless set: this studio's bundles never set it; a diffusers scheduler config maps to it.
   */
  setAlphaToOne?: boolean;
  /**
   * Number of real classes; class index `numClasses` is the null class used for CFG. 0: an
   * unconditional model (labels are ignored).
   */
  numClasses: number;
  /**
   * A distilled student's sampling grid: the coarse timesteps tau_N .. tau_1 (descending) it was
   * trained on; samplers default to it, at guidance 1. Absent for teachers (any grid, any guidance).
   */
  studentTimesteps?: number[];
}

export interface ModelConfig extends SamplingConfig {
  architecture: 'unet';
  unet: UNetConfig;
  prediction: BundlePredictionType;
  /** Free-form provenance: command, data, steps, date. */
  provenance?: Record<string, string>;
}

/** A diffusers UNet2DModel folder as the core holds it: what it samples with, and its parsed config.json. */
export interface DiffusersModelConfig extends SamplingConfig {
  architecture: 'diffusers-unet2d';
  diffusers: DiffusersUNetConfig;
}

/**
 * Either family's config, plain JSON: what samplers, trajectory generation, the trainer and the
 * worker's messages take. src/core/model.ts builds the network of either (modelNetwork).
 */
export type AnyModelConfig = ModelConfig | DiffusersModelConfig;
