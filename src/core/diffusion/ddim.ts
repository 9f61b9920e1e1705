/**
 * DDIM (Song, Meng & Ermon 2021) with eta = 0, following diffusers' DDIMScheduler.
 * Notation: a_t = alpha_bar(t) (the paper's alpha_t), z = the noisy sample x_t, output = the raw model output.
 * Timesteps are integers; t < 0 means "after the last step", where a = final_alpha_cumprod
 * (1 with setAlphaToOne, else alpha_bar(0): the `set_alpha_to_one` flag of diffusers).
 * A timestep may be one number for the whole batch or a Float32Array with one entry per sample.
 */
import * as tf from '@tensorflow/tfjs';
import type { PredictionType } from '../model-config';
import { alphasCumprod, type ScheduleConfig } from './schedule';

export interface DdimConfig {
  schedule: ScheduleConfig;
  prediction: PredictionType;
  setAlphaToOne: boolean;
  /**
   * diffusers `clip_sample` + `clip_sample_range` with `use_clipped_model_output`: clamp the predicted
   * x0 to the data range and re-derive eps from it; null = off.
   */
  clipSample: readonly [number, number] | null;
}

export type Timestep = number | Float32Array;

/** A timestep that is not an integer below trainSteps, or a per-sample array of the wrong length. */
export class TimestepRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimestepRangeError';
  }
}

/** The clean sample and the noise that a model output stands for at (z, t). */
export interface Prediction {
  x0: tf.Tensor4D;
  eps: tf.Tensor4D;
}

export class Ddim {
  readonly config: Readonly<DdimConfig>;
  private readonly alphaBar: Float64Array;
  private readonly finalAlpha: number;
  /** clamp to the data range with a straight-through (identity) gradient; null when clipSample is off */
  private readonly clip: ((x: tf.Tensor4D) => tf.Tensor4D) | null;

  constructor(config: DdimConfig) {
    this.config = Object.freeze({ ...config });
    const range = config.clipSample;
    this.clip = range
      ? (tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
          value: tf.clipByValue(args[0] as tf.Tensor, range[0], range[1]),
          gradFunc: (dy: tf.Tensor) => dy,
        })) as (x: tf.Tensor4D) => tf.Tensor4D)
      : null;
    this.alphaBar = alphasCumprod(config.schedule);
    this.finalAlpha = config.setAlphaToOne ? 1 : this.alphaBar[0];
  }

  /** a_t; any t < 0 is the final point (diffusers: prev_timestep < 0 -> final_alpha_cumprod). */
  alphaBarAt(t: number): number {
    if (!Number.isInteger(t) || t >= this.alphaBar.length) {
      throw new TimestepRangeError(`timestep ${t} is not an integer below ${this.alphaBar.length} (train steps)`);
    }
    return t < 0 ? this.finalAlpha : this.alphaBar[t];
  }

  /** q(z_t | x0), DDIM eq. (4): z_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps. */
  addNoise(x0: tf.Tensor4D, eps: tf.Tensor4D, t: Timestep): tf.Tensor4D {
    this.assertTrainTimestep(t);
    return tf.tidy(() => this.mix(x0, eps, t));
  }

  /** What the network is trained to output: eps, x0, or v = sqrt(a_t) eps - sqrt(1 - a_t) x0 (Salimans & Ho 2022). */
  target(x0: tf.Tensor4D, eps: tf.Tensor4D, t: Timestep): tf.Tensor4D {
    this.assertTrainTimestep(t);
    if (this.config.prediction === 'epsilon') return tf.tidy(() => tf.clone(eps));
    if (this.config.prediction === 'sample') return tf.tidy(() => tf.clone(x0));
    return tf.tidy(() => tf.sub(tf.mul(eps, this.coef(t, Math.sqrt, x0)), tf.mul(x0, this.coef(t, sqrt1m, x0))));
  }

  /** (x0, eps) from a model output at (z, t); x0 clipped to the data range when clipSample is set. */
  predict(output: tf.Tensor4D, z: tf.Tensor4D, t: Timestep): Prediction {
    this.assertTrainTimestep(t);
    return tf.tidy(() => {
      const sa = this.coef(t, Math.sqrt, z);
      const s1m = this.coef(t, sqrt1m, z);
      let x0: tf.Tensor4D;
      let eps: tf.Tensor4D;
      if (this.config.prediction === 'epsilon') {
        // DDIM eq. (12), "predicted x0": (z - sqrt(1 - a_t) eps) / sqrt(a_t)
        eps = tf.clone(output);
        x0 = tf.div(tf.sub(z, tf.mul(output, s1m)), sa);
      } else if (this.config.prediction === 'sample') {
        // the output is x0 itself; eps from eq. (4): (z - sqrt(a_t) x0) / sqrt(1 - a_t)
        x0 = tf.clone(output);
        eps = tf.div(tf.sub(z, tf.mul(output, sa)), s1m);
      } else {
        // v-parameterisation: x0 = sqrt(a_t) z - sqrt(1 - a_t) v, eps = sqrt(a_t) v + sqrt(1 - a_t) z
        x0 = tf.sub(tf.mul(z, sa), tf.mul(output, s1m));
        eps = tf.add(tf.mul(output, sa), tf.mul(z, s1m));
      }
      // Clipping moves x0, and eps is re-derived from the clipped x0 so that the pair still adds up
      // to z (diffusers' use_clipped_model_output=True; its default leaves eps as predicted). With
      // the unclipped eps, each step re-injects the part of the prediction the clip removed: the
      // built-in teacher's 32-step samples then scored FID 86 against 33 with this (docs/results.md).
      // The clamp passes gradients straight through, so a student step is trained as if unclipped:
      // at t = 999 the clamp binds on most pixels, and a true gradient would be zero there.
      if (this.clip) {
        const clipped = this.clip(x0);
        eps = tf.div(tf.sub(z, tf.mul(clipped, sa)), s1m);
        x0 = clipped;
      }
      return { x0, eps };
    });
  }

  /** One deterministic DDIM step z_t -> z_s, s < t (s < 0: to the final clean point). */
  step(output: tf.Tensor4D, z: tf.Tensor4D, t: Timestep, s: Timestep): tf.Tensor4D {
    return tf.tidy(() => {
      // 1. x0 and eps from the model output ("predicted x0" of eq. (12)).
      const { x0, eps } = this.predict(output, z, t);
      // 2. eq. (12) with sigma_t = 0: z_s = sqrt(a_s) x0 + sqrt(1 - a_s) eps ("direction pointing to x_t").
      return this.mix(x0, eps, s);
    });
  }

  /** sqrt(a) x + sqrt(1 - a) eps; must run inside a tidy. */
  private mix(x: tf.Tensor4D, eps: tf.Tensor4D, t: Timestep): tf.Tensor4D {
    return tf.add(tf.mul(x, this.coef(t, Math.sqrt, x)), tf.mul(eps, this.coef(t, sqrt1m, x)));
  }

  /** f(a_t) as a JS number, or as a [B,1,1,1] tensor for per-sample timesteps; must run inside a tidy. */
  private coef(t: Timestep, f: (a: number) => number, like: tf.Tensor4D): number | tf.Tensor4D {
    if (typeof t === 'number') return f(this.alphaBarAt(t));
    const b = like.shape[0];
    if (t.length !== b) throw new TimestepRangeError(`${t.length} per-sample timesteps for a batch of ${b}`);
    return tf.tensor4d(
      t.map((ti) => f(this.alphaBarAt(ti))),
      [b, 1, 1, 1],
    );
  }

  private assertTrainTimestep(t: Timestep): void {
    const ts = typeof t === 'number' ? [t] : t;
    for (const ti of ts) {
      if (!(ti >= 0)) throw new TimestepRangeError(`timestep ${ti} is below 0: the model is only defined on 0..T-1`);
    }
  }
}

const sqrt1m = (a: number) => Math.sqrt(1 - a);
