/** A run's student as a file: LoRA adapters only, or merged into the teacher as a model bundle. */
import { exportLora, exportMerged } from '../core/rapm/student';
import type { RapmTrainer } from '../core/rapm/trainer';
import type { LoadedTeacher } from './teacher';

export async function studentFile(
  trainer: RapmTrainer,
  teacher: LoadedTeacher,
  form: 'lora' | 'merged',
): Promise<{ fileName: string; bytes: ArrayBuffer; iteration: number }> {
  const provenance = {
    teacher: teacher.identity,
    iterations: trainer.iteration,
    tool: 'RAPM studio (browser)',
    date: new Date().toISOString(),
  };
  const weights = trainer.samplingWeights();
  const bytes =
    form === 'lora'
      ? await exportLora(teacher.config, trainer.cfg.student, weights, provenance)
      : await exportMerged(teacher.config, teacher.params, trainer.cfg.student, weights, provenance);
  return {
    fileName: `${teacher.config.name}-rapm-${form}-it${trainer.iteration}.safetensors`,
    bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    iteration: trainer.iteration,
  };
}
