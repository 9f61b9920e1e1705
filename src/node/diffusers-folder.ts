/**
 * A diffusers model folder on disk -> the three files diffusers/folder.ts reads. DIR may be the
 * UNet's own folder (config.json + diffusion_pytorch_model.safetensors, with scheduler_config.json
 * in it or in the sibling `scheduler/` of a saved pipeline) or a saved pipeline's root (`unet/`
 * and `scheduler/` inside): the layouts of core/diffusers/layout.ts, which the studio's page
 * reads picked folders by, here over the files on disk.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DiffusersFiles } from '../core/diffusers/folder';
import { locateDiffusersFiles, SCHEDULER_FILE } from '../core/diffusers/layout';
import { DiffusersError } from '../core/io/errors';

export interface DiffusersFolder {
  files: DiffusersFiles;
  /** Where each file was found. */
  paths: { config: string; scheduler: string; weights: string };
  /** The folder's name, the model's name by default. */
  name: string;
}

/** DIR's files and those of its subfolders, and a sibling scheduler/'s config, relative to DIR's parent. */
function candidates(root: string): string[] {
  const top = basename(root);
  const paths: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.isFile()) paths.push(`${top}/${entry.name}`);
    else if (entry.isDirectory()) {
      for (const inner of readdirSync(join(root, entry.name), { withFileTypes: true }))
        if (inner.isFile()) paths.push(`${top}/${entry.name}/${inner.name}`);
    }
  }
  if (existsSync(join(dirname(root), 'scheduler', SCHEDULER_FILE))) paths.push(`scheduler/${SCHEDULER_FILE}`);
  return paths;
}

export async function readDiffusersFolder(dir: string): Promise<DiffusersFolder> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new DiffusersError('missing-file', dir, 'not found: give a diffusers model folder');
  const layout = locateDiffusersFiles(candidates(root));
  const onDisk = (path: string) => join(dirname(root), path);
  const paths = { config: onDisk(layout.config), scheduler: onDisk(layout.scheduler), weights: onDisk(layout.weights) };
  const [config, scheduler, weights] = await Promise.all([
    readFile(paths.config),
    readFile(paths.scheduler),
    readFile(paths.weights),
  ]);
  return { files: { config, scheduler, weights }, paths, name: layout.name ?? basename(root) };
}
