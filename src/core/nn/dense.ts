/**
 * A linear layer x W + b as one fused matMul kernel (the bias add rides in its epilogue).
 *
 * Shapes: x [M, in], w [in, out], b [out].
 */
import * as tf from '@tensorflow/tfjs';

/**
 * `frozen`: W and b take no gradient. tf.fused.matMul's gradient (a customGrad) computes dW and
 * db eagerly whether or not anything needs them; here they are closed over, so only dx is formed.
 */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, frozen = false): tf.Tensor2D {
  if (!frozen) return tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input] = args as [tf.Tensor2D];
    return {
      value: tf.fused.matMul({ a: input, b: w, bias: b }),
      gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, w, false, true)],
    };
  }) as (x: tf.Tensor2D) => tf.Tensor2D;
  return f(x);
}
