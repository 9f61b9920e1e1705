/** A run's student as a file: LoRA adapters only, or merged into the teacher as a model bundle. */
import { exportStudent } from '../core/rapm/student';
import type { StudentSnapshot } from '../core/rapm/student-snapshot';
import type { LoadedTeacher } from './teacher';

export async function studentFile(
  snapshot: StudentSnapshot,
  teacher: LoadedTeacher,
  form: 'lora' | 'merged',
  checkpoint: 'latest' | 'best' = 'latest',
): Promise<{ fileName: string; bytes: ArrayBuffer; iteration: number }> {
  const bytes = await exportStudent(teacher, snapshot, form, {
    tool: 'RAPM studio (browser)',
    date: new Date().toISOString(),
  });
  return {
    fileName: `${teacher.config.name}-rapm-${checkpoint === 'best' ? 'best-' : ''}${form}-it${snapshot.iteration}.safetensors`,
    bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    iteration: snapshot.iteration,
  };
}
