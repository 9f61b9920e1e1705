/**
 * A run's student as a download: LoRA adapters only, or merged into the teacher as a model bundle;
 * for a diffusers teacher also as a diffusers UNet2DModel folder or a peft LoRA adapter folder,
 * each zipped into one file (a browser downloads files, not folders).
 */
import type { ExportedFile } from '../core/diffusers/export';
import { exportDiffusersStudent, zipFolder, type DiffusersExportForm } from '../core/diffusers/export-student';
import type { DiffusersUNetConfig } from '../core/nn/diffusers-unet';
import { exportStudent } from '../core/rapm/student';
import type { StudentSnapshot } from '../core/rapm/student-snapshot';
import { TeacherRequiredError } from './studio-errors';
import type { LoadedTeacher } from './teacher';

export type StudentFileForm = 'lora' | 'merged' | DiffusersExportForm;

/** The teacher's UNet2DModel config when it is a diffusers model (its config's `diffusers`), else undefined. */
export function teacherDiffusersUnet(teacher: Pick<LoadedTeacher, 'config'>): DiffusersUNetConfig | undefined {
  return teacher.config.architecture === 'diffusers-unet2d' ? teacher.config.diffusers : undefined;
}

/**
 * The diffusers folder (form `diffusers`) or peft adapter folder (`peft`) of a snapshot, as the
 * files a zip holds and the zip itself, whose one folder is named like the file.
 */
export async function diffusersStudentZip(
  snapshot: StudentSnapshot,
  teacher: Pick<LoadedTeacher, 'config' | 'params' | 'identity'>,
  form: DiffusersExportForm,
  folder: string,
): Promise<{ files: ExportedFile[]; zip: Uint8Array }> {
  const unet = teacherDiffusersUnet(teacher);
  if (!unet) {
    throw new TeacherRequiredError(
      `The ${form === 'peft' ? 'peft LoRA' : 'diffusers folder'} export needs a diffusers UNet2DModel teacher; ` +
        `'${teacher.config.name}' is this studio's own model: export it merged or as LoRA.`,
    );
  }
  const files = await exportDiffusersStudent(
    { unet, sampling: teacher.config, params: teacher.params },
    snapshot,
    form,
    {
      tool: 'RAPM studio (browser)',
      date: new Date().toISOString(),
      teacher: teacher.identity,
    },
  );
  return { files, zip: zipFolder(folder, files) };
}

export async function studentFile(
  snapshot: StudentSnapshot,
  teacher: LoadedTeacher,
  form: StudentFileForm,
  checkpoint: 'latest' | 'best' = 'latest',
): Promise<{ fileName: string; bytes: ArrayBuffer; iteration: number }> {
  const base = `${teacher.config.name}-rapm-${checkpoint === 'best' ? 'best-' : ''}${form}-it${snapshot.iteration}`;
  const bytes =
    form === 'diffusers' || form === 'peft'
      ? (await diffusersStudentZip(snapshot, teacher, form, base)).zip
      : await exportStudent(teacher, snapshot, form, { tool: 'RAPM studio (browser)', date: new Date().toISOString() });
  return {
    fileName: `${base}.${form === 'diffusers' || form === 'peft' ? 'zip' : 'safetensors'}`,
    bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    iteration: snapshot.iteration,
  };
}
