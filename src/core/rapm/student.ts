/**
 * Using a trained student: its sampler (DDIM on the coarse timesteps it was trained on, no
 * guidance: the teacher's CFG is distilled into it) and its two export forms, LoRA-only (small,
 * needs the teacher) and merged (a plain model bundle that any loader of ours reads). Both forms
 * record the student's grid, so whoever samples it later uses the grid it learned.
 */
import * as tf from '@tensorflow/tfjs';
import { modelDdim, modelDenoiser } from '../diffusion/model-sampling';
import { sampleDdim } from '../diffusion/sampler';
import { BundleError, SafetensorsError, type LimitViolation } from '../io/errors';
import { checkFiniteWeights } from '../io/finite-weights';
import { describeFormat } from '../io/format-names';
import { jsonChecks, parseHeaderJson } from '../io/json-checks';
import { decodeTensor, parseSafetensorsHeader, type SafetensorsHeader } from '../io/safetensors';
import { saveModelBundle } from '../io/bundle';
import { encodeTensorMap } from '../io/tensor-map';
import type { AnyModelConfig, ModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import { checkStudentConfig } from './config-check';
import { loraTargets, mergeStudent } from './lora';
import { asStudentModel } from './student-prediction';
import type { StudentSnapshot } from './student-snapshot';
import type { TeacherModel } from './teacher-model';

export const LORA_FORMAT = 'rapm-studio/lora';

/** The student's samples on its grid `timesteps` (its coarse timesteps, descending), guidance 1. */
export function sampleStudent(
  model: AnyModelConfig,
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
  model: AnyModelConfig,
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

/**
 * Merged export: teacher weights with the adapters folded in, as an ordinary model bundle. A
 * diffusers teacher's student is a diffusers UNet2DModel, which our bundle does not describe: it
 * is exported as a diffusers folder (src/core/diffusers/export*), or LoRA-only.
 */
export async function exportMerged(
  model: AnyModelConfig,
  teacher: Params,
  snapshot: StudentSnapshot,
  provenance: StudentProvenance,
): Promise<Uint8Array> {
  if (model.architecture !== 'unet') {
    throw new BundleError(
      'bad-input',
      `a student of the diffusers teacher '${model.name}' is not a model bundle of this studio: ` +
        `export it LoRA-only or as a diffusers folder`,
    );
  }
  const merged = mergeStudent(teacher, snapshot.weights, snapshot.student);
  const config: ModelConfig = {
    ...asStudentModel(model, snapshot.student),
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
      asStudentModel(teacher.config, snapshot.student),
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
  teacherModel: AnyModelConfig,
  teacherSha256: string,
  teacher: Params,
): { model: AnyModelConfig; params: Params } {
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(bytes);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    throw new BundleError('not-safetensors', `not a readable LoRA export: ${e.message}`, { cause: e });
  }
  const { metadata } = header;
  if (metadata.format !== LORA_FORMAT) {
    throw new BundleError(
      'wrong-format',
      `not a LoRA export (${describeFormat(metadata)}); load merged students as models`,
    );
  }
  const bad = (message: string, violation?: LimitViolation) =>
    new BundleError('bad-config', `LoRA export: ${message}; export the student again`, { violation });
  const json = (key: string): unknown => {
    const text = metadata[key];
    if (text === undefined) throw bad(`__metadata__.${key} is missing`);
    return parseHeaderJson(
      text,
      (why, cause) =>
        new BundleError('bad-config', `LoRA export: __metadata__.${key} is not strict JSON (${why})`, { cause }),
    );
  };
  const c = jsonChecks(bad);
  const named = c.object(json('teacher'), 'teacher');
  const base = { name: c.string(named.name, 'teacher.name'), sha256: c.string(named.sha256, 'teacher.sha256') };
  if (base.name !== teacherModel.name || base.sha256 !== teacherSha256) {
    throw new BundleError(
      'wrong-format',
      `these adapters belong to teacher '${base.name}' (${base.sha256.slice(0, 12)}), not '${teacherModel.name}' (${teacherSha256.slice(0, 12)}); load that teacher first`,
    );
  }
  const student = checkStudentConfig(json('student'), bad, 'student');
  if (student.mode !== 'lora') throw bad(`student.mode is '${student.mode}': a LoRA export holds adapters only`);
  // files written before the grid was recorded say nothing: their samplers fall back to a spacing
  let timesteps: number[] | undefined;
  if (metadata.timesteps !== undefined) {
    const T = teacherModel.schedule.trainSteps;
    timesteps = c.array(json('timesteps'), 'timesteps', (v, p) => c.int(v, p, 0, T - 1), 'slots');
    if (timesteps.length === 0 || timesteps.some((t, i) => i > 0 && t >= timesteps![i - 1]))
      throw bad(`timesteps must be a non-empty descending grid, got [${timesteps}]`);
  }
  const expected = new Map<string, number[]>();
  for (const name of loraTargets(teacher, student)) {
    const shape = teacher[name].shape;
    expected.set(`lora.${name}.A`, [shape.slice(0, -1).reduce((a, b) => a * b, 1), student.rank]);
    expected.set(`lora.${name}.B`, [student.rank, shape[shape.length - 1]]);
  }
  for (const [name, entry] of header.tensors) {
    const want = expected.get(name);
    if (!want) throw new BundleError('extra-tensor', `LoRA export: tensor '${name}' adapts nothing of this teacher`);
    if (entry.dtype !== 'F32' && entry.dtype !== 'F16')
      throw new BundleError('wrong-dtype', `LoRA export: tensor '${name}' is ${entry.dtype}, not F32 or F16`);
    if (entry.shape.join() !== want.join())
      throw new BundleError(
        'wrong-shape',
        `LoRA export: tensor '${name}' has shape [${entry.shape}], rank ${student.rank} needs [${want}]`,
      );
  }
  const missing = [...expected.keys()].filter((n) => !header.tensors.has(n));
  if (missing.length)
    throw new BundleError('missing-tensor', `LoRA export lacks ${missing[0]} (and ${missing.length - 1} more)`);
  const adapters: Params = {};
  const decoded = [...header.tensors.keys()].map((name) => [name, decodeTensor(bytes, header, name)] as const);
  for (const [name, t] of decoded) checkFiniteWeights('LoRA export', name, t.data);
  for (const [name, t] of decoded) adapters[name] = tf.tensor(t.data, t.shape, 'float32');
  const params = mergeStudent(teacher, adapters, student);
  tf.dispose(Object.values(adapters));
  const model: AnyModelConfig = { ...asStudentModel(teacherModel, student), name: `${teacherModel.name}-rapm-student` };
  if (timesteps) model.studentTimesteps = timesteps;
  return { model, params };
}
