/**
 * Using a trained student: its sampler (DDIM on the coarse timesteps it was trained on, no
 * guidance: the teacher's CFG is distilled into it) and its two export forms, LoRA-only (small,
 * needs the teacher) and merged (a plain model bundle that any loader of ours reads). Both forms
 * record the student's grid, so whoever samples it later uses the grid it learned.
 */
import * as tf from '@tensorflow/tfjs';
import { modelDdim, modelDenoiser } from '../diffusion/model-sampling';
import { sampleDdim } from '../diffusion/sampler';
import { BundleError } from '../io/errors';
import { saveModelBundle } from '../io/bundle';
import { decodeTensorMap, encodeTensorMap } from '../io/tensor-map';
import type { ModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import type { StudentConfig } from './config';
import { mergeStudent } from './lora';
import type { StudentSnapshot } from './student-snapshot';
import type { TeacherModel } from './teacher-model';

export const LORA_FORMAT = 'rapm-studio/lora';

/** The student's samples on its grid `timesteps` (its coarse timesteps, descending), guidance 1. */
export function sampleStudent(
  model: ModelConfig,
  params: Params,
  noise: tf.Tensor4D,
  labels: tf.Tensor1D,
  timesteps: readonly number[],
): tf.Tensor4D {
  const ddim = modelDdim(model);
  return sampleDdim(ddim, modelDenoiser(model, params), noise, labels, {
    steps: timesteps.length,
    spacing: 'trailing',
    timesteps,
    guidanceScale: 1,
    numClasses: model.numClasses,
  }).samples;
}

export interface StudentProvenance {
  teacher: { name: string; sha256: string };
  iterations: number;
  [key: string]: unknown;
}

/** LoRA-only export: the adapters and what is needed to rebuild the student from its teacher. */
export async function exportLora(
  model: ModelConfig,
  snapshot: StudentSnapshot,
  provenance: StudentProvenance,
): Promise<Uint8Array> {
  const { student, weights, timesteps } = snapshot;
  if (student.mode !== 'lora')
    throw new BundleError('bad-input', 'a fully fine-tuned student has no LoRA-only form; export it merged');
  return encodeTensorMap(weights, {
    format: LORA_FORMAT,
    version: '1',
    student: JSON.stringify(student),
    timesteps: JSON.stringify(timesteps),
    teacher: JSON.stringify(provenance.teacher),
    model: JSON.stringify(model),
    provenance: JSON.stringify(provenance),
  });
}

/** Merged export: teacher weights with the adapters folded in, as an ordinary model bundle. */
export async function exportMerged(
  model: ModelConfig,
  teacher: Params,
  snapshot: StudentSnapshot,
  provenance: StudentProvenance,
): Promise<Uint8Array> {
  const merged = mergeStudent(teacher, snapshot.weights, snapshot.student);
  const config: ModelConfig = {
    ...model,
    name: `${model.name}-rapm-student`,
    studentTimesteps: snapshot.timesteps,
    provenance: { ...model.provenance, student: JSON.stringify(provenance) },
  };
  try {
    return await saveModelBundle(config, merged);
  } finally {
    tf.dispose(Object.values(merged));
  }
}

/** The student's samples for the given noise and labels, read back (NHWC, flattened). */
export async function studentSamples(
  teacher: TeacherModel,
  snapshot: StudentSnapshot,
  noise: Float32Array,
  labels: Int32Array,
): Promise<Float32Array> {
  const { height, width, channels } = teacher.config.data;
  const merged = mergeStudent(teacher.params, snapshot.weights, snapshot.student);
  const samples = tf.tidy(() =>
    sampleStudent(
      teacher.config,
      merged,
      tf.tensor4d(noise, [labels.length, height, width, channels]),
      tf.tensor1d(labels, 'int32'),
      snapshot.timesteps,
    ),
  );
  tf.dispose(Object.values(merged));
  try {
    return (await samples.data()) as Float32Array;
  } finally {
    samples.dispose();
  }
}

/** Either export form of a snapshot, with the provenance every export records (plus `extra`). */
export function exportStudent(
  teacher: TeacherModel,
  snapshot: StudentSnapshot,
  form: 'lora' | 'merged',
  extra: Record<string, unknown>,
): Promise<Uint8Array> {
  const provenance: StudentProvenance = { ...extra, teacher: teacher.identity, iterations: snapshot.iteration };
  return form === 'lora'
    ? exportLora(teacher.config, snapshot, provenance)
    : exportMerged(teacher.config, teacher.params, snapshot, provenance);
}

/** Rebuilds a student from a LoRA-only file and the teacher it was trained from. */
export function loadLora(
  bytes: Uint8Array,
  teacherModel: ModelConfig,
  teacherSha256: string,
  teacher: Params,
): { model: ModelConfig; params: Params } {
  const { tensors, metadata } = decodeTensorMap(bytes);
  if (metadata.format !== LORA_FORMAT) {
    tf.dispose(Object.values(tensors));
    throw new BundleError(
      'wrong-format',
      `not a LoRA export (format '${metadata.format ?? 'none'}'); load merged students as models`,
    );
  }
  const base = JSON.parse(metadata.teacher) as { name: string; sha256: string };
  if (base.name !== teacherModel.name || base.sha256 !== teacherSha256) {
    tf.dispose(Object.values(tensors));
    throw new BundleError(
      'wrong-format',
      `these adapters belong to teacher '${base.name}' (${base.sha256.slice(0, 12)}), not '${teacherModel.name}' (${teacherSha256.slice(0, 12)}); load that teacher first`,
    );
  }
  const student = JSON.parse(metadata.student) as StudentConfig;
  const params = mergeStudent(teacher, tensors, student);
  tf.dispose(Object.values(tensors));
  const model: ModelConfig = { ...teacherModel, name: `${teacherModel.name}-rapm-student` };
  // files written before the grid was recorded say nothing: their samplers fall back to a spacing
  if (metadata.timesteps !== undefined) model.studentTimesteps = JSON.parse(metadata.timesteps) as number[];
  return { model, params };
}
