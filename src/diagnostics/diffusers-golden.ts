/**
 * The diffusers golden check on the page's own backend (kernels.html: webgpu): the fixture's
 * files come from the test as bytes, the comparisons are the core's (core/diffusers/golden.ts),
 * the same the Node tests make.
 */
import * as tf from '@tensorflow/tfjs';
import { loadDiffusersModel } from '../core/diffusers/folder';
import { goldenForward, goldenTrajectory } from '../core/diffusers/golden';

/** A golden fixture folder's files, as base64 (page.evaluate carries strings cheaply). */
export interface GoldenFolder {
  name: string;
  config: string;
  scheduler: string;
  weights: string;
  inputs: string;
  outputs: string;
  ddim: string;
}

const bytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/** Forward and DDIM errors against diffusers, and the milliseconds each took (shader compilation included). */
export async function diffusersGolden(folder: GoldenFolder) {
  const model = loadDiffusersModel(
    { config: bytes(folder.config), scheduler: bytes(folder.scheduler), weights: bytes(folder.weights) },
    folder.name,
  );
  try {
    let start = performance.now();
    const forward = await goldenForward(model, bytes(folder.inputs), bytes(folder.outputs));
    const forwardMs = performance.now() - start;
    start = performance.now();
    const trajectory = await goldenTrajectory(model, bytes(folder.ddim));
    const trajectoryMs = performance.now() - start;
    return { backend: tf.getBackend(), forward, trajectory, forwardMs, trajectoryMs };
  } finally {
    tf.dispose(Object.values(model.params));
  }
}
