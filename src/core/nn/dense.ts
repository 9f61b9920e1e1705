/**
 * A linear layer x W + b as one fused matMul kernel (the bias add rides in its epilogue).
 *
 * Shapes: x [M, in], w [in, out], b [out].
 */
import * as tf from '@tensorflow/tfjs';
import { useFused } from '../kernels/fused';
import { ROW_SUM, sumToChannels } from '../kernels/row-sum';

const forward = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) =>
  tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;

/** dx = dy W^T, the one gradient a frozen layer needs. */
const inputGrad = (dy: tf.Tensor, w: tf.Tensor2D) => tf.matMul(dy as tf.Tensor2D, w, false, true);

/**
 * With the row-sum kernel (webgpu): db as one dispatch, where tf.fused.matMul's own gradient sums
 * over a non-innermost axis, which tfjs's webgpu backend runs as a transpose and a reduction.
 */
const trainable = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: forward(x, w, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [inputGrad(dy, ws), tf.matMul(xs, dy as tf.Tensor2D, true, false), sumToChannels(dy)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** With the bias fixed (closed over, a LoRA student's teacher bias): dx and dW only. */
function fixedBias(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, weight, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([input, weight]);
    return {
      value: forward(input, weight, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [inputGrad(dy, ws), tf.matMul(xs, dy as tf.Tensor2D, true, false)];
      },
    };
  }) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;
  return f(x, w);
}

/**
 * `frozen`: W and b take no gradient. tf.fused.matMul's gradient (a customGrad) computes dW and
 * db eagerly whether or not anything needs them; here they are closed over, so only dx is formed.
 * `frozenBias`: b alone takes none (dx and dW are formed).
 */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, frozen = false, frozenBias = false): tf.Tensor2D {
  if (frozenBias && !frozen) return fixedBias(x, w, b);
  if (!frozen) return useFused(ROW_SUM) ? trainable(x, w, b) : forward(x, w, b);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    // W is saved, not only closed over: it may be an intermediate of the forward pass (diffusers'
    // attention concatenates to_q, to_k, to_v), which the forward's scope disposes before backprop
    save([w]);
    return {
      value: forward(input, w, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [inputGrad(dy, saved[0] as tf.Tensor2D)],
    };
  }) as (x: tf.Tensor2D) => tf.Tensor2D;
  return f(x);
}
