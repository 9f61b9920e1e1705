/**
 * The student's loss terms (docs/method.md, "One iteration", step 5), per sample over the N*B
 * slot rows: the adversarial terms -mean D_rel(z^phi) and -mean D_abs(z^phi) through the frozen
 * teacher encoder and each discriminator's heads, and the regression distances d(z^phi, z^) and
 * d(z^phi, z~). The weights lambda and mu are applied by the caller.
 */
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../nn/network';
import type { Params } from '../nn/unet';
import { discriminatorsOn, type RapmConfig } from './config';
import { applyHeads } from './discriminator';

export interface StudentTerms {
  advRel: tf.Tensor1D;
  advAbs: tf.Tensor1D;
  regRel: tf.Tensor1D;
  regAbs: tf.Tensor1D;
}

export interface TermContext {
  /** The teacher's network: its encoder is the discriminators' backbone. */
  network: Network;
  teacher: Params;
  cfg: RapmConfig;
  headsRel: Params;
  headsAbs: Params;
}

/**
 * Per-sample terms [N*B] of `studentPoint` (z^phi) against `relativeTarget` (z^) and
 * `teacherPoint` (z~); `encoderTimes` are the times the discriminators see each row at. A
 * discriminator switched off (cfg.discriminators) is not evaluated (its term is 0).
 */
export function studentTerms(
  ctx: TermContext,
  studentPoint: tf.Tensor4D,
  relativeTarget: tf.Tensor4D,
  teacherPoint: tf.Tensor4D,
  labels: tf.Tensor1D,
  encoderTimes: Float32Array,
): StudentTerms {
  const { cfg, network } = ctx;
  const m = studentPoint.shape[0];
  const zeros = tf.zeros([m]) as tf.Tensor1D;
  let advRel = zeros;
  let advAbs = zeros;
  const on = discriminatorsOn(cfg);
  if (on.rel || on.abs) {
    const feats = network.encode(ctx.teacher, studentPoint, tf.tensor1d(encoderTimes), labels, true);
    const { groups } = network.features;
    if (on.rel) advRel = tf.neg(tf.mean(applyHeads(ctx.headsRel, feats, groups, true), 1));
    if (on.abs) advAbs = tf.neg(tf.mean(applyHeads(ctx.headsAbs, feats, groups, true), 1));
  }
  return {
    advRel,
    advAbs,
    regRel: distance(studentPoint, relativeTarget, cfg.distance),
    regAbs: distance(studentPoint, teacherPoint, cfg.distance),
  };
}

/** Per-sample distance [M]: mean squared error, or pseudo-Huber (iCT, c = 0.00054 sqrt(dim)) per pixel. */
export function distance(a: tf.Tensor4D, b: tf.Tensor4D, kind: RapmConfig['distance']): tf.Tensor1D {
  const m = a.shape[0];
  const sq = tf.sum(tf.squaredDifference(a, b).reshape([m, -1]), 1);
  const dim = a.size / m;
  if (kind === 'mse') return tf.div(sq, dim) as tf.Tensor1D;
  const c = 0.00054 * Math.sqrt(dim);
  return tf.div(tf.sub(tf.sqrt(tf.add(sq, c * c)), c), Math.sqrt(dim)) as tf.Tensor1D;
}
