/**
 * A diffusers model folder on disk -> the three files diffusers/folder.ts reads. DIR may be the
 * UNet's own folder (config.json + diffusion_pytorch_model.safetensors, with scheduler_config.json
 * in it or in the sibling `scheduler/` of a saved pipeline) or a saved pipeline's root (`unet/`
 * and `scheduler/` inside).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CONFIG_FILE } from '../core/diffusers/config';
import type { DiffusersFiles } from '../core/diffusers/folder';
import { SCHEDULER_FILE } from '../core/diffusers/scheduler';
import { WEIGHTS_FILE } from '../core/diffusers/weights';
import { DiffusersError } from '../core/io/errors';

export interface DiffusersFolder {
  files: DiffusersFiles;
  /** Where each file was found. */
  paths: { config: string; scheduler: string; weights: string };
  /** The folder's name, the model's name by default. */
  name: string;
}

export async function readDiffusersFolder(dir: string): Promise<DiffusersFolder> {
  const root = resolve(dir);
  const unetDir = existsSync(join(root, 'unet', CONFIG_FILE)) ? join(root, 'unet') : root;
  const schedulerPath = [join(unetDir, SCHEDULER_FILE), join(dirname(unetDir), 'scheduler', SCHEDULER_FILE)].find(
    existsSync,
  );
  const paths = {
    config: join(unetDir, CONFIG_FILE),
    weights: join(unetDir, WEIGHTS_FILE),
    scheduler: schedulerPath ?? join(unetDir, SCHEDULER_FILE),
  };
  for (const [what, path] of Object.entries(paths)) {
    if (!existsSync(path)) {
      throw new DiffusersError('missing-file', basename(path), `not found (looked for the ${what} file at ${path})`);
    }
  }
  const [config, scheduler, weights] = await Promise.all([
    readFile(paths.config),
    readFile(paths.scheduler),
    readFile(paths.weights),
  ]);
  const name = basename(unetDir === root ? root : dirname(unetDir));
  return { files: { config, scheduler, weights }, paths, name };
}
