/**
 * Trains a class-conditional diffusion model (the teacher) with the DDPM objective:
 * x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, loss = ||model(x_t, t, c) - target||^2, target
 * eps or v by the bundle's prediction type. Labels are replaced by the null class with
 * probability `labelDropout`, which teaches the unconditional branch that classifier-free
 * guidance needs. Keeps an exponential moving average of the weights, the ones that ship.
 *
 * The caller supplies every random draw (images, noise, timesteps, dropout), so a run is a
 * pure function of its seed and resumes exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { alphasCumprod } from '../diffusion/schedule';
import type { ModelConfig } from '../model-config';
import { applyUnet, type Params } from '../nn/unet';
import { Adam, type AdamOptions } from './adam';

export interface TeacherTrainConfig {
  batchSize: number;
  steps: number;
  adam: AdamOptions;
  /** Linear warm-up of the learning rate over this many steps, then cosine decay to `finalLrFraction`. */
  warmupSteps: number;
  labelDropout: number;
  /** Decay of the EMA weights that ship. */
  emaDecay: number;
  seed: number;
  /** The cosine ends at this fraction of the peak learning rate (default 0.1). */
  finalLrFraction?: number;
  /** Step at which the schedule (warm-up, then cosine to `steps`) starts: a fresh restart of a resumed run (default 0). */
  scheduleStart?: number;
  /**
   * Cap the EMA decay at (1 + step) / (10 + step) (default true): right for a run from scratch, but it holds
   * a decay of 0.999 down to 0.998 until step 9,000, so a resumed run whose EMA is already warm turns it off.
   */
  emaWarmup?: boolean;
  /** More EMA decays kept beside `emaDecay` (in `extraEmas`), to choose the decay after a run by evaluating each. */
  extraEmaDecays?: number[];
}

export interface TeacherBatch {
  /** NHWC images in the data range, [B * H * W * C]. */
  images: Float32Array;
  labels: Int32Array;
  noise: Float32Array;
  /** Integer training timesteps in [0, trainSteps). */
  timesteps: Int32Array;
}

export class TeacherTrainer {
  params: Params;
  ema: Params;
  /** One EMA per `extraEmaDecays` entry, keyed by String(decay); they start as copies of `init`. */
  extraEmas: Record<string, Params>;
  readonly adam: Adam;
  private readonly sqrtAb: Float32Array;
  private readonly sqrtOneMinusAb: Float32Array;

  constructor(
    readonly model: ModelConfig,
    readonly cfg: TeacherTrainConfig,
    init: Params,
  ) {
    this.params = init;
    this.ema = cloneParams(init);
    this.extraEmas = Object.fromEntries((cfg.extraEmaDecays ?? []).map((d) => [String(d), cloneParams(init)]));
    this.adam = new Adam(cfg.adam);
    const ab = alphasCumprod(model.schedule);
    this.sqrtAb = Float32Array.from(ab, Math.sqrt);
    this.sqrtOneMinusAb = Float32Array.from(ab, (a) => Math.sqrt(1 - a));
  }

  get step(): number {
    return this.adam.step;
  }

  /** Linear warm-up from `scheduleStart`, then cosine from the peak down to `finalLrFraction` of it at `steps`. */
  learningRate(step: number): number {
    const { warmupSteps, steps, adam } = this.cfg;
    const start = this.cfg.scheduleStart ?? 0;
    const floor = this.cfg.finalLrFraction ?? 0.1;
    const s = step - start;
    if (s < warmupSteps) return (adam.lr * (Math.max(0, s) + 1)) / warmupSteps;
    const progress = Math.min(1, (s - warmupSteps) / Math.max(1, steps - start - warmupSteps));
    return adam.lr * (floor + ((1 - floor) / 2) * (1 + Math.cos(Math.PI * progress)));
  }

  /** One optimisation step; returns the batch loss. */
  async trainStep(batch: TeacherBatch): Promise<number> {
    const { data } = this.model;
    const b = batch.labels.length;
    const shape: [number, number, number, number] = [b, data.height, data.width, data.channels];
    const names = Object.keys(this.params);
    const { loss, grads } = tf.tidy(() => {
      const x0 = tf.tensor4d(batch.images, shape);
      const eps = tf.tensor4d(batch.noise, shape);
      const ts = Array.from(batch.timesteps);
      const a = tf.tensor4d(
        ts.map((t) => this.sqrtAb[t]),
        [b, 1, 1, 1],
      );
      const s = tf.tensor4d(
        ts.map((t) => this.sqrtOneMinusAb[t]),
        [b, 1, 1, 1],
      );
      const xt = tf.add(tf.mul(a, x0), tf.mul(s, eps)) as tf.Tensor4D;
      const target = this.model.prediction === 'epsilon' ? eps : tf.sub(tf.mul(a, eps), tf.mul(s, x0));
      const t = tf.tensor1d(ts, 'float32');
      const labels = tf.tensor1d(batch.labels, 'int32');
      const f = (...ps: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
        return tf.mean(tf.squaredDifference(applyUnet(this.model.unet, p, xt, t, labels), target)) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(f)(names.map((n) => this.params[n]));
      return { loss: value, grads: Object.fromEntries(names.map((n, i) => [n, grads[i]])) };
    });
    this.params = this.adam.apply(this.params, grads, this.learningRate(this.adam.step));
    tf.dispose(grads);
    this.updateEma();
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  }

  /** The decay applied at the current step: `decay`, capped by the warm-up min(decay, (1 + step) / (10 + step)). */
  emaDecayNow(decay: number): number {
    return this.cfg.emaWarmup === false ? decay : Math.min(decay, (1 + this.step) / (10 + this.step));
  }

  private updateEma(): void {
    moveEma(this.ema, this.params, this.emaDecayNow(this.cfg.emaDecay));
    for (const [d, ema] of Object.entries(this.extraEmas)) moveEma(ema, this.params, this.emaDecayNow(Number(d)));
  }

  dispose(): void {
    tf.dispose([...Object.values(this.params), ...Object.values(this.ema)]);
    for (const ema of Object.values(this.extraEmas)) tf.dispose(Object.values(ema));
    this.adam.dispose();
  }
}

function cloneParams(p: Params): Params {
  return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.clone()]));
}

/** ema <- ema * d + params * (1 - d), tensors replaced in place. */
function moveEma(ema: Params, params: Params, d: number): void {
  for (const [k, p] of Object.entries(params)) {
    const next = tf.tidy(() => tf.add(tf.mul(ema[k], d), tf.mul(p, 1 - d)));
    ema[k].dispose();
    ema[k] = next;
  }
}
