/**
 * A diffusers teacher's student trains on tfjs's webgpu backend (Dawn in Node on SwiftShader, real
 * arithmetic on the CPU; needs the dev dependency `webgpu` and Debian chromium's SwiftShader driver).
 * uncond-32-rgb has what broke it: downsample_padding 0 (the stride-2 read once used a 5-D slice,
 * whose gradient is a 5-D pad that tfjs-webgpu cannot compile) and single-head attention (its q/k/v
 * biases were concatenated on the CPU, and the captured step refuses read-backs). The replayed
 * step must capture and equal the composed path, metric for metric.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasSwiftShader, useSwiftShaderWebGpu } from '../../node/swiftshader.test-util';
import { DEFAULT_RAPM } from '../rapm/config';
import type { RapmMetrics } from '../rapm/metrics';
import { setStepReplay } from '../rapm/replayed-step';
import { RapmTrainer, type TrajectoryBatch } from '../rapm/trainer';
import { gaussian } from '../random';
import { diffusersTeacher } from '../teacher-load';
import { readDiffusersFolder } from '../../node/diffusers-folder';
import { GOLDEN_ROOT } from '../../node/diffusers-golden.test-util';

const GEOMETRY = { coarseTimesteps: [999, 749, 499, 249], deltaTimesteps: [968, 718, 468, 218], guidance: 1 };
const PIXELS = 3 * 32 * 32;

const batch = (i: number): TrajectoryBatch => ({
  positions: gaussian(10 + i, 5 * PIXELS),
  deltaPositions: gaussian(100 + i, 4 * PIXELS),
  labels: Int32Array.of(0),
});

async function train(replay: boolean, iterations: number) {
  setStepReplay(replay);
  const folder = await readDiffusersFolder(join(GOLDEN_ROOT, 'uncond-32-rgb'));
  const teacher = await diffusersTeacher(folder.files, folder.name);
  const trainer = new RapmTrainer(teacher.config, teacher.params, GEOMETRY, DEFAULT_RAPM);
  const metrics: RapmMetrics[] = [];
  const counts: number[] = [];
  for (let i = 0; i < iterations; i++) {
    metrics.push(await trainer.stepAsync(batch(i)));
    counts.push(tf.memory().numTensors);
  }
  const failure = trainer.replayed.failure;
  const replayedMs = trainer.replayed.lastSubmitMs;
  trainer.dispose();
  tf.dispose(Object.values(teacher.params));
  return { metrics, counts, failure, replayedMs };
}

const strip = (m: RapmMetrics) => ({ ...m, ms: 0 });

describe.runIf(hasSwiftShader())('a diffusers teacher trains on webgpu (Dawn on SwiftShader)', () => {
  beforeAll(async () => {
    await useSwiftShaderWebGpu();
  }, 300_000);
  afterAll(() => setStepReplay(true));

  it('LoRA student of uncond-32-rgb: the step is captured and replayed, equal to tfjs composing it', async () => {
    const replayed = await train(true, 4);
    expect(replayed.failure).toBeNull();
    expect(replayed.replayedMs).not.toBeNull();
    for (const m of replayed.metrics) expect(Number.isFinite(m.studentLoss)).toBe(true);
    // flat after the warm-up and the capture
    expect(new Set(replayed.counts.slice(2)).size).toBe(1);
    const composed = await train(false, 4);
    expect(replayed.metrics.map(strip)).toEqual(composed.metrics.map(strip));
  }, 900_000);
});
