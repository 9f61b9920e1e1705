import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  MNIST_CLASSIFIER,
  applyClassifier,
  classifierParamCount,
  classifierParamShapes,
  initClassifierParams,
} from './classifier';

describe('evaluator classifier', () => {
  const cfg = MNIST_CLASSIFIER;

  it('has the documented layout and stays under 1 MB as float32', () => {
    const shapes = classifierParamShapes(cfg);
    expect(shapes['conv.0.w']).toEqual([3, 3, 1, 32]);
    expect(shapes['conv.2.w']).toEqual([3, 3, 64, 64]);
    // 28 -> 14 -> 7 -> 4 after three 'same' pools.
    expect(shapes['fc.w']).toEqual([4 * 4 * 64, 128]);
    expect(shapes['out.w']).toEqual([128, 10]);
    expect(classifierParamCount(cfg) * 4).toBeLessThan(1_000_000);
  });

  it('maps [B, 28, 28, 1] to logits [B, 10] and non-negative features [B, 128] without leaking', () => {
    const params = initClassifierParams(cfg, 1);
    const before = tf.memory().numTensors;
    const x = tf.randomUniform([3, 28, 28, 1], -1, 1, 'float32', 5) as tf.Tensor4D;
    const { logits, features } = applyClassifier(cfg, params, x);
    expect(logits.shape).toEqual([3, 10]);
    expect(features.shape).toEqual([3, 128]);
    expect(features.dataSync().every((v) => v >= 0)).toBe(true);
    expect(logits.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([x, logits, features]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(params));
  });

  it('is deterministic in its seed', () => {
    const a = initClassifierParams(cfg, 7);
    const b = initClassifierParams(cfg, 7);
    expect(tf.max(tf.abs(tf.sub(a['fc.w'], b['fc.w']))).dataSync()[0]).toBe(0);
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  });

  it('rejects images of the wrong size', () => {
    const params = initClassifierParams(cfg, 1);
    const x = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    expect(() => applyClassifier(cfg, params, x)).toThrow(/expected input \[B, 28, 28, 1\]/);
    tf.dispose([x, ...Object.values(params)]);
  });
});
