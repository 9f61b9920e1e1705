/**
 * A stride-1 'same' convolution with an explicit gradient.
 *
 * Why: tfjs's wasm backend has no Conv2DBackpropFilter kernel, so `tf.grad` through
 * `tf.conv2d` throws there. There both gradients are written as ordinary forward
 * convolutions, the fastest formulations measured on wasm (docs/benchmarks.md); backends with
 * tfjs's backprop kernels (webgpu, webgl, cpu) use those, one dispatch each.
 *
 * Shapes (NHWC, as tfjs): x [B, H, W, Cin], w [k, k, Cin, Cout] with k odd.
 */
import * as tf from '@tensorflow/tfjs';
import { sumToChannels } from '../kernels/row-sum';

const same = (x: tf.Tensor4D, w: tf.Tensor4D, b?: tf.Tensor1D) =>
  tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias: b });

const biasGrad = (dy: tf.Tensor) => sumToChannels(dy);

/** Convolution plus bias (one fused kernel forward), with gradients for x, w and b. */
const trainableConv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: same(x, w, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const d = dy as tf.Tensor4D;
      return [inputGrad(d, ws), filterGrad(xs, d, ws.shape[0]), biasGrad(d)];
    },
  };
}) as (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D;

const trainableConvNoBias = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: same(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      return [inputGrad(dy as tf.Tensor4D, ws), filterGrad(xs, dy as tf.Tensor4D, ws.shape[0])];
    },
  };
}) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/** Convolution plus a fixed bias (closed over): gradients for x and w only. */
function convFixedBias(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, ww, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xx, ww]);
    return {
      value: same(xx, ww, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [inputGrad(dy as tf.Tensor4D, ws), filterGrad(xs, dy as tf.Tensor4D, ws.shape[0])];
      },
    };
  }) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
  return f(x, w);
}

/**
 * The same with the weights held fixed: they are closed over rather than passed in, so the
 * backward pass computes dx only. customGrad computes every input's gradient eagerly, which
 * for a frozen teacher's filters would be a wasted convolution (and five more kernels) per layer.
 */
function frozenConv(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | undefined): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input] = args as [tf.Tensor4D];
    return {
      value: same(input, w, b),
      gradFunc: (dy: tf.Tensor) => [inputGrad(dy as tf.Tensor4D, w)],
    };
  }) as (x: tf.Tensor4D) => tf.Tensor4D;
  return f(x);
}

/**
 * Whether the active backend has tfjs's own backprop kernels (webgpu, webgl, cpu; not wasm):
 * one kernel each for dx and dW, where the formulations below take 3 and 5.
 */
const nativeBackprop = () => tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;

/** dx: correlate dy with the kernel flipped in space and transposed to [k, k, Cout, Cin]. */
function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (nativeBackprop()) {
    return tf.conv2dTranspose(dy, w, [dy.shape[0], dy.shape[1], dy.shape[2], w.shape[2]], 1, 'same');
  }
  return tf.tidy(() => {
    const flipped = tf.reverse(w, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(dy, flipped, 1, 'same');
  });
}

/**
 * dW as one 'valid' convolution with the batch axis as channels: x padded and transposed to
 * [Cin, H+2p, W+2p, B] is convolved with dy transposed to [H, W, B, Cout], which gives
 * [Cin, k, k, Cout], transposed to the kernel layout [k, k, Cin, Cout].
 */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  if (nativeBackprop()) {
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [k, k, x.shape[3], dy.shape[3]] };
    return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const p = (k - 1) / 2;
    const xt = tf
      .pad(x, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ])
      .transpose([3, 1, 2, 0]) as tf.Tensor4D;
    const dyt = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D;
    return tf.conv2d(xt, dyt, 1, 'valid').transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}

export interface ConvOptions {
  /** Added per output channel inside the convolution's kernel. */
  bias?: tf.Tensor1D;
  /** The weights take no gradient (a frozen teacher): the backward pass computes dx only. */
  frozen?: boolean;
  /** The bias alone takes no gradient (a LoRA student's teacher bias): dx and dW only. */
  frozenBias?: boolean;
}

/** Stride-1 'same' convolution (odd square kernel), optionally with bias, that trains on every tfjs backend. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, options: ConvOptions = {}): tf.Tensor4D {
  if (w.shape[0] % 2 !== 1 || w.shape[0] !== w.shape[1]) {
    throw new Error(`conv2d: kernel must be square and odd, got ${w.shape[0]}x${w.shape[1]}`);
  }
  const { bias, frozen = false, frozenBias = false } = options;
  if (frozen) return frozenConv(x, w, bias);
  if (bias && frozenBias) return convFixedBias(x, w, bias);
  if (bias) return trainableConv(x, w, bias);
  return trainableConvNoBias(x, w);
}

/** Floating-point operations of one such convolution (multiply and add counted as two). */
export function conv2dFlops(batch: number, h: number, w: number, k: number, cin: number, cout: number): number {
  return 2 * batch * h * w * k * k * cin * cout;
}
