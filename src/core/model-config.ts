/**
 * What a model bundle's `__metadata__.config` holds: enough to rebuild the network and
 * its sampler without any other file.
 */
import type { ScheduleConfig } from './diffusion/schedule';
import type { UNetConfig } from './nn/unet';

export type PredictionType = 'epsilon' | 'v_prediction';

export interface ModelConfig {
  /** Human-readable name, e.g. "mnist-teacher". */
  name: string;
  architecture: 'unet';
  unet: UNetConfig;
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
  /** Number of real classes; class index `numClasses` is the null class used for CFG. */
  numClasses: number;
  /**
   * A distilled student's sampling grid: the coarse timesteps tau_N .. tau_1 (descending) it was
   * trained on; samplers default to it, at guidance 1. Absent for teachers (any grid, any guidance).
   */
  studentTimesteps?: number[];
  /** Free-form provenance: command, data, steps, date. */
  provenance?: Record<string, string>;
}
