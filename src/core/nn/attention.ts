/**
 * Single-head self-attention over the H*W positions with its output projection and residual:
 *   y = x + softmax(q k^T / sqrt(C)) v wp + bp,  [q k v] = h wqkv + bqkv
 * where h is the (normalized) input. The attention core and projection are one fused kernel each
 * way where the backend registers it (webgpu, src/core/kernels/attention.ts: same arithmetic) and
 * the shapes fit its shared memory; tfjs's composed ops elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION, attentionFits, fusedAttention } from '../kernels/attention';
import { useFused } from '../kernels/fused';
import { dense } from './dense';

export interface AttentionWeights {
  qkvW: tf.Tensor2D;
  qkvB: tf.Tensor1D;
  projW: tf.Tensor2D;
  projB: tf.Tensor1D;
}

/** The reference path: split, two batched matmuls, scale, softmax, projection, residual add. */
function composedAttention(x: tf.Tensor4D, qkv: tf.Tensor2D, w: AttentionWeights, frozen: boolean): tf.Tensor4D {
  const [b, hh, ww, c] = x.shape;
  const [q, k, v] = tf.split(qkv.reshape([b, hh * ww, 3 * c]), 3, 2) as tf.Tensor3D[];
  const weights = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(c)));
  const out = dense(tf.matMul(weights, v).reshape([b * hh * ww, c]), w.projW, w.projB, frozen);
  return tf.add(x, out.reshape([b, hh, ww, c]));
}

/**
 * x + attention(h) projected. `frozen`: the weights take no gradient (a frozen teacher), so the
 * backward pass forms the input gradients only.
 */
export function selfAttention(x: tf.Tensor4D, h: tf.Tensor4D, w: AttentionWeights, frozen: boolean): tf.Tensor4D {
  const [b, hh, ww, c] = x.shape;
  const qkv = dense(h.reshape([b * hh * ww, c]), w.qkvW, w.qkvB, frozen);
  if (useFused(ATTENTION) && attentionFits(hh * ww, c)) return fusedAttention(x, qkv, w.projW, w.projB, frozen);
  return composedAttention(x, qkv, w, frozen);
}
