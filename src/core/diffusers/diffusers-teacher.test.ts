/**
 * A diffusers UNet2DModel as a teacher, through the same core as our bundles, on the golden
 * fixtures (real files, read from e2e/fixtures/diffusers/): shards written from each fixture hold
 * exactly a direct DDIM of the model (same noise, same grid), name the folder's identity, and an
 * unconditional model's shards have numClasses 0; guidance for it is refused by name; a few RAPM
 * iterations with a LoRA student (and one fully fine-tuned) run with finite losses and no tensor
 * growth; and a model too large for the backend's limits is refused before a weight is decoded.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelDdim, modelDenoiser } from '../diffusion/model-sampling';
import { sampleDdim, seededNoise } from '../diffusion/sampler';
import { readShard } from '../io/shards';
import { ModelTooLargeError } from '../model-fit';
import { DEFAULT_RAPM, type RapmConfig } from '../rapm/config';
import { TrainingDriver } from '../rapm/training-driver';
import type { TeacherModel } from '../rapm/teacher-model';
import { diffusersTeacher, diffusersTeacherHash } from '../teacher-load';
import { TrajectoryRequestError } from '../rapm/trajectories';
import { readDiffusersFolder } from '../../node/diffusers-folder';
import { GOLDEN_FIXTURES, GOLDEN_ROOT } from '../../node/diffusers-golden.test-util';
import { writeShardDir } from '../../node/trajectory-shards';

const dir = mkdtempSync(join(tmpdir(), 'diffusers-teacher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function teacherOf(name: string): Promise<TeacherModel> {
  const folder = await readDiffusersFolder(join(GOLDEN_ROOT, name));
  return diffusersTeacher(folder.files, folder.name);
}

const SLOTS = 2;
const FINE = 2;

async function shardsOf(name: string, teacher: TeacherModel, guidanceScale: number) {
  const out = join(dir, `${name}-w${guidanceScale}`);
  await writeShardDir({
    teacher,
    outDir: out,
    count: 3,
    perShard: 3,
    slots: SLOTS,
    stepsPerSlot: FINE,
    guidanceScale,
    seed: 0,
    dtype: 'F32',
    batchSize: 2,
  });
  return readShard(readFileSync(join(out, 'shard-00000.safetensors')), teacher);
}

describe('a diffusers folder as a teacher', () => {
  it.each(GOLDEN_FIXTURES)('%s: its shards hold a direct DDIM of the model, named by the folder', async (name) => {
    const teacher = await teacherOf(name);
    const conditional = teacher.config.numClasses > 0;
    const guidance = conditional ? 2 : 1;
    const shard = await shardsOf(name, teacher, guidance);
    const files = (await readDiffusersFolder(join(GOLDEN_ROOT, name))).files;
    expect(shard.meta.teacher).toEqual({ name, sha256: await diffusersTeacherHash(files) });
    expect(shard.meta.numClasses).toBe(teacher.config.numClasses);
    const { channels: c, height: h, width: w } = teacher.config.data;
    const seeds = Array.from(shard.seeds!);
    const labels = Array.from(shard.labels);
    if (!conditional) expect(labels).toEqual([0, 0, 0]);
    // the same model's DDIM, called directly: trailing grid of N * M steps from the seeds' noise
    const noise = seededNoise(seeds, h, w, c);
    const label = tf.tensor1d(labels, 'int32');
    const coarse = shard.meta.coarseTimesteps;
    const direct = sampleDdim(modelDdim(teacher.config), modelDenoiser(teacher.config, teacher.params), noise, label, {
      steps: SLOTS * FINE,
      spacing: 'trailing',
      guidanceScale: guidance,
      numClasses: teacher.config.numClasses,
      keepAt: coarse,
    });
    const at = new Map(direct.points.map((p) => [p.t, p.z]));
    const points = [...coarse.map((t) => at.get(t)!), direct.samples];
    const expected = tf.tidy(() => tf.transpose(tf.stack(points, 1), [0, 1, 4, 2, 3]));
    const want = (await expected.data()) as Float32Array;
    let worst = 0;
    let scale = 0;
    want.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - shard.positions[i]));
      scale = Math.max(scale, Math.abs(v));
    });
    expect(worst / scale).toBeLessThanOrEqual(1e-6);
    tf.dispose([noise, label, expected, direct.samples, ...direct.points.map((p) => p.z)]);
    tf.dispose(Object.values(teacher.params));
  });

  it('refuses guidance for an unconditional model, by name', async () => {
    const teacher = await teacherOf('uncond-32-plain');
    await expect(shardsOf('uncond-32-plain', teacher, 3)).rejects.toThrow(TrajectoryRequestError);
    await expect(shardsOf('uncond-32-plain', teacher, 3)).rejects.toThrow(
      /guidance scale 3 for the unconditional model 'uncond-32-plain'/,
    );
    tf.dispose(Object.values(teacher.params));
  });

  it.each([
    ['cond-28-attn', 'lora'],
    ['uncond-32-rgb', 'lora'],
    ['uncond-32-plain', 'full'],
  ] as const)('%s: a %s student trains a few iterations, losses finite, tensor count flat', async (name, mode) => {
    const teacher = await teacherOf(name);
    const guidance = teacher.config.numClasses > 0 ? 2 : 1;
    const shard = await shardsOf(name, teacher, guidance);
    const config: RapmConfig = { ...DEFAULT_RAPM, student: { ...DEFAULT_RAPM.student, mode } };
    const driver = TrainingDriver.start(teacher, [{ name, shard }], config, {
      checkpoints: { everyIterations: 0, everySeconds: 0 },
    });
    // the LoRA student adapts the diffusers names of the default targets
    if (mode === 'lora') {
      const adapted = Object.keys(driver.trainer.trainable).filter((k) => k.endsWith('.A'));
      expect(adapted).toContain('lora.conv_in.weight.A');
      expect(adapted.some((k) => k.includes('resnets.0.conv1.weight'))).toBe(true);
    }
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const m = await driver.step();
      expect(Number.isFinite(m.studentLoss)).toBe(true);
      expect(Number.isFinite(m.discLossRel) && Number.isFinite(m.discLossAbs)).toBe(true);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[3]).toBe(counts[1]);
    driver.dispose();
    tf.dispose(Object.values(teacher.params));
  });

  it('refuses a model over the limits before decoding a weight, naming the limit', async () => {
    const folder = await readDiffusersFolder(join(GOLDEN_ROOT, 'uncond-32-rgb'));
    const before = tf.memory().numTensors;
    const tiny = { backend: 'webgpu', maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 4096 };
    const refusal = await diffusersTeacher(folder.files, 'x', tiny).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ModelTooLargeError);
    expect((refusal as ModelTooLargeError).limit).toBe('maxStorageBufferBindingSize');
    expect((refusal as Error).message).toMatch(/over the device's maxStorageBufferBindingSize of 0\.0 MiB/);
    const memory = await diffusersTeacher(folder.files, 'x', { backend: 'wasm', memoryBytes: 1 << 20 }).catch(
      (e: unknown) => e,
    );
    expect((memory as ModelTooLargeError).limit).toBe('memory');
    expect(tf.memory().numTensors).toBe(before);
  });
});
