/**
 * Times one training-shaped step on the current tfjs backend: a UNet forward and backward pass
 * at the run's batch size, with the built-in teacher's architecture and fresh random weights.
 * The first step pays for kernel compilation and buffer set-up and is not counted.
 */
import * as tf from '@tensorflow/tfjs';
import { MNIST_TEACHER_CONFIG } from '../core/mnist-teacher-config';
import { applyUnet, initUnetParams, type UNetConfig } from '../core/nn/unet';

/** What calibration times: the built-in teacher's architecture (its weights are not needed). */
export const CALIBRATION_MODEL = MNIST_TEACHER_CONFIG;

/** One forward and backward pass; resolves once the device has finished it. */
async function step(cfg: UNetConfig, params: tf.NamedTensorMap, batch: number, seed: number): Promise<void> {
  const names = Object.keys(params);
  const total = tf.tidy(() => {
    const x = tf.randomNormal([batch, cfg.imageSize, cfg.imageSize, cfg.inChannels], 0, 1, 'float32', seed);
    const t = tf.fill([batch], 500);
    const labels = tf.fill([batch], cfg.numClasses, 'int32');
    const grads = tf.grads((...ws: tf.Tensor[]) => {
      const p = Object.fromEntries(names.map((n, i) => [n, ws[i]]));
      return tf.mean(tf.square(applyUnet(cfg, p, x as tf.Tensor4D, t as tf.Tensor1D, labels as tf.Tensor1D)));
    })(names.map((n) => params[n]));
    // Reading one number that depends on every gradient waits for the whole pass, as the
    // optimiser, which touches every gradient, would.
    return tf.addN(grads.map((g) => tf.sum(g)));
  });
  try {
    await total.data();
  } finally {
    total.dispose();
  }
}

/** Milliseconds of one forward+backward at `batch`, after one untimed warm-up step. */
export async function calibrate(batch: number): Promise<number> {
  const cfg = CALIBRATION_MODEL.unet;
  const params = initUnetParams(cfg, 1);
  try {
    await step(cfg, params, batch, 0);
    const start = performance.now();
    await step(cfg, params, batch, 1);
    return performance.now() - start;
  } finally {
    tf.dispose(Object.values(params));
  }
}
