/**
 * Preview: `count` samples of one class from consecutive seeds, with the student (on the coarse
 * timesteps it was trained on, no guidance: the teacher's CFG is distilled into it) or the teacher
 * (any steps and guidance), timed end to end including reading the pixels back from the device.
 */
import * as tf from '@tensorflow/tfjs';
import { sampleModel } from '../core/diffusion/model-sampling';
import type { AnyModelConfig } from '../core/model-config';
import type { Params } from '../core/nn/unet';
import { mergeStudent } from '../core/rapm/lora';
import type { StudentSnapshot } from '../core/rapm/student-snapshot';
import { gridImage } from './images';
import type { GridImage } from './protocol';

const MAX_COUNT = 64;

export interface PreviewRequest {
  classLabel: number;
  seed: number;
  count: number;
  steps: number;
  guidance: number;
}

export interface PreviewResult {
  image: GridImage;
  msPerImage: number;
  steps: number;
}

/** A preview request outside what the model or the page can show. */
export class PreviewRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreviewRequestError';
  }
}

function check(model: AnyModelConfig, req: PreviewRequest): void {
  // an unconditional model samples class 0 (its labels are ignored)
  const classes = Math.max(1, model.numClasses);
  if (!Number.isInteger(req.classLabel) || req.classLabel < 0 || req.classLabel >= classes) {
    throw new PreviewRequestError(`Class must be 0..${classes - 1}, got ${req.classLabel}.`);
  }
  if (model.numClasses === 0 && req.guidance !== 1) {
    throw new PreviewRequestError(
      `Guidance must be 1 for the unconditional model '${model.name}' (classifier-free guidance needs classes), got ${req.guidance}.`,
    );
  }
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > MAX_COUNT) {
    throw new PreviewRequestError(`Count must be 1..${MAX_COUNT}, got ${req.count}.`);
  }
  if (!Number.isInteger(req.seed) || Math.abs(req.seed) > 2 ** 31 - 1 - MAX_COUNT) {
    throw new PreviewRequestError(`Seed must be an integer that fits in 31 bits, got ${req.seed}.`);
  }
  if (!Number.isInteger(req.steps) || req.steps < 1 || req.steps > model.schedule.trainSteps) {
    throw new PreviewRequestError(`Steps must be 1..${model.schedule.trainSteps}, got ${req.steps}.`);
  }
  if (!Number.isFinite(req.guidance)) throw new PreviewRequestError(`Guidance must be a number, got ${req.guidance}.`);
}

async function draw(
  model: AnyModelConfig,
  params: Params,
  req: PreviewRequest,
  timesteps?: readonly number[],
): Promise<PreviewResult> {
  const seeds = Array.from({ length: req.count }, (_, i) => req.seed + i);
  const start = performance.now();
  const samples = await sampleModel(model, params, {
    seeds,
    labels: seeds.map(() => req.classLabel),
    steps: req.steps,
    spacing: 'trailing',
    timesteps,
    guidanceScale: req.guidance,
    batchSize: 16,
  });
  const ms = performance.now() - start;
  return { image: gridImage(samples, model, req.count), msPerImage: ms / req.count, steps: req.steps };
}

export async function previewTeacher(
  model: AnyModelConfig,
  teacher: Params,
  req: PreviewRequest,
): Promise<PreviewResult> {
  check(model, req);
  return draw(model, teacher, req);
}

/** A snapshot of the student merged into the teacher, sampled on its own grid at guidance 1. */
export async function previewStudent(
  model: AnyModelConfig,
  teacher: Params,
  snapshot: StudentSnapshot,
  req: PreviewRequest,
): Promise<PreviewResult> {
  const studentReq = { ...req, steps: snapshot.timesteps.length, guidance: 1 };
  check(model, studentReq);
  const merged = mergeStudent(teacher, snapshot.weights, snapshot.student);
  try {
    return await draw(model, merged, studentReq, snapshot.timesteps);
  } finally {
    tf.dispose(Object.values(merged));
  }
}
