import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { pairedHingeLoss, signedHingeLoss } from './discriminator';

describe('head losses', () => {
  it('both give 2 at chance (equal logits) and 0 when every real logit clears its fake by the margin', () => {
    const equal = tf.tensor2d([0.3, -0.2, 0.3, -0.2], [2, 2]);
    expect(pairedHingeLoss(equal, true).dataSync()[0]).toBeCloseTo(2, 6);
    expect(signedHingeLoss(tf.zeros([2, 2]), tf.tensor2d([1, -1], [2, 1])).dataSync()[0]).toBeCloseTo(2, 6);
    // rows [real; fake]: real - fake = 1.5 and 1 at both locations
    const apart = tf.tensor2d([1, 0.5, -0.5, -0.5], [2, 2]);
    expect(pairedHingeLoss(apart, true).dataSync()[0]).toBeCloseTo(0, 6);
    // the same rows read with the fake block first: margins -1.5, -1 -> 2 * mean(2.5, 2) = 4.5
    expect(pairedHingeLoss(apart, false).dataSync()[0]).toBeCloseTo(4.5, 6);
  });

  it('paired: a shift shared by both rows of a pair does not change the loss', () => {
    const logits = tf.tensor2d([0.2, -0.1, 0.4, 0.1, -0.3, 0.0, 0.5, 0.2], [4, 2]);
    const shift = tf.tensor2d([5, 5, -3, -3, 5, 5, -3, -3], [4, 2]); // rows 0/2 and 1/3 are pairs
    const a = pairedHingeLoss(logits, true).dataSync()[0];
    const b = pairedHingeLoss(tf.add(logits, shift) as tf.Tensor2D, true).dataSync()[0];
    expect(b).toBeCloseTo(a, 5);
  });
});
