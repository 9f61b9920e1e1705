/**
 * The DDIM sampler: from initial noise z_T down a descending timestep grid to the clean sample, one
 * deterministic DDIM step (eta = 0) per grid entry, optionally with classifier-free guidance.
 * Each step goes to the NEXT entry of the grid (the DDIM paper's sub-sequence tau), the last one to t = -1.
 * diffusers instead steps to t - T // n, which leaves the grid when n does not divide T (trailing 32:
 * 937 -> 906 while the grid says 905); RAPM needs the trajectory to hit its coarse boundaries exactly.
 * With the DDIM's clipSample set, the final samples are clamped to that data range as well.
 */
import * as tf from '@tensorflow/tfjs';
import { gaussianBatch } from '../random';
import type { Ddim } from './ddim';
import { type Denoiser, guided, type GuidanceInterval } from './guidance';
import { timesteps, type TimestepSpacing } from './timesteps';

export interface SamplerOptions {
  steps: number;
  spacing: TimestepSpacing;
  /** diffusers `steps_offset`, used by `leading` spacing only (SD 1.5: 1). */
  stepsOffset?: number;
  /** Classifier-free guidance scale w; 1 = conditional model only. */
  guidanceScale: number;
  /** Guide only at timesteps in [lo, hi]; default: every step. */
  guidanceInterval?: GuidanceInterval;
  /** Class count of the model; label `numClasses` is the null class for guidance. */
  numClasses: number;
  /** Grid timesteps at which to keep the point z_t (the sampler's state before its step out of t). */
  keepAt?: readonly number[];
  /**
   * An explicit grid, descending, in place of `steps` and `spacing`: a distilled student samples on the
   * coarse timesteps it was trained on, which need not be any spacing's grid.
   */
  timesteps?: readonly number[];
}

export interface SampleResult {
  samples: tf.Tensor4D;
  /** Kept points in sampling order (descending t); the caller owns them like `samples`. */
  points: { t: number; z: tf.Tensor4D }[];
}

/** A sampler request that cannot be run as given (shapes, or kept timesteps off the grid). */
export class SamplerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamplerInputError';
  }
}

export function sampleDdim(
  ddim: Ddim,
  denoiser: Denoiser,
  noise: tf.Tensor4D,
  labels: tf.Tensor1D,
  opts: SamplerOptions,
): SampleResult {
  const grid = samplingGrid(ddim.config.schedule.trainSteps, opts);
  const keep = new Set(opts.keepAt ?? []);
  const offGrid = [...keep].filter((t) => !grid.includes(t));
  if (offGrid.length > 0) {
    throw new SamplerInputError(`keepAt timesteps ${offGrid} are not on the sampling grid ${grid}`);
  }
  if (labels.shape[0] !== noise.shape[0]) {
    throw new SamplerInputError(`${labels.shape[0]} labels for a batch of ${noise.shape[0]} noise samples`);
  }
  const model = guided(denoiser, opts.numClasses, opts.guidanceScale, opts.guidanceInterval);
  const points: SampleResult['points'] = [];
  let z = noise;
  try {
    for (let i = 0; i < grid.length; i++) {
      const t = grid[i];
      const s = i + 1 < grid.length ? grid[i + 1] : -1;
      if (keep.has(t)) points.push({ t, z: tf.clone(z) });
      const next = tf.tidy(() => ddim.step(model(z, t, labels), z, t, s));
      if (z !== noise) z.dispose();
      z = next;
    }
    // The last step lands at alpha_bar(0) < 1 (set_alpha_to_one off), so z keeps sqrt(1 - a_0) of
    // the predicted noise: about 0.01 eps, enough to leave the data range by a few percent even
    // though each step's x0 was clipped. Where the model clips, its samples end in its range too.
    const range = ddim.config.clipSample;
    if (range && z !== noise) {
      const kept = tf.clipByValue(z, range[0], range[1]) as tf.Tensor4D;
      z.dispose();
      z = kept;
    }
  } catch (err) {
    // A failing denoiser (e.g. out of GPU memory) must not strand the kept points or the current state.
    if (z !== noise) z.dispose();
    tf.dispose(points.map((p) => p.z));
    throw err;
  }
  return { samples: z, points };
}

/** The grid a request samples on: its explicit timesteps (checked), or `steps` with `spacing`. */
export function samplingGrid(
  trainSteps: number,
  opts: Pick<SamplerOptions, 'steps' | 'spacing' | 'stepsOffset' | 'timesteps'>,
): number[] {
  if (!opts.timesteps) return timesteps(trainSteps, opts.steps, opts.spacing, opts.stepsOffset ?? 0);
  const grid = [...opts.timesteps];
  const bad = grid.findIndex((t, i) => !Number.isInteger(t) || t < 0 || t >= trainSteps || (i > 0 && t >= grid[i - 1]));
  if (grid.length === 0 || bad >= 0) {
    throw new SamplerInputError(
      `timesteps [${grid}] are not a descending grid of integers in 0..${trainSteps - 1}` +
        (bad >= 0 ? ` (entry ${bad} is ${grid[bad]})` : ' (empty)'),
    );
  }
  return grid;
}

/** Initial noise [B, h, w, c] where sample i depends only on seeds[i] (see random.ts). */
export function seededNoise(seeds: ArrayLike<number>, height: number, width: number, channels: number): tf.Tensor4D {
  const n = height * width * channels;
  return tf.tensor4d(gaussianBatch(seeds, n), [seeds.length, height, width, channels]);
}
