/**
 * Both discriminators' updates (docs/method.md, "One iteration", step 6) on ONE frozen
 * teacher-encoder pass over [relative real z^; fake detach(z^phi); absolute real z~]: each
 * discriminator's real and fake inputs are two adjacent blocks of rows, so its heads run once over
 * both, and the hinge loss and both accuracies come from that one logit map. A discriminator switched
 * off (cfg.discriminators) is neither evaluated nor trained.
 */
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../nn/network';
import type { Params } from '../nn/unet';
import type { PackedAdam } from '../train/packed-adam';
import { discriminatorsOn, type RapmConfig } from './config';
import { applyHeads, pairedHingeLoss, signedHingeLoss } from './discriminator';
import type { FeatureReplay } from './feature-replay';

export interface DiscriminatorContext {
  /** The teacher's network: its encoder is the discriminators' backbone. */
  network: Network;
  teacher: Params;
  cfg: RapmConfig;
  adamRel: PackedAdam;
  adamAbs: PackedAdam;
  /** Past encoder features the heads also train on (cfg.discReplay), and the iteration that picks them. */
  replay: FeatureReplay;
  iteration: number;
}

/**
 * One discriminator's update, measured: [loss], [accuracy on its first block, on its second],
 * [gradient norm] (at the first of the discSteps updates), and which block is the real one.
 */
export interface DiscriminatorUpdate {
  values: tf.Tensor1D[];
  realFirst: boolean;
}

/**
 * Updates both discriminators from the student's points `fake` (z^phi, a value) and the real
 * points of each; `corrections` are each group's Adam bias corrections, one pair per discSteps.
 */
export function updateDiscriminators(
  ctx: DiscriminatorContext,
  fake: tf.Tensor4D,
  relReal: tf.Tensor4D,
  absReal: tf.Tensor4D,
  labels: tf.Tensor1D,
  encT: Float32Array,
  corrections: { rel: tf.Tensor; abs: tf.Tensor },
): { rel: DiscriminatorUpdate; abs: DiscriminatorUpdate } {
  const m = fake.shape[0];
  const { groups } = ctx.network.features;
  const feats = tf.tidy(() =>
    ctx.network.encode(
      ctx.teacher,
      tf.concat([relReal, fake, absReal]) as tf.Tensor4D,
      tf.tensor1d(Float32Array.from([...encT, ...encT, ...encT])),
      labels,
    ),
  );
  // with a replay, each head also trains on one earlier iteration's rows (the same blocks, same signs)
  const past = ctx.replay.pick(ctx.iteration);
  const update = (adam: PackedAdam, corrections: tf.Tensor, firstBlock: number, realFirst: boolean, on: boolean) => {
    if (!on) return { values: [tf.tensor1d([0]), tf.tensor1d([NaN, NaN]), tf.tensor1d([0])], realFirst };
    const block = (fs: tf.Tensor4D[]) => fs.map((f) => f.slice([firstBlock * m], [2 * m]) as tf.Tensor4D);
    const rows = tf.tidy(() => {
      const now = block(feats);
      if (!past) return now;
      const then = block(past);
      return now.map((f, i) => tf.concat([f, then[i]]) as tf.Tensor4D);
    });
    const copies = past ? 2 : 1;
    const paired = ctx.cfg.discLoss === 'paired';
    // +1 on the real rows, -1 on the fake ones
    const sign = tf.tensor2d(
      Float32Array.from({ length: 2 * m * copies }, (_, r) => (r % (2 * m) < m === realFirst ? 1 : -1)),
      [2 * m * copies, 1],
    );
    const names = adam.names;
    let values: tf.Tensor1D[] = [];
    for (let k = 0; k < ctx.cfg.discSteps; k++) {
      const current = adam.params;
      let logits: tf.Tensor2D | null = null;
      const r = tf.tidy(() => {
        const f = (...ws: tf.Tensor[]) => {
          const p = Object.fromEntries(names.map((n, i) => [n, ws[i]]));
          const d = applyHeads(p, rows, groups);
          logits = tf.keep(d);
          if (!paired) return signedHingeLoss(d, sign);
          // the replayed rows form their own pairs: each 2M-row block is scored alone
          const losses = Array.from({ length: copies }, (_, k) =>
            pairedHingeLoss(d.slice([2 * m * k, 0], [2 * m, -1]), realFirst),
          );
          return (copies === 1 ? losses[0] : tf.div(tf.addN(losses), copies)) as tf.Scalar;
        };
        const { value, grads } = tf.valueAndGrads(f)(names.map((n) => current[n]));
        // a row counts as right when its mean logit has its block's sign (> 0 real, < 0 fake); paired,
        // a pair counts as right when its real row's mean logit is the larger (both numbers that share).
        // The accuracies are the current iteration's rows only.
        const mean = tf.mean(logits!, 1, true).slice([0, 0], [2 * m, 1]);
        let accuracy: tf.Tensor1D;
        if (paired) {
          const a = mean.slice([0, 0], [m, 1]);
          const b = mean.slice([m, 0], [m, 1]);
          const share = tf.mean(tf.cast(tf.greater(realFirst ? tf.sub(a, b) : tf.sub(b, a), 0), 'float32'));
          accuracy = tf.stack([share, share]) as tf.Tensor1D;
        } else {
          const right = tf.greater(tf.mul(mean, sign.slice([0, 0], [2 * m, 1])), 0);
          accuracy = tf.mean(tf.cast(right, 'float32').reshape([2, m]), 1) as tf.Tensor1D;
        }
        return { value: value.reshape([1]) as tf.Tensor1D, grads, accuracy };
      });
      tf.dispose(logits!);
      const h = ctx.cfg.discSteps === 1 ? corrections : corrections.slice(2 * k, 2);
      const flat = adam.flatten(Object.fromEntries(names.map((n, i) => [n, r.grads[i]])));
      const norm = adam.updateWithNorm(flat, h as tf.Tensor1D);
      flat.dispose();
      if (h !== corrections) h.dispose();
      tf.dispose(r.grads);
      const step = [r.value, r.accuracy, norm.reshape([1]) as tf.Tensor1D];
      norm.dispose();
      if (k === 0) values = step;
      else tf.dispose(step);
    }
    tf.dispose([...rows, sign]);
    return { values, realFirst };
  };
  const on = discriminatorsOn(ctx.cfg);
  const rel = update(ctx.adamRel, corrections.rel, 0, true, on.rel);
  const abs = update(ctx.adamAbs, corrections.abs, 1, false, on.abs);
  ctx.replay.push(feats); // kept for later iterations, or disposed when the replay is off
  return { rel, abs };
}
