/** The evaluator classifier on real MNIST digits: it learns, and the shipped weights meet the 98% bar. */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { MNIST_CLASSIFIER, initClassifierParams } from '../core/eval/classifier';
import { ClassifierTrainer, shiftedBatch, shuffledOrder } from '../core/eval/classifier-trainer';
import { decodeEvaluator } from '../core/eval/evaluator-bundle';
import { classAccuracy, classifyImages } from '../core/eval/metrics';
import { mulberry32 } from '../core/random';
import { loadMnist } from './mnist';

const SHIPPED = 'public/evaluator.safetensors';

describe('evaluator on MNIST', () => {
  it('a short training run lowers the loss and does not leak tensors', async () => {
    const cfg = { ...MNIST_CLASSIFIER, channels: [8, 16], featureDim: 32 };
    const train = loadMnist('train');
    const random = mulberry32(1);
    // A fixed set of 320 digits, five passes: the loss must fall well below chance (ln 10 = 2.30).
    const subset = shuffledOrder(train.count, random).subarray(0, 320);
    const trainer = new ClassifierTrainer(cfg, initClassifierParams(cfg, 1), 0.003);
    const losses: number[] = [];
    let tensors = 0;
    for (let epoch = 0; epoch < 5; epoch++) {
      for (let b = 0; b < subset.length; b += 32) {
        const batch = shiftedBatch(train, subset.subarray(b, b + 32), cfg.imageSize, 0, random);
        losses.push(await trainer.step(batch.images, batch.labels));
      }
      if (epoch === 1) tensors = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(0, 5))).toBeGreaterThan(1.5);
    expect(mean(losses.slice(-10))).toBeLessThan(0.5 * mean(losses.slice(0, 5)));
    trainer.dispose();
  });

  it.runIf(existsSync(SHIPPED))('the shipped evaluator classifies >= 98% of a test slice correctly', async () => {
    const { config, params, provenance } = decodeEvaluator(readFileSync(SHIPPED));
    const test = loadMnist('test');
    // Every 4th test digit: 501 images across all classes, a quick but representative check.
    const pick = Array.from({ length: Math.ceil(test.count / 4) }, (_, i) => 4 * i);
    const px = config.imageSize * config.imageSize;
    const images = new Float32Array(pick.length * px);
    pick.forEach((k, i) => images.set(test.images.subarray(k * px, (k + 1) * px), i * px));
    const labels = Int32Array.from(pick, (k) => test.labels[k]);
    const { predictions } = await classifyImages(config, params, images, pick.length);
    expect(classAccuracy(predictions, labels)).toBeGreaterThanOrEqual(0.98);
    expect(Number(provenance.testAccuracy)).toBeGreaterThanOrEqual(0.98);
    tf.dispose(Object.values(params));
  });
});
