/**
 * The worker's diffusers downloads of a student, on a real fixture teacher held as the page holds
 * one (a config with `architecture: 'diffusers-unet2d'` and its `diffusers` UNet config): one zip
 * whose folder loads back through the diffusers import, with the student's grid.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStoredZip } from '../core/io/zip.test-util';
import { loadDiffusersModel, type DiffusersModel } from '../core/diffusers/folder';
import type { StudentSnapshot } from '../core/rapm/student-snapshot';
import { loadGolden } from '../node/diffusers-golden.test-util';
import { diffusersStudentZip, teacherDiffusersUnet } from './student-export';
import type { LoadedTeacher } from './teacher';

/** name -> bytes of a stored zip's entries (local headers in order). */
/** The zip's files by name; every entry is stored, as writeZip writes them. */
function unzip(zip: Uint8Array): Map<string, Uint8Array> {
  const entries = readStoredZip(zip);
  for (const e of entries.values()) expect(e.method).toBe(0); // stored
  return new Map([...entries].map(([name, e]) => [name, e.bytes]));
}

describe('diffusers downloads of a student', () => {
  let model: DiffusersModel;
  let teacher: Pick<LoadedTeacher, 'config' | 'params' | 'identity'>;
  beforeAll(async () => {
    model = await loadGolden('uncond-32-plain');
    teacher = {
      config: model.sampling,
      params: model.params,
      identity: { name: 'uncond-32-plain', sha256: 'ab'.repeat(32) },
    };
  });
  afterAll(() => tf.dispose(Object.values(model.params)));

  it('zips the diffusers folder of a fully fine-tuned student, which loads back with its grid', async () => {
    const snapshot: StudentSnapshot = {
      student: { mode: 'full', rank: 1, alpha: 1, targets: [] },
      weights: model.params,
      timesteps: [499, 249],
      iteration: 3,
    };
    const { zip } = await diffusersStudentZip(snapshot, teacher, 'diffusers', 'student-it3');
    const files = unzip(zip);
    expect([...files.keys()]).toEqual([
      'student-it3/config.json',
      'student-it3/diffusion_pytorch_model.safetensors',
      'student-it3/scheduler_config.json',
    ]);
    const back = loadDiffusersModel({
      config: files.get('student-it3/config.json') as Uint8Array,
      scheduler: files.get('student-it3/scheduler_config.json') as Uint8Array,
      weights: files.get('student-it3/diffusion_pytorch_model.safetensors') as Uint8Array,
    });
    expect(back.unet).toEqual(model.unet);
    expect(back.sampling.studentTimesteps).toEqual([499, 249]);
    expect(back.sampling.schedule).toEqual(model.sampling.schedule);
    tf.dispose(Object.values(back.params));
  });

  it("refuses the diffusers forms for this studio's own teacher, saying what to do", async () => {
    const own = {
      ...teacher,
      config: { ...teacher.config, architecture: 'unet' } as unknown as LoadedTeacher['config'],
    };
    expect(teacherDiffusersUnet(own)).toBeUndefined();
    const snapshot: StudentSnapshot = {
      student: { mode: 'lora', rank: 1, alpha: 1, targets: [] },
      weights: {},
      timesteps: [499],
      iteration: 0,
    };
    await expect(diffusersStudentZip(snapshot, own, 'peft', 'x')).rejects.toThrow(/export it merged or as LoRA/);
  });
});
