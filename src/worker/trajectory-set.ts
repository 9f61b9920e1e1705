/**
 * All stored shards of one teacher as one training set, and the fixed trajectories the sample
 * grids show. Pure functions over decoded shards (no IndexedDB, no tensors), tested in Node.
 */
import type { Shard } from '../core/io/shards';
import type { TrajectoryGeometry } from '../core/rapm/trainer';
import { TrajectorySource, type StoredTrajectories } from '../core/rapm/trajectory-source';

/** Shards that cannot be trained on together; the message says which and what to do. */
export class ShardSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardSetError';
  }
}

function geometryOf(s: Shard): TrajectoryGeometry {
  return {
    coarseTimesteps: s.meta.coarseTimesteps,
    deltaTimesteps: s.meta.deltaTimesteps,
    guidance: s.meta.guidanceScale,
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Concatenates shards that share one geometry (coarse grid, Delta times, guidance). Delta points
 * are kept only if every shard has them; otherwise the trainer recomputes them all with the teacher.
 */
export function trajectorySet(shards: { name: string; shard: Shard }[]): TrajectorySource {
  if (shards.length === 0) {
    throw new ShardSetError('No stored shards match the loaded teacher: import or generate shards for it first.');
  }
  const first = shards[0];
  const geometry = geometryOf(first.shard);
  const key = JSON.stringify(geometry);
  for (const { name, shard } of shards.slice(1)) {
    if (JSON.stringify(geometryOf(shard)) !== key) {
      throw new ShardSetError(
        `Shard '${name}' has another trajectory grid (${JSON.stringify(geometryOf(shard))}) than '${first.name}' ` +
          `(${key}); shards trained on together must share coarse steps, Delta and guidance. Remove one kind.`,
      );
    }
  }
  const { data } = first.shard.meta;
  const hasDelta = shards.every(({ shard }) => shard.deltaPositions !== undefined);
  const stored: StoredTrajectories = {
    positions: concat(shards.map(({ shard }) => shard.positions)),
    deltaPositions: hasDelta ? concat(shards.map(({ shard }) => shard.deltaPositions!)) : null,
    labels: Int32Array.from(shards.flatMap(({ shard }) => Array.from(shard.labels))),
    count: shards.reduce((a, { shard }) => a + shard.summary.count, 0),
    slots: first.shard.summary.slots,
    channels: data.channels,
    height: data.height,
    width: data.width,
  };
  return new TrajectorySource(stored, geometry);
}

/** The fixed sample trajectories: the first `perClass` of every class present, class by class. */
export interface SamplePicks {
  indices: number[];
  /** Samples per class: the grid's columns (the smallest count among the classes present). */
  columns: number;
  /** Initial noise z~_N of each pick, NHWC, and the teacher's end point z~_0 of each. */
  noise: Float32Array;
  teacherEnd: Float32Array;
  labels: Int32Array;
}

export function samplePicks(source: TrajectorySource, numClasses: number, perClass: number): SamplePicks {
  const { labels, count } = source.data;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let k = 0; k < count; k++) {
    const list = byClass[labels[k]];
    if (list.length < perClass) list.push(k);
  }
  const present = byClass.filter((l) => l.length > 0);
  const columns = Math.min(...present.map((l) => l.length));
  const indices = present.flatMap((l) => l.slice(0, columns));
  const batch = source.gather(indices);
  const { slots: n, channels, height, width } = source.data;
  const px = channels * height * width;
  const noise = new Float32Array(indices.length * px);
  const teacherEnd = new Float32Array(indices.length * px);
  indices.forEach((_, i) => {
    const row = i * (n + 1) * px;
    noise.set(batch.positions.subarray(row, row + px), i * px);
    teacherEnd.set(batch.positions.subarray(row + n * px, row + (n + 1) * px), i * px);
  });
  return { indices, columns, noise, teacherEnd, labels: batch.labels };
}
