/**
 * Adam (Kingma & Ba 2015) over a named parameter map. Functional: `apply` returns the new
 * parameters and disposes the old ones, so parameters stay plain tensors (no global tf.Variable
 * names to collide between a student, its discriminators and a teacher), and the whole state
 * (moments and step count) is a tensor map that a checkpoint can save and restore exactly.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../nn/unet';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export class Adam {
  private m: Params = {};
  private v: Params = {};
  step = 0;

  constructor(readonly options: AdamOptions) {}

  /** One update: p <- p - lr * mhat / (sqrt(vhat) + eps). Only the names in `grads` change. */
  apply(params: Params, grads: Params, lr = this.options.lr): Params {
    const { beta1, beta2, eps } = this.options;
    this.step++;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    const next: Params = { ...params };
    for (const [name, g] of Object.entries(grads)) {
      const [m, v, p] = tf.tidy(() => {
        const m = this.m[name] ? tf.add(tf.mul(this.m[name], beta1), tf.mul(g, 1 - beta1)) : tf.mul(g, 1 - beta1);
        const v = this.v[name]
          ? tf.add(tf.mul(this.v[name], beta2), tf.mul(tf.square(g), 1 - beta2))
          : tf.mul(tf.square(g), 1 - beta2);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        return [m, v, tf.sub(params[name], tf.mul(update, lr))];
      });
      this.m[name]?.dispose();
      this.v[name]?.dispose();
      params[name].dispose();
      this.m[name] = m;
      this.v[name] = v;
      next[name] = p;
    }
    return next;
  }

  /** Moments as `m.<name>` / `v.<name>` tensors (not copies: save before the next `apply`). */
  state(): Params {
    const out: Params = {};
    for (const [k, t] of Object.entries(this.m)) out[`m.${k}`] = t;
    for (const [k, t] of Object.entries(this.v)) out[`v.${k}`] = t;
    return out;
  }

  /** Restores moments saved by `state()` (tensors are kept, not copied) and the step count. */
  load(state: Params, step: number): void {
    this.dispose();
    for (const [k, t] of Object.entries(state)) {
      if (k.startsWith('m.')) this.m[k.slice(2)] = t;
      else if (k.startsWith('v.')) this.v[k.slice(2)] = t;
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...Object.values(this.m), ...Object.values(this.v)]) t.dispose();
    this.m = {};
    this.v = {};
  }
}
