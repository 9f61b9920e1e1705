import { describe, expect, it } from 'vitest';
import { DiffusersError } from '../io/errors';
import { locateDiffusersFiles } from './layout';

const UNET = ['config.json', 'diffusion_pytorch_model.safetensors', 'scheduler_config.json'];

function refused(paths: string[]): DiffusersError {
  try {
    locateDiffusersFiles(paths);
  } catch (e) {
    if (e instanceof DiffusersError) return e;
    throw e;
  }
  throw new Error(`accepted ${paths.join(', ')}`);
}

describe('locateDiffusersFiles', () => {
  it('finds loose files (no folder name)', () => {
    expect(locateDiffusersFiles(UNET)).toEqual({
      config: 'config.json',
      scheduler: 'scheduler_config.json',
      weights: 'diffusion_pytorch_model.safetensors',
      name: null,
    });
  });

  it('finds a picked UNet folder and names the model after it', () => {
    const layout = locateDiffusersFiles([...UNET.map((f) => `uncond-32-plain/${f}`), 'uncond-32-plain/README.md']);
    expect(layout).toEqual({
      config: 'uncond-32-plain/config.json',
      scheduler: 'uncond-32-plain/scheduler_config.json',
      weights: 'uncond-32-plain/diffusion_pytorch_model.safetensors',
      name: 'uncond-32-plain',
    });
  });

  it('finds the unet/ and scheduler/ of a saved pipeline, beside a vae/ that also has weights', () => {
    const layout = locateDiffusersFiles([
      'ddpm/model_index.json',
      'ddpm/vae/config.json',
      'ddpm/vae/diffusion_pytorch_model.safetensors',
      'ddpm/unet/config.json',
      'ddpm/unet/diffusion_pytorch_model.safetensors',
      'ddpm/scheduler/scheduler_config.json',
    ]);
    expect(layout).toEqual({
      config: 'ddpm/unet/config.json',
      scheduler: 'ddpm/scheduler/scheduler_config.json',
      weights: 'ddpm/unet/diffusion_pytorch_model.safetensors',
      name: 'ddpm',
    });
  });

  it('prefers the scheduler config beside the UNet over the pipeline one', () => {
    const layout = locateDiffusersFiles([...UNET.map((f) => `p/unet/${f}`), 'p/scheduler/scheduler_config.json']);
    expect(layout.scheduler).toBe('p/unet/scheduler_config.json');
  });

  it('names the missing file and where it looked', () => {
    const noWeights = refused(['m/config.json', 'm/scheduler_config.json']);
    expect(noWeights.code).toBe('missing-file');
    expect(noWeights.file).toBe('diffusion_pytorch_model.safetensors');
    expect(noWeights.message).toContain('m/diffusion_pytorch_model.safetensors');

    const noScheduler = refused(['p/unet/config.json', 'p/unet/diffusion_pytorch_model.safetensors']);
    expect(noScheduler.file).toBe('scheduler_config.json');
    expect(noScheduler.message).toContain('p/scheduler/scheduler_config.json');

    expect(refused(['weights.safetensors']).file).toBe('config.json');
  });

  it('refuses two model folders where neither is unet/', () => {
    const e = refused([...UNET.map((f) => `a/${f}`), ...UNET.map((f) => `b/${f}`)]);
    expect(e.message).toMatch(/found 2 model folders .*a\/config\.json, b\/config\.json/);
  });
});
