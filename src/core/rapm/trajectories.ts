/**
 * Teacher trajectories, the precomputed storage RAPM trains on. From initial noise z~_N and a
 * class c the teacher runs M DDIM steps with classifier-free guidance inside each of N coarse
 * slots (one trailing grid of N*M steps, which contains every coarse boundary). Kept per trajectory:
 *   positions       z~_N .. z~_0   the points at the coarse boundaries (z~_N is the noise, z~_0 the sample)
 *   deltaPositions  zd             the teacher's first fine step out of each coarse start (Delta = one fine step)
 * Arrays are NCHW ([K, N+1, C, H, W] and [K, N, C, H, W]), the layout of the shard files.
 * Trajectory k depends only on (seeds[k], labels[k]): its noise comes from its seed alone, and the
 * UNet treats each sample of a batch independently, so batching and sharding never change it.
 */
import * as tf from '@tensorflow/tfjs';
import { modelDdim, modelDenoiser } from '../diffusion/model-sampling';
import { sampleDdim, seededNoise } from '../diffusion/sampler';
import { rapmGrids } from '../diffusion/timesteps';
import type { ShardMeta } from '../io/shards';
import { modelNetwork } from '../model';
import { backendLimits, checkModelFits } from '../model-fit';
import type { AnyModelConfig } from '../model-config';
import type { Params } from '../nn/unet';

export interface TrajectoryRequest {
  /** One seed per trajectory (int32: shards store them as I32). */
  seeds: ArrayLike<number>;
  /** One class per trajectory, 0 <= label < numClasses. */
  labels: ArrayLike<number>;
  /** N: coarse slots. */
  slots: number;
  /** M: teacher DDIM steps per slot (at least 2, so that Delta = one fine step stays inside the slot). */
  stepsPerSlot: number;
  /** The teacher's classifier-free guidance scale w. */
  guidanceScale: number;
  /** Trajectories per teacher batch (each step runs 2x this through the UNet when w != 1). */
  batchSize: number;
  /** Called after each batch with the number of trajectories done. */
  onProgress?: (done: number, total: number) => void;
  /** Stops between batches (throws the signal's reason). */
  signal?: AbortSignal;
}

/** Everything a shard's metadata needs except the teacher identity, the count and the provenance. */
export type TrajectoryMeta = Omit<ShardMeta, 'teacher' | 'count' | 'provenance'>;

export interface Trajectories {
  /** [K, N+1, C, H, W]: z~_N .. z~_0. */
  positions: Float32Array;
  /** [K, N, C, H, W]: the point one fine step after each coarse start tau_N .. tau_1. */
  deltaPositions: Float32Array;
  labels: Int32Array;
  seeds: Int32Array;
  meta: TrajectoryMeta;
}

/** A generation request that cannot be run as given; the message says which setting to change. */
export class TrajectoryRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrajectoryRequestError';
  }
}

/** The coarse grid, Delta and the rest of the shard metadata for N slots of M steps (throws for bad N, M). */
export function trajectoryMeta(
  config: AnyModelConfig,
  slots: number,
  stepsPerSlot: number,
  guidanceScale: number,
): TrajectoryMeta {
  if (!Number.isInteger(stepsPerSlot) || stepsPerSlot < 2) {
    throw new TrajectoryRequestError(
      `fine steps per slot (M) must be an integer >= 2, got ${stepsPerSlot}: with M = 1 the first fine step out ` +
        `of a slot is the whole slot, so there is no Delta point inside it`,
    );
  }
  if (config.numClasses === 0 && guidanceScale !== 1) {
    throw new TrajectoryRequestError(
      `guidance scale ${guidanceScale} for the unconditional model '${config.name}': classifier-free guidance ` +
        `needs a class-conditional model; use guidance scale 1 (--guidance 1)`,
    );
  }
  const grids = rapmGrids(config.schedule.trainSteps, slots, stepsPerSlot);
  return {
    schedule: config.schedule,
    coarseTimesteps: grids.coarse,
    fineStepsPerSlot: stepsPerSlot,
    delta: grids.fine[0] - grids.fine[1],
    deltaTimesteps: grids.coarseIndex.map((i) => grids.fine[i + 1]),
    guidanceScale,
    prediction: config.prediction,
    data: config.data,
    numClasses: config.numClasses,
  };
}

function checkRequest(config: AnyModelConfig, req: TrajectoryRequest): void {
  const k = req.seeds.length;
  if (k === 0) throw new TrajectoryRequestError('no trajectories requested: pass at least one seed');
  if (req.labels.length !== k) {
    throw new TrajectoryRequestError(`${req.labels.length} labels for ${k} seeds: give one label per seed`);
  }
  if (!Number.isInteger(req.batchSize) || req.batchSize < 1) {
    throw new TrajectoryRequestError(`batch size must be a positive integer, got ${req.batchSize}`);
  }
  if (!Number.isFinite(req.guidanceScale)) {
    throw new TrajectoryRequestError(`guidance scale must be a finite number, got ${req.guidanceScale}`);
  }
  for (let i = 0; i < k; i++) {
    const s = req.seeds[i];
    if (!Number.isInteger(s) || s < -0x80000000 || s > 0x7fffffff) {
      throw new TrajectoryRequestError(`seed ${s} (trajectory ${i}) is not an int32; shards store seeds as I32`);
    }
    const l = req.labels[i];
    if (config.numClasses === 0 && l !== 0) {
      throw new TrajectoryRequestError(
        `label ${l} (trajectory ${i}) for an unconditional model: its trajectories have label 0`,
      );
    }
    if (config.numClasses > 0 && (!Number.isInteger(l) || l < 0 || l >= config.numClasses)) {
      throw new TrajectoryRequestError(
        `label ${l} (trajectory ${i}) is outside 0..${config.numClasses - 1}; the null class is not a trajectory class`,
      );
    }
  }
}

/** The teacher's trajectories for the requested seeds and classes; the teacher's params stay the caller's. */
export async function generateTrajectories(
  config: AnyModelConfig,
  params: Params,
  req: TrajectoryRequest,
): Promise<Trajectories> {
  const meta = trajectoryMeta(config, req.slots, req.stepsPerSlot, req.guidanceScale);
  checkRequest(config, req);
  const n = req.slots;
  const total = req.seeds.length;
  const { channels, height, width } = config.data;
  const perImage = channels * height * width;
  // each step runs 2x the batch through the network under guidance
  checkModelFits(modelNetwork(config), backendLimits(), 'sample', req.batchSize * (req.guidanceScale === 1 ? 1 : 2));
  const ddim = modelDdim(config);
  const denoiser = modelDenoiser(config, params);
  const out: Trajectories = {
    positions: new Float32Array(total * (n + 1) * perImage),
    deltaPositions: new Float32Array(total * n * perImage),
    labels: Int32Array.from(req.labels),
    seeds: Int32Array.from(req.seeds),
    meta,
  };
  const keepAt = [...meta.coarseTimesteps, ...meta.deltaTimesteps];
  for (let start = 0; start < total; start += req.batchSize) {
    req.signal?.throwIfAborted();
    const end = Math.min(start + req.batchSize, total);
    const noise = seededNoise(out.seeds.subarray(start, end), height, width, channels);
    const labels = tf.tensor1d(out.labels.subarray(start, end), 'int32');
    let result: ReturnType<typeof sampleDdim>;
    try {
      result = sampleDdim(ddim, denoiser, noise, labels, {
        steps: n * req.stepsPerSlot,
        spacing: 'trailing',
        guidanceScale: req.guidanceScale,
        numClasses: config.numClasses,
        keepAt,
      });
    } finally {
      tf.dispose([noise, labels]);
    }
    const at = new Map(result.points.map((p) => [p.t, p.z]));
    // [B, P, H, W, C] -> [B, P, C, H, W]: one trajectory's points stay contiguous, as in the shard.
    const nchw = (zs: tf.Tensor4D[]) => tf.tidy(() => tf.transpose(tf.stack(zs, 1), [0, 1, 4, 2, 3]));
    const positions = nchw([...meta.coarseTimesteps.map((t) => at.get(t)!), result.samples]);
    const deltas = nchw(meta.deltaTimesteps.map((t) => at.get(t)!));
    tf.dispose([result.samples, ...result.points.map((p) => p.z)]);
    try {
      out.positions.set(await positions.data(), start * (n + 1) * perImage);
      out.deltaPositions.set(await deltas.data(), start * n * perImage);
    } finally {
      tf.dispose([positions, deltas]);
    }
    req.onProgress?.(end, total);
  }
  return out;
}
