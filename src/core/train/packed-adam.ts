/**
 * Adam (and optionally the EMA of the weights) over one parameter group held as ONE flat tensor
 * [p | m | v | ema?]: blocks of n elements, each tensor of the group at the same offset in every
 * block. An update is then a handful of GPU dispatches whatever the number of tensors: the
 * gradients concatenated flat (`flatten`, which the gradient norm reuses), one fused kernel
 * (src/core/kernels/adam-ema.ts) or a few composed ops over whole blocks, and one slice per
 * tensor to hand the new weights to the network. The per-tensor Adam (adam.ts) costs 3-4
 * dispatches per tensor. The arithmetic is that Adam's, element for element.
 *
 * The per-tensor forms (weights, EMA, moments as `m.<name>` / `v.<name>`) are views: slices of
 * the packed state owned here, made once per update (weights) or when first asked for (EMA,
 * moments: checkpoints and samples), and disposed at the next update. Callers must not dispose
 * them; tf.clone one to keep it longer.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_PACKED, adamStepAttrs, biasCorrections, type AdamPackedAttrs } from '../kernels/adam-ema';
import { useFused } from '../kernels/fused';
import type { Params } from '../nn/unet';
import type { AdamOptions } from './adam';

export class PackedAdam {
  step = 0;
  readonly names: string[];
  private readonly shapes: number[][];
  private readonly offsets: number[];
  /** Elements in one block (all tensors of the group). */
  readonly size: number;
  private packed: tf.Tensor1D;
  private views: { params?: Params; ema?: Params; state?: Params; segments?: Params } = {};

  /**
   * `params` (taken over: disposed here) are the group's initial weights; with `ema` the EMA
   * block starts as a copy of them and follows them at `ema.decay` (decay 0: it stays put).
   */
  constructor(
    readonly options: AdamOptions,
    params: Params,
    readonly ema?: { decay: number },
  ) {
    this.names = Object.keys(params);
    this.shapes = this.names.map((k) => params[k].shape);
    this.offsets = [];
    let offset = 0;
    for (const k of this.names) {
      this.offsets.push(offset);
      offset += params[k].size;
    }
    this.size = offset;
    this.packed = tf.tidy(() => {
      const p = this.flatten(params);
      const zeros = tf.zeros([2 * this.size]);
      return tf.concat(this.ema ? [p, zeros, p] : [p, zeros]) as tf.Tensor1D;
    });
    tf.dispose(Object.values(params));
  }

  /** The group's tensors (or gradients) in this layout, as one flat vector. */
  flatten(tensors: Params): tf.Tensor1D {
    return tf.tidy(() => {
      const missing = this.names.find((k) => !tensors[k]);
      if (missing) throw new Error(`PackedAdam: no tensor '${missing}' to flatten`);
      return tf.concat(this.names.map((k) => tensors[k].reshape([-1]))) as tf.Tensor1D;
    });
  }

  /** The weights, one tensor per name (views owned here, replaced at each update). */
  get params(): Params {
    this.views.params ??= this.unpack(0, '');
    return this.views.params;
  }

  /**
   * Runs of adjacent tensors as one flat view each: `segments[key]` lists names that follow each
   * other in the layout (as a LoRA target's A and B do). Views, as `params`; asked with the same
   * segments every time between two updates.
   */
  segments(segments: Record<string, string[]>): Params {
    this.views.segments ??= tf.tidy(() =>
      Object.fromEntries(
        Object.entries(segments).map(([key, names]) => {
          const first = this.names.indexOf(names[0]);
          const size = names.reduce((sum, k, i) => {
            if (this.names[first + i] !== k) throw new Error(`PackedAdam: '${k}' does not follow '${names[0]}'`);
            return sum + this.shapes[first + i].reduce((a, b) => a * b, 1);
          }, 0);
          return [key, tf.keep(this.packed.slice(this.offsets[first], size))];
        }),
      ),
    );
    return this.views.segments;
  }

  /** The EMA weights (views, as `params`). */
  get emaParams(): Params {
    if (!this.ema) throw new Error('PackedAdam: this group keeps no EMA');
    this.views.ema ??= this.unpack(3, '');
    return this.views.ema;
  }

  /** New tensors (the caller owns them, nothing cached here) of the weights or the EMA weights. */
  copy(which: 'params' | 'ema'): Params {
    if (which === 'ema' && !this.ema) throw new Error('PackedAdam: this group keeps no EMA');
    return this.unpack(which === 'ema' ? 3 : 0, '');
  }

  /** The whole state as one flat tensor [p | m | v | ema?] (owned here; replaced by each update). */
  get packedState(): tf.Tensor1D {
    return this.packed;
  }

  /** Bias corrections [c1, c2] of each of the next `count` steps, flat: what `update` reads on the fused path. */
  nextCorrections(count = 1): Float32Array {
    return Float32Array.from(
      { length: 2 * count },
      (_, i) => biasCorrections(this.options, this.step + 1 + (i >> 1))[i & 1],
    );
  }

  /**
   * One Adam step (and EMA step) with the group's flat gradient `g` (from `flatten`; not disposed
   * here). `corrections` ([c1, c2] of this step, from `nextCorrections`) is the fused kernel's
   * input; without it one is made here. The learning rate is the group's own (`options.lr`, for the
   * student the run's checked `studentLr`): there is no schedule.
   */
  update(g: tf.Tensor1D, corrections?: tf.Tensor1D): void {
    const decay = this.ema?.decay ?? 0;
    const attrs: AdamPackedAttrs & { c1: number; c2: number } = {
      ...adamStepAttrs(this.options, this.step + 1, this.options.lr, decay),
      emaOn: decay > 0,
    };
    let next: tf.Tensor1D;
    if (useFused(ADAM_PACKED)) {
      const h = corrections ?? tf.tensor1d(this.nextCorrections());
      next = tf
        .engine()
        .runKernel(ADAM_PACKED, { s: this.packed, g, h }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor1D;
      if (h !== corrections) h.dispose();
    } else {
      next = this.composedUpdate(g, attrs);
    }
    this.step++;
    this.replace(next);
  }

  /** `update`, returning the gradient's global L2 norm (taken from the same flat vector the update reads). */
  updateWithNorm(g: tf.Tensor1D, corrections?: tf.Tensor1D): tf.Scalar {
    const norm = tf.tidy(() => tf.sqrt(tf.sum(tf.square(g))) as tf.Scalar);
    this.update(g, corrections);
    return norm;
  }

  /**
   * Counts `steps` updates that ran outside this object (a replayed step wrote the new state into
   * the packed tensor itself) and drops the views, which show the old state.
   */
  advance(steps: number): void {
    this.step += steps;
    this.disposeViews();
  }

  /** Drops the cached views (they are made again when asked for). */
  dropViews(): void {
    this.disposeViews();
  }

  /** The fused kernel's arithmetic as tfjs ops over whole blocks (the reference path, every backend). */
  private composedUpdate(g: tf.Tensor1D, a: AdamPackedAttrs & { c1: number; c2: number }): tf.Tensor1D {
    return tf.tidy(() => {
      const n = this.size;
      const [p, m0, v0] = [0, 1, 2].map((k) => this.packed.slice(k * n, n));
      const m = tf.add(tf.mul(m0, a.beta1), tf.mul(g, 1 - a.beta1));
      const v = tf.add(tf.mul(v0, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
      const update = tf.div(tf.div(m, a.c1), tf.add(tf.sqrt(tf.div(v, a.c2)), a.eps));
      const pn = tf.sub(p, tf.mul(update, a.lr));
      if (!this.ema) return tf.concat([pn, m, v]) as tf.Tensor1D;
      const e = this.packed.slice(3 * n, n);
      const en = a.emaOn ? tf.add(tf.mul(e, a.decay), tf.mul(pn, 1 - a.decay)) : e;
      return tf.concat([pn, m, v, en]) as tf.Tensor1D;
    });
  }

  /** Replaces the weights with `params` (taken over: disposed here); moments and EMA are kept. */
  setParams(params: Params): void {
    this.setBlock(0, params);
  }

  /** Replaces the EMA weights with `params` (taken over). */
  setEma(params: Params): void {
    if (!this.ema) throw new Error('PackedAdam: this group keeps no EMA');
    this.setBlock(3, params);
  }

  /**
   * Moments as `m.<name>` / `v.<name>` tensors, the per-tensor Adam's checkpoint format (views:
   * save them before the next update). Empty before the first update, as that Adam's.
   */
  state(): Params {
    if (this.step === 0) return {};
    this.views.state ??= { ...this.unpack(1, 'm.'), ...this.unpack(2, 'v.') };
    return this.views.state;
  }

  /** Restores moments saved by `state()` (taken over; names without moments start at zero) and the step count. */
  load(state: Params, step: number): void {
    const moments = (prefix: string) =>
      Object.fromEntries(this.names.map((k, i) => [k, state[`${prefix}${k}`] ?? tf.zeros(this.shapes[i])])) as Params;
    const m = moments('m.');
    const v = moments('v.');
    this.setBlock(1, m);
    this.setBlock(2, v);
    tf.dispose(Object.values(state));
    this.step = step;
  }

  dispose(): void {
    this.disposeViews();
    this.packed.dispose();
  }

  private setBlock(block: number, tensors: Params): void {
    const next = tf.tidy(() => {
      const n = this.size;
      const blocks = this.packed.size / n;
      const parts = Array.from({ length: blocks }, (_, k) =>
        k === block ? this.flatten(tensors) : this.packed.slice(k * n, n),
      );
      return tf.concat(parts) as tf.Tensor1D;
    });
    tf.dispose(Object.values(tensors));
    this.replace(next);
  }

  private replace(next: tf.Tensor1D): void {
    this.disposeViews();
    this.packed.dispose();
    this.packed = next;
  }

  private disposeViews(): void {
    for (const views of Object.values(this.views)) tf.dispose(Object.values(views));
    this.views = {};
  }

  /** Block `block` as one tensor per name; kept, so that a caller's tidy does not take them. */
  private unpack(block: number, prefix: string): Params {
    const base = block * this.size;
    return Object.fromEntries(
      this.names.map((k, i) => {
        const size = this.shapes[i].reduce((a, b) => a * b, 1);
        const view = tf.tidy(() => this.packed.slice(base + this.offsets[i], size).reshape(this.shapes[i]));
        return [`${prefix}${k}`, tf.keep(view)];
      }),
    );
  }
}
