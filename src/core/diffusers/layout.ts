/**
 * Where a diffusers model's three files sit among the files a person picked or dropped: the
 * UNet's own folder (config.json + diffusion_pytorch_model.safetensors, scheduler_config.json
 * beside them or in the sibling `scheduler/` of a saved pipeline), or a saved pipeline's root
 * (`unet/` and `scheduler/` inside, beside `vae/` and others). Paths are relative, '/'-separated
 * (a browser's webkitRelativePath; a bare name for loose files). Plain strings only: the page
 * uses it without loading tfjs.
 */
import { DiffusersError } from '../io/errors';

export const CONFIG_FILE = 'config.json';
export const SCHEDULER_FILE = 'scheduler_config.json';
export const WEIGHTS_FILE = 'diffusion_pytorch_model.safetensors';

export interface DiffusersLayout {
  /** The picked path of each file. */
  config: string;
  scheduler: string;
  weights: string;
  /** The model's name: its folder's, or the pipeline's for a `unet/` folder; null for loose files. */
  name: string | null;
}

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const baseOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

/** The three files' paths among `paths`, or a DiffusersError that names the missing file and where it was looked for. */
export function locateDiffusersFiles(paths: readonly string[]): DiffusersLayout {
  const have = new Set(paths.map((p) => p.replace(/^\/+/, '')));
  const configs = [...have].filter((p) => baseOf(p) === CONFIG_FILE);
  // a UNet folder holds its weights beside config.json (a vae/ does too: unet/ wins)
  const unets = configs.filter((p) => have.has(join(dirOf(p), WEIGHTS_FILE)));
  const unet =
    unets.find((p) => baseOf(dirOf(p)) === 'unet') ??
    (unets.length === 1 ? unets[0] : undefined) ??
    configs.find((p) => baseOf(dirOf(p)) === 'unet') ??
    (configs.length === 1 ? configs[0] : undefined);
  if (!unet) {
    if (unets.length > 1 || configs.length > 1) {
      throw new DiffusersError(
        'missing-file',
        CONFIG_FILE,
        `found ${unets.length || configs.length} model folders (${(unets.length ? unets : configs).join(', ')}) ` +
          `and none is named unet/: pick one UNet2DModel folder`,
      );
    }
    throw new DiffusersError(
      'missing-file',
      CONFIG_FILE,
      `not among the picked files (${[...have].join(', ') || 'none'}): pick a diffusers UNet2DModel folder ` +
        `(${CONFIG_FILE}, ${WEIGHTS_FILE}, ${SCHEDULER_FILE}) or a saved pipeline's folder`,
    );
  }
  const dir = dirOf(unet);
  const weights = join(dir, WEIGHTS_FILE);
  if (!have.has(weights)) {
    throw new DiffusersError('missing-file', WEIGHTS_FILE, `not found beside ${unet} (looked for ${weights})`);
  }
  const candidates = [join(dir, SCHEDULER_FILE), join(join(dirOf(dir), 'scheduler'), SCHEDULER_FILE)];
  const scheduler = candidates.find((p) => have.has(p));
  if (!scheduler) {
    throw new DiffusersError('missing-file', SCHEDULER_FILE, `not found (looked for ${candidates.join(' and ')})`);
  }
  const folder = baseOf(dir) === 'unet' ? baseOf(dirOf(dir)) : baseOf(dir);
  return { config: unet, scheduler, weights, name: folder || null };
}
