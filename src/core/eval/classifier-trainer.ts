/**
 * Supervised training of the evaluator classifier: Adam on softmax cross-entropy, with
 * minibatches drawn in a seeded order and randomly shifted by a few pixels (augmentation that
 * matters with only 8,000 training digits). Deterministic given the seed.
 */
import * as tf from '@tensorflow/tfjs';
import { applyClassifier, type ClassifierConfig, type Params } from './classifier';

/** Images in one flat row-major array ([count * size * size * channels]) with their labels. */
export interface LabelledImages {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

/** A Fisher-Yates permutation of 0 .. n-1. */
export function shuffledOrder(n: number, random: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Copies the chosen images into one batch, each translated by an integer offset in
 * [-maxShift, maxShift] per axis; uncovered pixels take `background` (-1 = black in [-1, 1]).
 */
export function shiftedBatch(
  set: LabelledImages,
  indices: ArrayLike<number>,
  size: number,
  maxShift: number,
  random: () => number,
  background = -1,
): { images: Float32Array; labels: Int32Array } {
  const px = size * size;
  const images = new Float32Array(indices.length * px).fill(background);
  const labels = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * px;
    const dy = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
    const dx = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
    for (let r = Math.max(0, dy); r < Math.min(size, size + dy); r++) {
      const from = src + (r - dy) * size;
      const to = b * px + r * size;
      for (let c = Math.max(0, dx); c < Math.min(size, size + dx); c++) images[to + c] = set.images[from + c - dx];
    }
    labels[b] = set.labels[indices[b]];
  }
  return { images, labels };
}

/** Adam whose learning rate can follow a schedule (tfjs keeps it protected). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

export class ClassifierTrainer {
  readonly params: Record<string, tf.Variable>;
  private readonly optimizer: ScheduledAdam;

  /** Takes ownership of `initial`: its tensors become the trained variables' starting values. */
  constructor(
    private readonly cfg: ClassifierConfig,
    initial: Params,
    learningRate: number,
  ) {
    this.params = {};
    for (const [name, t] of Object.entries(initial)) {
      this.params[name] = tf.variable(t, true);
      t.dispose();
    }
    this.optimizer = new ScheduledAdam(learningRate, 0.9, 0.999, 1e-7);
  }

  setLearningRate(lr: number): void {
    this.optimizer.setLearningRate(lr);
  }

  /** One Adam step on a batch; returns the mean cross-entropy before the update (read back asynchronously). */
  async step(images: Float32Array, labels: Int32Array): Promise<number> {
    const { imageSize, inChannels, numClasses } = this.cfg;
    const loss = tf.tidy(() => {
      const x = tf.tensor4d(images, [labels.length, imageSize, imageSize, inChannels]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
      return this.optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, applyClassifier(this.cfg, this.params, x).logits) as tf.Scalar,
        true,
        Object.values(this.params),
      ) as tf.Scalar;
    });
    try {
      return (await loss.data())[0];
    } finally {
      loss.dispose();
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    for (const v of Object.values(this.params)) v.dispose();
  }
}
