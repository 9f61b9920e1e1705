/** The CLI's --model DIR on disk: the UNet's folder, a saved pipeline's root or its unet/, by the layouts of core/diffusers/layout.ts. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusersError } from '../core/io/errors';
import { readDiffusersFolder } from './diffusers-folder';
import { GOLDEN_ROOT } from './diffusers-golden.test-util';

const FIXTURE = join(GOLDEN_ROOT, 'uncond-32-plain');

describe('readDiffusersFolder', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rapm-folder-'));
    const put = (dir: string, file: string) => {
      mkdirSync(join(tmp, dir), { recursive: true });
      copyFileSync(join(FIXTURE, file), join(tmp, dir, file));
    };
    put('pipe/unet', 'config.json');
    put('pipe/unet', 'diffusion_pytorch_model.safetensors');
    put('pipe/scheduler', 'scheduler_config.json');
    put('pipe/vae', 'config.json');
    put('pipe/vae', 'diffusion_pytorch_model.safetensors');
    put('lonely', 'config.json');
    put('lonely', 'diffusion_pytorch_model.safetensors');
  });
  afterAll(() => rmSync(tmp, { recursive: true }));

  it("reads a UNet's own folder by its name", async () => {
    const folder = await readDiffusersFolder(FIXTURE);
    expect(folder.name).toBe('uncond-32-plain');
    expect(folder.paths.scheduler).toBe(join(FIXTURE, 'scheduler_config.json'));
  });

  it("reads a saved pipeline's root (its unet/, not its vae/) and its unet/ with the sibling scheduler/", async () => {
    const root = await readDiffusersFolder(join(tmp, 'pipe'));
    expect(root.name).toBe('pipe');
    expect(root.paths).toEqual({
      config: join(tmp, 'pipe/unet/config.json'),
      scheduler: join(tmp, 'pipe/scheduler/scheduler_config.json'),
      weights: join(tmp, 'pipe/unet/diffusion_pytorch_model.safetensors'),
    });
    const unet = await readDiffusersFolder(join(tmp, 'pipe/unet'));
    expect(unet.paths).toEqual(root.paths);
    expect(unet.name).toBe('unet');
  });

  it('names the missing file', async () => {
    const lonely = await readDiffusersFolder(join(tmp, 'lonely')).catch((e: unknown) => e);
    expect(lonely).toBeInstanceOf(DiffusersError);
    expect((lonely as DiffusersError).file).toBe('scheduler_config.json');
    expect((lonely as Error).message).toContain('lonely/scheduler_config.json and scheduler/scheduler_config.json');
    await expect(readDiffusersFolder(join(tmp, 'nope'))).rejects.toThrow(/not found/);
  });
});
