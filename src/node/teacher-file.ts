/**
 * `--model PATH` / `--teacher PATH` of the command-line tools: a directory is a diffusers
 * UNet2DModel folder (src/node/diffusers-folder.ts), a file one of this studio's model bundles.
 * Either is checked to fit the current backend before its weights are decoded.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { backendLimits } from '../core/model-fit';
import type { TeacherModel } from '../core/rapm/teacher-model';
import { bundleTeacher, diffusersTeacher } from '../core/teacher-load';
import { readDiffusersFolder } from './diffusers-folder';

/** Whether PATH names a diffusers folder (a directory) rather than a bundle file. */
export function isModelFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The teacher at `path`, fresh tensors owned by the caller. */
export async function loadTeacherPath(path: string): Promise<TeacherModel> {
  // a WebGPU device's memory is its own (known on Dawn's null backend only), not the host's
  const limits = backendLimits(tf.getBackend() === 'webgpu' ? undefined : totalmem());
  if (isModelFolder(path)) {
    const folder = await readDiffusersFolder(path);
    return diffusersTeacher(folder.files, folder.name, limits);
  }
  return bundleTeacher(new Uint8Array(await readFile(path)), limits);
}
