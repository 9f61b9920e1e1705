/**
 * Using a trained student: its 4-step sampler (DDIM, trailing spacing, no guidance: the
 * teacher's CFG is distilled into it) and its two export forms, LoRA-only (small, needs the
 * teacher) and merged (a plain model bundle that any loader of ours reads).
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

export const LORA_FORMAT = 'rapm-studio/lora';

/** The student's N-step samples (default 4), trailing spacing, guidance 1. */
export function sampleStudent(
  model: ModelConfig,
  params: Params,
  noise: tf.Tensor4D,
  labels: tf.Tensor1D,
  steps = 4,
): tf.Tensor4D {
  const ddim = modelDdim(model);
  return sampleDdim(ddim, modelDenoiser(model, params), noise, labels, {
    steps,
    spacing: 'trailing',
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
  student: StudentConfig,
  adapters: Params,
  provenance: StudentProvenance,
): Promise<Uint8Array> {
  if (student.mode !== 'lora')
    throw new BundleError('bad-input', 'a fully fine-tuned student has no LoRA-only form; export it merged');
  return encodeTensorMap(adapters, {
    format: LORA_FORMAT,
    version: '1',
    student: JSON.stringify(student),
    teacher: JSON.stringify(provenance.teacher),
    model: JSON.stringify(model),
    provenance: JSON.stringify(provenance),
  });
}

/** Merged export: teacher weights with the adapters folded in, as an ordinary model bundle. */
export async function exportMerged(
  model: ModelConfig,
  teacher: Params,
  student: StudentConfig,
  trainable: Params,
  provenance: StudentProvenance,
): Promise<Uint8Array> {
  const merged = mergeStudent(teacher, trainable, student);
  const config: ModelConfig = {
    ...model,
    name: `${model.name}-rapm-student`,
    provenance: { ...model.provenance, student: JSON.stringify(provenance) },
  };
  try {
    return await saveModelBundle(config, merged);
  } finally {
    tf.dispose(Object.values(merged));
  }
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
  return { model: { ...teacherModel, name: `${teacherModel.name}-rapm-student` }, params };
}
