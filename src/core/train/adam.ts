/**
 * Adam (Kingma & Ba 2015) over a named parameter map. Functional: `apply` returns the new
 * parameters and disposes the old ones, so parameters stay plain tensors (no global tf.Variable
 * names to collide between a student, its discriminators and a teacher), and the whole state
 * (moments and step count) is a tensor map that a checkpoint can save and restore exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_EMA, adamStepAttrs, type AdamOutput } from '../kernels/adam-ema';
import { useFused } from '../kernels/fused';
import type { Params } from '../nn/unet';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** Weights that follow the parameters as an exponential moving average. */
export interface EmaTarget {
  weights: Params;
  decay: number;
}

export class Adam {
  private m: Params = {};
  private v: Params = {};
  step = 0;

  constructor(readonly options: AdamOptions) {}

  /**
   * One update: p <- p - lr * mhat / (sqrt(vhat) + eps). Only the names in `grads` change.
   * With `ema`, its weights then move to ema * decay + p * (1 - decay) (tensors replaced in place).
   */
  apply(params: Params, grads: Params, lr = this.options.lr, ema?: EmaTarget): Params {
    this.step++;
    const next: Params = { ...params };
    const fused = useFused(ADAM_EMA);
    for (const [name, g] of Object.entries(grads)) {
      const [m, v, p, e] = fused
        ? this.fusedStep(name, params[name], g, lr, ema)
        : this.composedStep(name, params[name], g, lr, ema);
      this.m[name]?.dispose();
      this.v[name]?.dispose();
      params[name].dispose();
      this.m[name] = m;
      this.v[name] = v;
      next[name] = p;
      if (ema && e) {
        ema.weights[name].dispose();
        ema.weights[name] = e;
      }
    }
    return next;
  }

  private composedStep(name: string, param: tf.Tensor, g: tf.Tensor, lr: number, ema?: EmaTarget): tf.Tensor[] {
    const { beta1, beta2, eps } = this.options;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    return tf.tidy(() => {
      const m = this.m[name] ? tf.add(tf.mul(this.m[name], beta1), tf.mul(g, 1 - beta1)) : tf.mul(g, 1 - beta1);
      const v = this.v[name]
        ? tf.add(tf.mul(this.v[name], beta2), tf.mul(tf.square(g), 1 - beta2))
        : tf.mul(tf.square(g), 1 - beta2);
      const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
      const p = tf.sub(param, tf.mul(update, lr));
      if (!ema) return [m, v, p];
      const d = ema.decay;
      return [m, v, p, tf.add(tf.mul(ema.weights[name], d), tf.mul(p, 1 - d))];
    });
  }

  /** The fused kernel (src/core/kernels/adam-ema.ts): one dispatch per output tensor. */
  private fusedStep(name: string, param: tf.Tensor, g: tf.Tensor, lr: number, ema?: EmaTarget): tf.Tensor[] {
    return tf.tidy(() => {
      // zero moments on the first step give exactly the composed path's g * (1 - beta)
      const m = this.m[name] ?? tf.zerosLike(g);
      const v = this.v[name] ?? tf.zerosLike(g);
      const e = ema ? ema.weights[name] : param;
      const attrs = adamStepAttrs(this.options, this.step, lr, ema?.decay ?? 0);
      const run = (output: AdamOutput) =>
        tf.engine().runKernel(ADAM_EMA, { p: param, g, m, v, e }, {
          ...attrs,
          output,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const outputs: AdamOutput[] = ema ? ['m', 'v', 'p', 'ema'] : ['m', 'v', 'p'];
      return outputs.map(run);
    });
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
