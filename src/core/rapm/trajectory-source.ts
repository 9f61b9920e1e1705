/**
 * The stored trajectories a run trains from, and the order it visits them in. Iteration i's
 * batch is a function of (seed, i) alone, so a resumed run sees the same batches as a straight one.
 * Shards hold NCHW (PyTorch's layout); the engine works in NHWC, converted here per batch.
 * With a validation split, training draws only from the trajectories not held out.
 */
import { mulberry32 } from '../random';
import type { TrajectoryBatch, TrajectoryGeometry } from './trainer';

export interface StoredTrajectories {
  /** [K, N+1, C, H, W] flattened. */
  positions: Float32Array;
  /** [K, N, C, H, W] flattened, or null when the shards did not store them. */
  deltaPositions: Float32Array | null;
  labels: Int32Array;
  count: number;
  slots: number;
  channels: number;
  height: number;
  width: number;
  /** The teacher's fine steps per coarse slot, when the shards say (its full trajectory is slots x this). */
  fineStepsPerSlot?: number;
}

export class TrajectorySource {
  constructor(
    readonly data: StoredTrajectories,
    readonly geometry: TrajectoryGeometry,
    /** The trajectories training may use (validation-split.ts trainingIndices); all when omitted. */
    readonly trainable: Int32Array | null = null,
  ) {}

  /** Indices of the trajectories used at `iteration` (with replacement across iterations). */
  indices(iteration: number, batchSize: number, seed: number): number[] {
    const random = mulberry32((seed * 2_654_435_761 + iteration * 40_503 + 1) >>> 0);
    const pool = this.trainable;
    return Array.from({ length: batchSize }, () =>
      pool ? pool[Math.floor(random() * pool.length)] : Math.floor(random() * this.data.count),
    );
  }

  /** The same trajectories, training restricted to `trainable`. */
  withTrainable(trainable: Int32Array): TrajectorySource {
    return new TrajectorySource(this.data, this.geometry, trainable);
  }

  batch(iteration: number, batchSize: number, seed: number): TrajectoryBatch {
    return this.gather(this.indices(iteration, batchSize, seed));
  }

  gather(indices: number[]): TrajectoryBatch {
    const { slots: n, channels: c, height: h, width: w } = this.data;
    const px = c * h * w;
    const positions = new Float32Array(indices.length * (n + 1) * px);
    const deltas = this.data.deltaPositions ? new Float32Array(indices.length * n * px) : null;
    indices.forEach((k, i) => {
      for (let j = 0; j <= n; j++)
        toNhwc(this.data.positions, (k * (n + 1) + j) * px, positions, (i * (n + 1) + j) * px, c, h, w);
      if (deltas)
        for (let j = 0; j < n; j++)
          toNhwc(this.data.deltaPositions!, (k * n + j) * px, deltas, (i * n + j) * px, c, h, w);
    });
    return { positions, deltaPositions: deltas, labels: Int32Array.from(indices, (k) => this.data.labels[k]) };
  }
}

/** Copies one CHW image into HWC order (a plain copy when C = 1). */
function toNhwc(src: Float32Array, from: number, dst: Float32Array, to: number, c: number, h: number, w: number): void {
  if (c === 1) {
    dst.set(src.subarray(from, from + h * w), to);
    return;
  }
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < h * w; p++) dst[to + p * c + ch] = src[from + ch * h * w + p];
  }
}
