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
  /** Linear warm-up of the learning rate over this many steps, then cosine decay to 10%. */
  warmupSteps: number;
  labelDropout: number;
  emaDecay: number;
  seed: number;
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
  readonly adam: Adam;
  private readonly sqrtAb: Float32Array;
  private readonly sqrtOneMinusAb: Float32Array;

  constructor(
    readonly model: ModelConfig,
    readonly cfg: TeacherTrainConfig,
    init: Params,
  ) {
    this.params = init;
    this.ema = Object.fromEntries(Object.entries(init).map(([k, t]) => [k, t.clone()]));
    this.adam = new Adam(cfg.adam);
    const ab = alphasCumprod(model.schedule);
    this.sqrtAb = Float32Array.from(ab, Math.sqrt);
    this.sqrtOneMinusAb = Float32Array.from(ab, (a) => Math.sqrt(1 - a));
  }

  get step(): number {
    return this.adam.step;
  }

  learningRate(step: number): number {
    const { warmupSteps, steps, adam } = this.cfg;
    if (step < warmupSteps) return (adam.lr * (step + 1)) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, steps - warmupSteps));
    return adam.lr * (0.1 + 0.45 * (1 + Math.cos(Math.PI * progress)));
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

  /** EMA with the usual warm-up: decay = min(emaDecay, (1 + step) / (10 + step)). */
  private updateEma(): void {
    const d = Math.min(this.cfg.emaDecay, (1 + this.step) / (10 + this.step));
    for (const [k, p] of Object.entries(this.params)) {
      const next = tf.tidy(() => tf.add(tf.mul(this.ema[k], d), tf.mul(p, 1 - d)));
      this.ema[k].dispose();
      this.ema[k] = next;
    }
  }

  dispose(): void {
    tf.dispose([...Object.values(this.params), ...Object.values(this.ema)]);
    this.adam.dispose();
  }
}
