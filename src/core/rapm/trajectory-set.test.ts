import { describe, expect, it } from 'vitest';
import { readShard, writeShard, type ShardMeta } from '../io/shards';
import { samplePicks } from './sample-picks';
import { ShardSetError, trajectorySet } from './trajectory-set';

const META: Omit<ShardMeta, 'count'> = {
  teacher: { name: 't', sha256: 'a'.repeat(64) },
  schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  coarseTimesteps: [999, 499],
  fineStepsPerSlot: 2,
  delta: 250,
  deltaTimesteps: [749, 249],
  guidanceScale: 2,
  prediction: 'epsilon',
  data: { channels: 1, height: 2, width: 2, range: [-1, 1] },
  numClasses: 3,
};

/** K trajectories whose every value encodes (trajectory id, point): id * 10 + point. */
function shard(ids: number[], labels: number[], meta = META) {
  const px = meta.data.channels * meta.data.height * meta.data.width;
  const positions = Float32Array.from(
    { length: ids.length * 3 * px },
    (_, i) => ids[Math.floor(i / (3 * px))] * 10 + Math.floor((i % (3 * px)) / px),
  );
  const deltaPositions = new Float32Array(ids.length * 2 * px);
  return readShard(writeShard(meta, { positions, deltaPositions, labels: Int32Array.from(labels) }));
}

describe('trajectorySet', () => {
  it('concatenates shards of one grid in order', () => {
    const set = trajectorySet([
      { name: 'a', shard: shard([0, 1], [0, 1]) },
      { name: 'b', shard: shard([2, 3, 4], [2, 0, 1]) },
    ]);
    expect(set.data.count).toBe(5);
    expect(Array.from(set.data.labels)).toEqual([0, 1, 2, 0, 1]);
    expect(set.data.positions[4 * 12]).toBe(40);
    expect(set.geometry).toEqual({ coarseTimesteps: [999, 499], deltaTimesteps: [749, 249], guidance: 2 });
    expect(set.data.deltaPositions).not.toBeNull();
  });

  it('refuses shards of different grids and an empty set', () => {
    const other = { ...META, guidanceScale: 3 };
    expect(() =>
      trajectorySet([
        { name: 'a', shard: shard([0], [0]) },
        { name: 'b', shard: shard([1], [0], other) },
      ]),
    ).toThrow(ShardSetError);
    expect(() => trajectorySet([])).toThrow(/import or generate/);
  });

  it('refuses shards of one grid but different image shapes', () => {
    const larger = { ...META, data: { ...META.data, height: 3, width: 3 } };
    expect(() =>
      trajectorySet([
        { name: 'a', shard: shard([0], [0]) },
        { name: 'b', shard: shard([1], [0], larger) },
      ]),
    ).toThrow(/'b' holds 1x3x3 images but 'a' holds 1x2x2/);
  });
});

describe('samplePicks', () => {
  it('takes the first trajectories of each present class, class by class, with their noise and end point', () => {
    const set = trajectorySet([{ name: 'a', shard: shard([0, 1, 2, 3, 4, 5], [1, 0, 1, 0, 1, 0]) }]);
    const picks = samplePicks(set, 3, 2);
    expect(picks.indices).toEqual([1, 3, 0, 2]); // class 0 then class 1; class 2 absent
    expect(picks.columns).toBe(2);
    expect(Array.from(picks.labels)).toEqual([0, 0, 1, 1]);
    expect(Array.from(picks.noise.subarray(0, 4))).toEqual([10, 10, 10, 10]); // trajectory 1, point 0
    expect(Array.from(picks.teacherEnd.subarray(12, 16))).toEqual([22, 22, 22, 22]); // trajectory 2, point 2
  });
});
