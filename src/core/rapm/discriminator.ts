/**
 * A discriminator head [reconstructed]: on each multi-scale feature map of the frozen teacher
 * encoder, conv3x3 -> GroupNorm -> SiLU -> conv1x1 to a one-channel logit map. The backbone is
 * shared (computed once per input); D_rel and D_abs are two independent sets of these heads.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2d } from '../nn/conv';
import { groupNorm } from '../nn/group-norm';
import type { Params } from '../nn/unet';
import { gaussian } from '../random';

const normal = (shape: number[], std: number, seed: number) =>
  tf.tensor(
    gaussian(
      seed,
      shape.reduce((a, b) => a * b, 1),
    ).map((v) => v * std),
    shape,
  );

export function initHeads(featureChannels: number[], seed: number): Params {
  const p: Params = {};
  featureChannels.forEach((c, i) => {
    p[`head.${i}.conv.w`] = normal([3, 3, c, c], 1 / Math.sqrt(9 * c), seed * 131 + i + 1);
    p[`head.${i}.conv.b`] = tf.zeros([c]);
    p[`head.${i}.norm.g`] = tf.ones([c]);
    p[`head.${i}.norm.b`] = tf.zeros([c]);
    p[`head.${i}.out.w`] = normal([1, 1, c, 1], 1 / Math.sqrt(c), seed * 131 + 64 + i + 1);
    p[`head.${i}.out.b`] = tf.zeros([1]);
  });
  return p;
}

/**
 * Per-sample logits [B, L]: every level's logit map flattened and concatenated. `frozen`: no
 * gradient will be taken with respect to `p` (the student's adversarial terms), so the layers form
 * the features' gradient only.
 */
export function applyHeads(p: Params, features: tf.Tensor4D[], groups: number, frozen = false): tf.Tensor2D {
  const b = features[0].shape[0];
  const maps = features.map((f, i) => {
    const h = conv2d(f, p[`head.${i}.conv.w`] as tf.Tensor4D, { bias: p[`head.${i}.conv.b`] as tf.Tensor1D, frozen });
    const a = groupNorm(h, p[`head.${i}.norm.g`], p[`head.${i}.norm.b`], groups, { silu: true, frozen });
    return conv2d(a, p[`head.${i}.out.w`] as tf.Tensor4D, {
      bias: p[`head.${i}.out.b`] as tf.Tensor1D,
      frozen,
    }).reshape([b, -1]);
  });
  return tf.concat(maps, 1) as tf.Tensor2D;
}

/**
 * Hinge loss of a discriminator, mean(relu(1 - D(real))) + mean(relu(1 + D(fake))), over one
 * logit map [2M, L] holding M real and M fake rows, told apart by `sign` [2M, 1] (+1 real,
 * -1 fake): both means are over M*L values, so the sum is twice the mean of relu(1 - sign * D).
 */
export function signedHingeLoss(logits: tf.Tensor2D, sign: tf.Tensor2D): tf.Scalar {
  return tf.mul(tf.mean(tf.relu(tf.sub(1, tf.mul(logits, sign)))), 2) as tf.Scalar;
}

/**
 * Paired hinge loss [our design, issue #14]: row i of the real block and row i of the fake block
 * come from the same trajectory and slot (the same start, class and time), so the head is scored
 * on the difference of their logits at each location: 2 * mean(relu(1 - (D(real_i) - D(fake_i)))).
 * What the two share (the digit, the noise) cancels, and the head has only the student's error
 * left to find (the pairing of relativistic GANs, RpGAN). Scaled so that equal logits give 2, the
 * chance level of the unpaired hinge. `realFirst`: the real block is the first M of the 2M rows.
 */
export function pairedHingeLoss(logits: tf.Tensor2D, realFirst: boolean): tf.Scalar {
  return tf.tidy(() => {
    const m = logits.shape[0] / 2;
    const first = logits.slice([0, 0], [m, -1]);
    const second = logits.slice([m, 0], [m, -1]);
    const margin = realFirst ? tf.sub(first, second) : tf.sub(second, first);
    return tf.mul(tf.mean(tf.relu(tf.sub(1, margin))), 2) as tf.Scalar;
  });
}
