/**
 * The UNet's conditioning: the sinusoidal timestep embedding through a two-layer SiLU MLP, plus
 * a learned class embedding (row `numClasses` of the table is the null class used for
 * classifier-free guidance), passed through SiLU once for every res block's projection.
 * Two fused kernels each way where the backend registers them (webgpu,
 * src/core/kernels/embedding.ts: same arithmetic), tfjs's composed ops elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { EMBEDDING, fusedConditioning, type EmbeddingWeights } from '../kernels/embedding';
import { useFused } from '../kernels/fused';
import { dense } from './dense';
import { silu } from './group-norm';

/** Frequencies of the sinusoidal embedding per dimension, computed once. */
const frequencyCache = new Map<number, Float32Array>();

function frequencies(half: number): Float32Array {
  let f = frequencyCache.get(half);
  if (!f) {
    f = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
    frequencyCache.set(half, f);
  }
  return f;
}

/** Sinusoidal embedding of (float) timesteps, as in DDPM / diffusers (cos first, max period 10000). */
export function timestepEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = dim / 2;
  const args = tf.mul(t.reshape([-1, 1]), tf.tensor2d(frequencies(half), [1, half]));
  return tf.concat([tf.cos(args), tf.sin(args)], 1) as tf.Tensor2D;
}

/**
 * silu(lin2(silu(lin1(sinusoid(t)))) + table[labels]) for timesteps t [B] and labels [B];
 * w.w1 is [sinusoid dim, E]. `frozen`: the weights take no gradient (a frozen teacher).
 */
export function conditioning(t: tf.Tensor1D, labels: tf.Tensor1D, w: EmbeddingWeights, frozen: boolean): tf.Tensor2D {
  return embedConditioning(timestepEmbedding(t, w.w1.shape[0]), labels, w, frozen);
}

/** The same from a sinusoidal embedding e [B, S] computed elsewhere (diffusers' conventions, diffusers-unet.ts). */
export function embedConditioning(
  e: tf.Tensor2D,
  labels: tf.Tensor1D,
  w: EmbeddingWeights,
  frozen: boolean,
): tf.Tensor2D {
  if (useFused(EMBEDDING)) return fusedConditioning(e, labels, w, frozen);
  const temb = dense(silu(dense(e, w.w1, w.b1, frozen)) as tf.Tensor2D, w.w2, w.b2, frozen);
  // one-hot x table instead of gather: gather's gradient needs UnsortedSegmentSum, missing on wasm
  const cemb = tf.matMul(tf.oneHot(tf.cast(labels, 'int32'), w.table.shape[0]).toFloat(), w.table);
  return silu(tf.add(temb, cemb)) as tf.Tensor2D;
}
