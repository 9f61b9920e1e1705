import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../io/safetensors';
import {
  assertSameDraws,
  decodeSampleSet,
  encodeSampleSet,
  meanPixelRmse,
  SampleSetError,
  type SampleSet,
} from './sample-set';

const set = (images: number[], labels: number[], seed = 7): SampleSet => ({
  images: Float32Array.from(images),
  labels: Int32Array.from(labels),
  imageShape: [2, 1, 1],
  seed,
  source: 'test',
});

describe('sample sets', () => {
  it('round-trip through a file', () => {
    const a = set([0.5, -1, 0.25, 1], [3, 4]);
    const b = decodeSampleSet(encodeSampleSet(a));
    expect(Array.from(b.images)).toEqual([0.5, -1, 0.25, 1]);
    expect(Array.from(b.labels)).toEqual([3, 4]);
    expect(b.imageShape).toEqual([2, 1, 1]);
    expect(b.seed).toBe(7);
    expect(b.source).toBe('test');
  });

  it('rejects a safetensors file that is not a samples file', () => {
    const other = writeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    expect(() => decodeSampleSet(other)).toThrow(SampleSetError);
    expect(() => decodeSampleSet(other)).toThrow(/--save-samples/);
  });

  it('measures the per-sample RMS pixel difference', () => {
    // sample 0 differs by 1 in both pixels (RMSE 1), sample 1 by 2 in one pixel (RMSE sqrt(2))
    const d = meanPixelRmse(set([0, 0, 0, 0], [1, 2]), set([1, -1, 2, 0], [1, 2]));
    expect(d).toBeCloseTo((1 + Math.SQRT2) / 2, 6);
  });

  it('refuses to compare sets drawn for other seeds or classes', () => {
    const a = set([0, 0, 0, 0], [1, 2]);
    expect(() => assertSameDraws(a, set([0, 0, 0, 0], [1, 2], 8))).toThrow(/first seed 7 vs 8/);
    expect(() => assertSameDraws(a, set([0, 0, 0, 0], [2, 1]))).toThrow(/different classes/);
    expect(() => assertSameDraws(a, set([0, 0], [1]))).toThrow(/2 vs 1 samples/);
  });
});
