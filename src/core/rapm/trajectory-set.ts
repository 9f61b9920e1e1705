/**
 * All shards of one teacher as one training set. Every caller (the studio's worker, `npm run
 * distill`) joins shards here, so every one gets the same check: shards trained on together share
 * one geometry (coarse grid, Delta times, guidance) and one image shape. Pure functions over
 * decoded shards (no storage, no tensors).
 */
import type { Shard } from '../io/shards';
import type { TrajectoryGeometry } from './trainer';
import { TrajectorySource, type StoredTrajectories } from './trajectory-source';

/** Shards that cannot be trained on together; the message says which and what to do. */
export class ShardSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardSetError';
  }
}

export interface NamedShard {
  /** The file name the user knows the shard by, for messages. */
  name: string;
  shard: Shard;
}

export function shardGeometry(s: Shard): TrajectoryGeometry {
  return {
    coarseTimesteps: s.meta.coarseTimesteps,
    deltaTimesteps: s.meta.deltaTimesteps,
    guidance: s.meta.guidanceScale,
  };
}

/** Two geometries are the same grid (the comparison every resume and join makes). */
export function sameGeometry(a: TrajectoryGeometry, b: TrajectoryGeometry): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const layout = (s: Shard) => {
  const { channels, height, width } = s.meta.data;
  return `${channels}x${height}x${width}`;
};

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
 * Concatenates shards that share one geometry and image shape, in the order given. Delta points
 * are kept only if every shard has them; otherwise the trainer recomputes them all with the teacher.
 */
export function trajectorySet(shards: NamedShard[]): TrajectorySource {
  if (shards.length === 0) {
    throw new ShardSetError('No shards match the loaded teacher: import or generate shards for it first.');
  }
  const first = shards[0];
  const geometry = shardGeometry(first.shard);
  for (const { name, shard } of shards.slice(1)) {
    if (!sameGeometry(shardGeometry(shard), geometry)) {
      throw new ShardSetError(
        `Shard '${name}' has another trajectory grid (${JSON.stringify(shardGeometry(shard))}) than '${first.name}' ` +
          `(${JSON.stringify(geometry)}); shards trained on together must share coarse steps, Delta and guidance. ` +
          `Remove one kind.`,
      );
    }
    if (layout(shard) !== layout(first.shard)) {
      throw new ShardSetError(
        `Shard '${name}' holds ${layout(shard)} images but '${first.name}' holds ${layout(first.shard)}; ` +
          `shards trained on together must have one image shape. Remove one kind.`,
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
    fineStepsPerSlot: first.shard.meta.fineStepsPerSlot,
  };
  return new TrajectorySource(stored, geometry);
}
