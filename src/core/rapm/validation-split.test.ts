/** The held-out split: fixed by its seed, disjoint from training, and training never draws from it. */
import { describe, expect, it } from 'vitest';
import { TINY_GEOMETRY } from './fixtures.test-util';
import { TrajectorySource } from './trajectory-source';
import { ValidationSplitError, checkValidationSplit, makeValidationSplit, trainingIndices } from './validation-split';

describe('validation split', () => {
  it('is a function of (trajectories, count, seed) and differs between seeds', () => {
    const a = makeValidationSplit(512, 64, 0);
    expect(makeValidationSplit(512, 64, 0)).toEqual(a);
    expect(a.indices).toHaveLength(64);
    expect(new Set(a.indices).size).toBe(64);
    expect([...a.indices].sort((x, y) => x - y)).toEqual(a.indices);
    expect(a.indices.every((i) => i >= 0 && i < 512)).toBe(true);
    expect(makeValidationSplit(512, 64, 1).indices).not.toEqual(a.indices);
    // spread over the set, not a block at its start
    expect(a.indices[63] - a.indices[0]).toBeGreaterThan(256);
  });

  it('leaves training exactly the other trajectories', () => {
    const split = makeValidationSplit(100, 10, 3);
    const train = Array.from(trainingIndices(split));
    expect(train).toHaveLength(90);
    expect(train.some((i) => split.indices.includes(i))).toBe(false);
    expect([...train, ...split.indices].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('training batches never use a held-out trajectory', () => {
    const count = 40;
    const px = 8 * 8;
    const slots = TINY_GEOMETRY.coarseTimesteps.length;
    const source = new TrajectorySource(
      {
        positions: new Float32Array(count * (slots + 1) * px),
        deltaPositions: null,
        labels: Int32Array.from({ length: count }, (_, i) => i % 3),
        count,
        slots,
        channels: 1,
        height: 8,
        width: 8,
      },
      TINY_GEOMETRY,
    );
    const split = makeValidationSplit(count, 8, 0);
    const training = source.withTrainable(trainingIndices(split));
    const seen = new Set<number>();
    for (let it = 0; it < 500; it++) for (const k of training.indices(it, 4, 0)) seen.add(k);
    expect(split.indices.some((k) => seen.has(k))).toBe(false);
    expect(seen.size).toBe(count - 8);
    // without a split the order is what it always was
    expect(source.indices(7, 4, 0)).toEqual(new TrajectorySource(source.data, TINY_GEOMETRY).indices(7, 4, 0));
  });

  it('refuses to hold out everything, and a resumed run with another set of trajectories', () => {
    expect(() => makeValidationSplit(64, 64, 0)).toThrow(ValidationSplitError);
    expect(() => makeValidationSplit(64, -1, 0)).toThrow(ValidationSplitError);
    expect(makeValidationSplit(64, 0, 0).indices).toEqual([]);
    const split = makeValidationSplit(64, 8, 0);
    expect(() => checkValidationSplit(split, 64)).not.toThrow();
    expect(() => checkValidationSplit(split, 96)).toThrow(/set of 64, but 96 are stored/);
  });
});
