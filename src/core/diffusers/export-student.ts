/**
 * A student of a diffusers teacher in the two forms diffusers users load: the merged model as a
 * UNet2DModel folder (export.ts), or a LoRA student's adapters as a peft adapter folder
 * (export-peft.ts); and either folder as one stored zip, the page's single download.
 */
import * as tf from '@tensorflow/tfjs';
import { writeZip } from '../io/zip';
import type { Params } from '../nn/unet';
import { mergeStudent } from '../rapm/lora';
import { asStudentModel } from '../rapm/student-prediction';
import type { StudentSnapshot } from '../rapm/student-snapshot';
import { exportDiffusersFolder, type DiffusersExportTeacher, type ExportedFile } from './export';
import { exportPeftAdapter } from './export-peft';

export type DiffusersExportForm = 'diffusers' | 'peft';

/** What an export needs of the teacher: its parsed configs (a DiffusersModel is one) and its parameters. */
export interface DiffusersStudentTeacher extends DiffusersExportTeacher {
  params: Params;
}

/** The folder's files: `diffusers` merges the student into the teacher; `peft` writes a LoRA student's adapters. */
export async function exportDiffusersStudent(
  teacher: DiffusersStudentTeacher,
  snapshot: StudentSnapshot,
  form: DiffusersExportForm,
  provenance: Record<string, unknown> = {},
): Promise<ExportedFile[]> {
  const record = { ...provenance, iterations: snapshot.iteration };
  if (form === 'peft') {
    return exportPeftAdapter(teacher, snapshot.student, snapshot.weights, snapshot.timesteps, record);
  }
  const merged: Params = mergeStudent(teacher.params, snapshot.weights, snapshot.student);
  try {
    // the scheduler's prediction_type is the student's (student-prediction.ts)
    const asStudent = { ...teacher, sampling: asStudentModel(teacher.sampling, snapshot.student) };
    return await exportDiffusersFolder(asStudent, merged, snapshot.timesteps, { ...record, student: snapshot.student });
  } finally {
    tf.dispose(Object.values(merged));
  }
}

/** The files as one zip holding the folder `folder/`. */
export function zipFolder(folder: string, files: ExportedFile[]): Uint8Array {
  return writeZip(files.map((f) => ({ name: `${folder}/${f.name}`, bytes: f.bytes })));
}
