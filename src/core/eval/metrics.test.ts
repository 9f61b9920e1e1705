import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { MNIST_CLASSIFIER, applyClassifier, initClassifierParams } from './classifier';
import { classAccuracy, classifyImages } from './metrics';

describe('metrics', () => {
  it('class accuracy is the fraction of samples classified as requested', () => {
    expect(classAccuracy(Int32Array.from([1, 2, 3, 4]), Int32Array.from([1, 2, 0, 4]))).toBe(0.75);
    expect(() => classAccuracy(Int32Array.from([1]), Int32Array.from([1, 2]))).toThrow(/equally many/);
  });

  it('batched features and predictions equal one whole-set forward pass, without leaking tensors', async () => {
    const cfg = MNIST_CLASSIFIER;
    const params = initClassifierParams(cfg, 2);
    const count = 5;
    const images = Float32Array.from({ length: count * 28 * 28 }, (_, i) => Math.sin(i * 0.37));
    const before = tf.memory().numTensors;
    const got = await classifyImages(cfg, params, images, count, 2);
    expect(tf.memory().numTensors).toBe(before);
    const ref = tf.tidy(() => {
      const out = applyClassifier(cfg, params, tf.tensor4d(images, [count, 28, 28, 1]));
      return { features: out.features.dataSync(), predictions: tf.argMax(out.logits, 1).dataSync() };
    });
    expect(Array.from(got.predictions)).toEqual(Array.from(ref.predictions));
    for (let i = 0; i < ref.features.length; i++) expect(got.features[i]).toBeCloseTo(ref.features[i], 4);
    tf.dispose(Object.values(params));
  });
});
