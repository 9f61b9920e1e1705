/**
 * GroupNorm (NHWC) with an explicit gradient.
 *
 * Why: the composed version (`tf.moments` over a 5-D view, then sub/div/mul/add) makes tfjs's
 * autodiff emit dozens of kernels per norm, most of them rank-5 broadcasts, which tfjs-wasm runs
 * about 20x slower than same-shape elementwise ops (docs/benchmarks.md). Here every full-size op
 * is rank 3 ([B, H*W, C] against per-(sample, channel) [B, 1, C] coefficients) and the backward
 * pass is the closed form:
 *   dx = rstd * (g - mean_group(g) - xhat * mean_group(g * xhat)),  g = dy * gamma,
 * two reductions and five elementwise ops. Same arithmetic as before: two-pass mean and biased
 * variance per (sample, group), eps (1e-5 unless given) inside the square root.
 */
import * as tf from '@tensorflow/tfjs';
import { useFused } from '../kernels/fused';
import { GROUP_NORM, fusedGroupNorm } from '../kernels/group-norm';

const EPS = 1e-5;

export const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));

/** [B, C] per-channel sums -> [B, 1, C] holding the mean of each channel's group. */
function groupMean(perChannel: tf.Tensor2D, groups: number, count: number): tf.Tensor3D {
  const [b, c] = perChannel.shape;
  const perGroup = tf.sum(perChannel.reshape([b, groups, c / groups]), 2, true);
  return tf.tile(tf.div(perGroup, count), [1, 1, c / groups]).reshape([b, 1, c]);
}

/** The reference path on every backend; g is the group count, already capped at the channels. */
function composedGroupNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, g: number, eps: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const count = h * w * (c / g);
  const norm = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xin, gam, bet, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const x3 = xin.reshape([b, h * w, c]);
    const centred = tf.sub(x3, groupMean(tf.sum(x3, 1), g, count));
    const variance = groupMean(tf.sum(tf.square(centred), 1), g, count);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(centred, rstd);
    save([xhat, rstd, gam]);
    return {
      value: tf.add(tf.mul(xhat, gam), bet).reshape([b, h, w, c]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D];
        const dy3 = dy.reshape([b, h * w, c]);
        const dyByChannel = tf.sum(dy3, 1) as tf.Tensor2D;
        const dyXhatByChannel = tf.sum(tf.mul(dy3, xh), 1) as tf.Tensor2D;
        const meanG = groupMean(tf.mul(dyByChannel, gm), g, count);
        const meanGXhat = groupMean(tf.mul(dyXhatByChannel, gm), g, count);
        const dx = tf.sub(tf.sub(tf.mul(dy3, tf.mul(gm, rs)), tf.mul(xh, tf.mul(meanGXhat, rs))), tf.mul(meanG, rs));
        return [dx.reshape([b, h, w, c]), tf.sum(dyXhatByChannel, 0), tf.sum(dyByChannel, 0)];
      },
    };
  });
  return norm(x, gamma, beta) as tf.Tensor4D;
}

export interface GroupNormOptions {
  /** Apply SiLU to the result. */
  silu?: boolean;
  /** gamma and beta take no gradient (a frozen teacher): the fused kernel then skips their gradients. */
  frozen?: boolean;
  /** [B, C], added to x (broadcast over H and W) before the norm: inside the fused kernel. */
  shift?: tf.Tensor2D;
  /** Added to the variance inside the square root; default 1e-5 (PyTorch's and this studio's UNet). */
  eps?: number;
}

/**
 * GroupNorm (of x + shift) + affine (+ SiLU): one fused kernel each way where the backend registers it
 * (webgpu, src/core/kernels/group-norm.ts: same arithmetic), the function above elsewhere.
 */
export function groupNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  options: GroupNormOptions = {},
): tf.Tensor4D {
  const { silu: withSilu = false, frozen = false, shift, eps = EPS } = options;
  const [b, , , c] = x.shape;
  const g = Math.min(groups, c);
  if (useFused(GROUP_NORM)) {
    return fusedGroupNorm(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, g, withSilu, frozen, eps, shift);
  }
  const input = shift ? (tf.add(x, shift.reshape([b, 1, 1, c])) as tf.Tensor4D) : x;
  const y = composedGroupNorm(input, gamma, beta, g, eps);
  return withSilu ? (silu(y) as tf.Tensor4D) : y;
}
