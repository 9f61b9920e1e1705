/**
 * Classifier-free guidance (Ho & Salimans 2022): out = uncond + w (cond - uncond), on the raw model
 * output (eps or v, both linear in the guidance). The unconditional branch is the same network with the
 * null class index `numClasses`; both branches run as ONE batched call on [x; x] with [labels; null].
 */
import * as tf from '@tensorflow/tfjs';

/** A model's raw output at (x, t) for class labels (int32; `numClasses` = null class). */
export type Denoiser = (x: tf.Tensor4D, t: number, labels: tf.Tensor1D) => tf.Tensor4D;

/** Timesteps [lo, hi] (inclusive) at which guidance applies; elsewhere the conditional model runs alone. */
export type GuidanceInterval = readonly [number, number];

/**
 * The denoiser with guidance scale w; w = 1 is the conditional model alone, so it costs one branch.
 * With an interval (Kynkaanniemi et al. 2024, "Applying guidance in a limited interval"), steps at t
 * outside it are unguided and cost one branch too.
 */
export function guided(denoiser: Denoiser, numClasses: number, scale: number, interval?: GuidanceInterval): Denoiser {
  if (scale === 1) return denoiser;
  return (x, t, labels) =>
    tf.tidy(() => {
      if (interval && (t < interval[0] || t > interval[1])) return denoiser(x, t, labels);
      const b = x.shape[0];
      const both = denoiser(
        tf.concat([x, x]),
        t,
        tf.concat([tf.cast(labels, 'int32'), tf.fill([b], numClasses, 'int32')]),
      );
      const [cond, uncond] = tf.split(both, [b, b]);
      return tf.add(uncond, tf.mul(tf.sub(cond, uncond), scale)) as tf.Tensor4D;
    });
}
