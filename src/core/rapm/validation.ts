/**
 * Validation of a student on its run's held-out trajectories. Every stored trajectory holds its
 * initial noise z~_N and the teacher's end point z~_0 (the teacher's full N*M-step sample), so
 * any teacher gives a score: the per-sample pixel RMSE between the student's sample from z~_N
 * (on the coarse grid it was trained on, no guidance) and z~_0. When an evaluator fits the
 * teacher's images, its FID to real images and its class accuracy are measured beside it, and
 * the teacher's own DDIM from the same noise (at the student's step count, and its stored full
 * trajectory) gives the reference lines.
 */
import * as tf from '@tensorflow/tfjs';
import { modelDdim, modelDenoiser } from '../diffusion/model-sampling';
import { sampleDdim } from '../diffusion/sampler';
import { decodeRealFeatures, type RealFeatures } from '../eval/real-features';
import { decodeEvaluator, type Evaluator } from '../eval/evaluator-bundle';
import { tensorDataHash } from '../io/bundle';
import { fitGaussian, frechetDistance } from '../eval/fid';
import { classAccuracy, classifyImages } from '../eval/metrics';
import type { AnyModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import type { TrajectorySource } from './trajectory-source';

/** How a sampler does on the validation trajectories. */
export interface QualityScore {
  /** Mean over samples of each sample's pixel RMSE to the teacher's end point z~_0 from the same noise. */
  rmse: number;
  /** Evaluator FID to real images (on as many samples as held out, so biased upward; compare like with like). */
  fid: number | null;
  /** Share of samples the evaluator assigns to the class they were drawn for. */
  accuracy: number | null;
}

/** The EMA student's score at one iteration, and what measuring it cost. */
export interface ValidationPoint extends QualityScore {
  iteration: number;
  /** Wall time of sampling and scoring, ms. */
  ms: number;
}

/** The teacher on the same trajectories: its DDIM at the student's step count, and its full trajectory. */
export interface TeacherReference extends QualityScore {
  label: string;
  /** Sampling steps; null where the trajectories do not say (the stored end points of older shards). */
  steps: number | null;
}

/** An evaluator and the Gaussian fit of its features on real images: what FID and accuracy need. */
export interface Evaluation {
  evaluator: Evaluator;
  real: RealFeatures;
}

/** An evaluator file and its real-feature fit (which must belong to it); the tensors are the caller's. */
export async function decodeEvaluation(evaluator: Uint8Array, real: Uint8Array): Promise<Evaluation> {
  const fit = decodeRealFeatures(real, await tensorDataHash(evaluator));
  return { evaluator: decodeEvaluator(evaluator), real: fit };
}

/** The held-out trajectories' noise z~_N and end points z~_0 (NHWC, flat) and classes. */
export interface ValidationSet {
  count: number;
  noise: Float32Array;
  teacherEnd: Float32Array;
  labels: Int32Array;
}

export function validationSet(source: TrajectorySource, indices: readonly number[]): ValidationSet {
  const batch = source.gather([...indices]);
  const { slots: n, channels, height, width } = source.data;
  const px = channels * height * width;
  const noise = new Float32Array(indices.length * px);
  const teacherEnd = new Float32Array(indices.length * px);
  for (let i = 0; i < indices.length; i++) {
    const row = i * (n + 1) * px;
    noise.set(batch.positions.subarray(row, row + px), i * px);
    teacherEnd.set(batch.positions.subarray(row + n * px, row + (n + 1) * px), i * px);
  }
  return { count: indices.length, noise, teacherEnd, labels: batch.labels };
}

/** Whether the evaluator scores this model's images (same size, channels and classes). */
export function evaluatorFits(evaluation: Evaluation, model: AnyModelConfig): boolean {
  const c = evaluation.evaluator.config;
  return (
    c.imageSize === model.data.height &&
    c.imageSize === model.data.width &&
    c.inChannels === model.data.channels &&
    c.numClasses === model.numClasses
  );
}

/** Mean over samples of the per-sample pixel RMSE between two equally shaped image sets. */
export function meanSampleRmse(a: Float32Array, b: Float32Array, count: number): number {
  const per = a.length / count;
  let total = 0;
  for (let k = 0; k < count; k++) {
    let sq = 0;
    for (let i = k * per; i < (k + 1) * per; i++) sq += (a[i] - b[i]) ** 2;
    total += Math.sqrt(sq / per);
  }
  return total / count;
}

/** Scores samples drawn from the set's noise; FID and accuracy only with an evaluation that fits. */
export async function scoreSamples(
  images: Float32Array,
  set: ValidationSet,
  evaluation: Evaluation | null,
): Promise<QualityScore> {
  const rmse = meanSampleRmse(images, set.teacherEnd, set.count);
  if (!evaluation || set.count < 2) return { rmse, fid: null, accuracy: null };
  const { config, params } = evaluation.evaluator;
  const classified = await classifyImages(config, params, images, set.count, 64);
  const fid = frechetDistance(fitGaussian(classified.features, set.count, classified.featureDim), evaluation.real);
  return { rmse, fid, accuracy: classAccuracy(classified.predictions, set.labels) };
}

/**
 * Told how many of the set's trajectories are sampled so far, after each batch has come back from
 * the device (so on a GPU it follows the work, not its queueing): long phases show progress.
 */
export type MeasureProgress = (measured: number, total: number) => void;

export interface SetSampling {
  /** The sampling grid, descending: the run's coarse timesteps. */
  timesteps: readonly number[];
  guidance: number;
  /** Images per sampler call: bounds device memory. */
  batchSize: number;
  onProgress?: MeasureProgress;
}

/** DDIM samples on the given grid from the set's noise, batch by batch, NHWC flat. */
export async function sampleSet(
  model: AnyModelConfig,
  params: Params,
  set: ValidationSet,
  opts: SetSampling,
): Promise<Float32Array> {
  const { height, width, channels } = model.data;
  const px = height * width * channels;
  const ddim = modelDdim(model);
  const denoiser = modelDenoiser(model, params);
  const out = new Float32Array(set.count * px);
  opts.onProgress?.(0, set.count);
  for (let start = 0; start < set.count; start += opts.batchSize) {
    const end = Math.min(start + opts.batchSize, set.count);
    const samples = tf.tidy(
      () =>
        sampleDdim(
          ddim,
          denoiser,
          tf.tensor4d(set.noise.subarray(start * px, end * px), [end - start, height, width, channels]),
          tf.tensor1d(set.labels.subarray(start, end), 'int32'),
          {
            steps: opts.timesteps.length,
            spacing: 'trailing',
            timesteps: opts.timesteps,
            guidanceScale: opts.guidance,
            numClasses: model.numClasses,
          },
        ).samples,
    );
    try {
      out.set(await samples.data(), start * px);
    } finally {
      samples.dispose();
    }
    opts.onProgress?.(end, set.count);
  }
  return out;
}

/** The student's score: its N-step samples (no guidance: the teacher's is distilled into it). */
export async function validateStudent(
  model: AnyModelConfig,
  student: Params,
  timesteps: readonly number[],
  set: ValidationSet,
  evaluation: Evaluation | null,
  iteration: number,
  batchSize = 32,
  onProgress?: MeasureProgress,
): Promise<ValidationPoint> {
  const started = performance.now();
  const images = await sampleSet(model, student, set, { timesteps, guidance: 1, batchSize, onProgress });
  const score = await scoreSamples(images, set, evaluation);
  return { iteration, ...score, ms: performance.now() - started };
}

/**
 * The teacher's lines to read the student against: its DDIM at the student's step count with the
 * trajectories' guidance, and its full trajectory (the stored z~_0, RMSE 0 by definition).
 */
export async function teacherReferences(
  model: AnyModelConfig,
  teacher: Params,
  sampling: { timesteps: readonly number[]; guidance: number; fullSteps: number | null },
  set: ValidationSet,
  evaluation: Evaluation | null,
  batchSize = 32,
  onProgress?: MeasureProgress,
): Promise<TeacherReference[]> {
  const { timesteps, guidance } = sampling;
  const few = await sampleSet(model, teacher, set, { timesteps, guidance, batchSize, onProgress });
  const steps = timesteps.length;
  return [
    { label: `teacher, ${steps} steps`, steps, ...(await scoreSamples(few, set, evaluation)) },
    {
      label: sampling.fullSteps ? `teacher, ${sampling.fullSteps} steps` : 'teacher, full trajectory',
      steps: sampling.fullSteps,
      ...(await scoreSamples(set.teacherEnd, set, evaluation)),
    },
  ];
}
