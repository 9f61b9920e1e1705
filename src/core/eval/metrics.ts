/**
 * What the quality meter reads off the evaluator classifier: FID feature vectors, predicted
 * classes, and class accuracy of conditional samples.
 */
import * as tf from '@tensorflow/tfjs';
import { applyClassifier, type ClassifierConfig, type Params } from './classifier';

export interface Classified {
  /** [count * featureDim] penultimate activations, row-major. */
  features: Float32Array;
  /** [count] argmax class of each image. */
  predictions: Int32Array;
  featureDim: number;
  count: number;
}

/**
 * Runs the classifier over `count` NHWC images stored flat in `images` (values in [-1, 1]),
 * `batchSize` at a time so memory stays bounded, and gathers features and predictions on the CPU.
 * The read-back is asynchronous: tfjs-webgpu's synchronous read goes through a canvas, which in
 * Chromium on SwiftShader returns zeros and leaves the device unusable for every later read
 * ("A valid external Instance reference no longer exists"), and in Node does not exist.
 */
export async function classifyImages(
  cfg: ClassifierConfig,
  params: Params,
  images: Float32Array,
  count: number,
  batchSize = 256,
): Promise<Classified> {
  const per = cfg.imageSize * cfg.imageSize * cfg.inChannels;
  if (images.length !== count * per) {
    throw new Error(`classifyImages: expected ${count} images of ${per} values (${count * per}), got ${images.length}`);
  }
  const features = new Float32Array(count * cfg.featureDim);
  const predictions = new Int32Array(count);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const [f, pred] = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * per, (start + n) * per), [
        n,
        cfg.imageSize,
        cfg.imageSize,
        cfg.inChannels,
      ]);
      const out = applyClassifier(cfg, params, x);
      return [out.features, tf.argMax(out.logits, 1)];
    });
    try {
      const [fv, pv] = await Promise.all([f.data(), pred.data()]);
      features.set(fv, start * cfg.featureDim);
      predictions.set(pv, start);
    } finally {
      tf.dispose([f, pred]);
    }
  }
  return { features, predictions, featureDim: cfg.featureDim, count };
}

/** Fraction of samples whose predicted class is the class they were generated for. */
export function classAccuracy(predictions: Int32Array, requested: Int32Array): number {
  if (predictions.length !== requested.length || predictions.length === 0) {
    throw new Error(
      `classAccuracy: need equally many predictions and requested classes, got ${predictions.length} and ${requested.length}`,
    );
  }
  let hits = 0;
  for (let i = 0; i < predictions.length; i++) if (predictions[i] === requested[i]) hits++;
  return hits / predictions.length;
}
