/**
 * The worker's teacher loading from files, on the real diffusers fixtures: what the panel is told,
 * the identity the CLI computes for the same folder, typed errors with nothing allocated for a bad
 * folder or one too large for the device, the pipeline layout, and old stored records as bundles.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DiffusersError } from '../core/io/errors';
import { ModelTooLargeError } from '../core/model-fit';
import { diffusersTeacherHash } from '../core/teacher-load';
import { GOLDEN_ROOT } from '../node/diffusers-golden.test-util';
import { pickedDiffusersFolder, storedTeacherFiles, teacherOfFiles, type TeacherFiles } from './teacher';

const buffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const read = (name: string, file: string) => buffer(readFileSync(join(GOLDEN_ROOT, name, file)));

function folder(name: string): TeacherFiles & { kind: 'diffusers' } {
  return {
    kind: 'diffusers',
    name,
    config: read(name, 'config.json'),
    scheduler: read(name, 'scheduler_config.json'),
    weights: read(name, 'diffusion_pytorch_model.safetensors'),
  };
}

describe('the worker loads a diffusers folder as its teacher', () => {
  it('tells the panel the architecture, scheduler, size and the identity the CLI computes', async () => {
    const files = folder('cond-28-attn');
    const teacher = await teacherOfFiles(files, false);
    try {
      const { info } = teacher;
      expect(info.name).toBe('cond-28-attn');
      expect(info.sha256).toBe(
        await diffusersTeacherHash({
          config: new Uint8Array(files.config),
          scheduler: new Uint8Array(files.scheduler),
          weights: new Uint8Array(files.weights),
        }),
      );
      expect(teacher.identity).toEqual({ name: 'cond-28-attn', sha256: info.sha256 });
      expect(info.config.architecture).toBe('diffusers-unet2d');
      expect(info.config.numClasses).toBe(10);
      expect(info.scheduler).toEqual({ className: 'DDIMScheduler', spacing: expect.any(String), stepsOffset: 0 });
      expect(info.params).toBeGreaterThan(0);
      expect(info.bytes).toBe(files.config.byteLength + files.scheduler.byteLength + files.weights.byteLength);
      expect(info.builtin).toBe(false);
    } finally {
      tf.dispose(Object.values(teacher.params));
    }
  });

  it('refuses a bad config with a typed error naming the field and value, allocating nothing', async () => {
    const files = folder('uncond-32-plain');
    const config = JSON.parse(new TextDecoder().decode(files.config));
    config.up_block_types = ['CrossAttnUpBlock2D', 'UpBlock2D'];
    const before = tf.memory().numTensors;
    const bad = { ...files, config: buffer(Buffer.from(JSON.stringify(config))) };
    const error = await teacherOfFiles(bad, false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiffusersError);
    expect((error as DiffusersError).field).toBe('up_block_types');
    expect((error as Error).message).toContain('CrossAttnUpBlock2D');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a model too large for the device before decoding a weight', async () => {
    const before = tf.memory().numTensors;
    const tiny = { backend: 'webgpu', maxBufferSize: 1024, maxStorageBufferBindingSize: 1024 };
    const error = await teacherOfFiles(folder('uncond-32-rgb'), false, tiny).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelTooLargeError);
    expect((error as ModelTooLargeError).limit).toBe('maxBufferSize');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finds the three files of a saved pipeline among picked files and reads only those', async () => {
    const files = folder('uncond-32-plain');
    const blob = (b: ArrayBuffer) => new Blob([b]);
    const unread = new Blob([new Uint8Array(8)]);
    unread.arrayBuffer = () => Promise.reject(new Error('the vae was read'));
    const picked = await pickedDiffusersFolder([
      { path: 'my-ddpm/model_index.json', file: unread },
      { path: 'my-ddpm/vae/config.json', file: unread },
      { path: 'my-ddpm/vae/diffusion_pytorch_model.safetensors', file: unread },
      { path: 'my-ddpm/unet/config.json', file: blob(files.config) },
      { path: 'my-ddpm/unet/diffusion_pytorch_model.safetensors', file: blob(files.weights) },
      { path: 'my-ddpm/scheduler/scheduler_config.json', file: blob(files.scheduler) },
    ]);
    expect(picked.name).toBe('my-ddpm');
    expect(new Uint8Array(picked.weights)).toEqual(new Uint8Array(files.weights));
    expect(new Uint8Array(picked.scheduler)).toEqual(new Uint8Array(files.scheduler));
    await expect(pickedDiffusersFolder([{ path: 'x/config.json', file: blob(files.config) }])).rejects.toThrow(
      /diffusion_pytorch_model\.safetensors: not found beside x\/config\.json/,
    );
  });

  it('reads old stored records (no diffusers files) as bundles, new ones as folders', () => {
    const identity = { name: 'm', sha256: 'ab'.repeat(32) };
    const bytes = new ArrayBuffer(4);
    expect(storedTeacherFiles({ fileName: 'teacher.safetensors', identity, bytes })).toEqual({
      kind: 'bundle',
      fileName: 'teacher.safetensors',
      bytes,
    });
    const config = new ArrayBuffer(2);
    const scheduler = new ArrayBuffer(3);
    expect(storedTeacherFiles({ fileName: 'm', identity, bytes, diffusers: { config, scheduler } })).toEqual({
      kind: 'diffusers',
      name: 'm',
      config,
      scheduler,
      weights: bytes,
    });
  });
});
