import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random';
import { shiftedBatch, shuffledOrder } from './classifier-trainer';

describe('seeded batching', () => {
  it('shuffles to a permutation, the same for the same seed', () => {
    const a = shuffledOrder(100, mulberry32(3));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a).toEqual(shuffledOrder(100, mulberry32(3)));
    expect(a).not.toEqual(shuffledOrder(100, mulberry32(4)));
  });

  it('copies unshifted images exactly when maxShift is 0', () => {
    const set = {
      images: Float32Array.from({ length: 2 * 9 }, (_, i) => i),
      labels: Int32Array.from([4, 7]),
      count: 2,
    };
    const b = shiftedBatch(set, [1, 0], 3, 0, mulberry32(1));
    expect(Array.from(b.images)).toEqual([
      ...Array.from({ length: 9 }, (_, i) => 9 + i),
      ...Array.from({ length: 9 }, (_, i) => i),
    ]);
    expect(Array.from(b.labels)).toEqual([7, 4]);
  });

  it('translates by at most maxShift and fills the uncovered border with the background', () => {
    // One lit pixel in the centre of a 5x5 image: after a shift it must sit within 1 px of the centre.
    const img = new Float32Array(25).fill(-1);
    img[12] = 1;
    const set = { images: img, labels: Int32Array.from([0]), count: 1 };
    const random = mulberry32(2);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const { images } = shiftedBatch(set, [0], 5, 1, random);
      const lit = images.findIndex((v) => v === 1);
      expect(images.filter((v) => v === 1).length).toBe(1);
      expect(Math.abs(Math.floor(lit / 5) - 2)).toBeLessThanOrEqual(1);
      expect(Math.abs((lit % 5) - 2)).toBeLessThanOrEqual(1);
      seen.add(lit);
    }
    expect(seen.size).toBe(9);
  });
});
