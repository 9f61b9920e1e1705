/**
 * The replayed step (replayed-step.ts, kernels/step-graph.ts) against the composed path, both on
 * tfjs's webgpu backend through Dawn in Node on SwiftShader (real arithmetic on the CPU; needs the
 * dev dependency `webgpu` and the SwiftShader Vulkan driver that ships with Debian's chromium).
 * The replay encodes the same programs on the same values, so it must equal the composed path:
 * every metric and the whole packed state (weights, moments, EMA, both heads) after three
 * iterations, the third and later ones replayed.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RAPM, type RapmConfig } from './config';
import { TINY_GEOMETRY, TINY_MODEL, tinyBatch, tinyTeacher } from './fixtures.test-util';
import { setStepReplay } from './replayed-step';
import { RapmTrainer } from './trainer';
import type { RapmMetrics } from './metrics';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const cfg = (over: Partial<RapmConfig> = {}): RapmConfig => ({
  ...DEFAULT_RAPM,
  studentLr: 1e-3,
  discLr: 1e-3,
  ...over,
});

/** `delta[i]`: whether iteration i's batch has stored Delta points (a change of shapes captures again). */
async function run(replay: boolean, over: Partial<RapmConfig>, delta: boolean[]) {
  setStepReplay(replay);
  const teacher = tinyTeacher(1);
  const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, cfg(over));
  const metrics: RapmMetrics[] = [];
  for (let i = 0; i < delta.length; i++) metrics.push(await trainer.stepAsync(tinyBatch(10 + i, 1, delta[i])));
  const state = await Promise.all(trainer.stateTensors().map((t) => t.data()));
  return { trainer, teacher, metrics, state };
}

const strip = (m: RapmMetrics) => ({ ...m, ms: 0 });

describe.runIf(existsSync(ICD))('replayed RAPM step on webgpu (Dawn on SwiftShader)', () => {
  beforeAll(async () => {
    process.env.VK_ICD_FILENAMES = ICD;
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const { useBackend } = await import('../../node/backend');
    await useBackend('webgpu');
  }, 300_000);
  afterAll(() => setStepReplay(true));

  it('equals the composed path over eight iterations, across a change of shapes (metrics and packed state)', async () => {
    // iterations 1 (warm-up) and 2 (capture) run through tfjs, 3-5 are replays; the batch
    // without Delta points changes the shapes: 6 warms up again, 7 captures, 8 replays
    const delta = [true, true, true, true, true, false, false, false];
    const ref = await run(false, {}, delta);
    const rep = await run(true, {}, delta);
    expect(rep.metrics.map(strip)).toEqual(ref.metrics.map(strip));
    rep.state.forEach((s, i) => expect(Array.from(s)).toEqual(Array.from(ref.state[i])));
    for (const r of [ref, rep]) {
      r.trainer.dispose();
      tf.dispose(Object.values(r.teacher));
    }
  }, 600_000);
});
