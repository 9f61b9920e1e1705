/**
 * The replayed step (replayed-step.ts, kernels/step-graph.ts) against the composed path, both on
 * tfjs's webgpu backend through Dawn in Node on SwiftShader (real arithmetic on the CPU; needs the
 * dev dependency `webgpu` and the SwiftShader Vulkan driver that ships with Debian's chromium).
 * The replay encodes the same programs on the same values, so it must equal the composed path:
 * every metric and the whole packed state (weights, moments, EMA, both heads), and a UNet's
 * forward and every parameter gradient replayed on new inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasSwiftShader, useSwiftShaderWebGpu } from '../../node/swiftshader.test-util';
import { DEFAULT_RAPM, type RapmConfig } from './config';
import { TINY_GEOMETRY, TINY_MODEL, tinyBatch, tinyTeacher } from './fixtures.test-util';
import { StepGraph } from '../kernels/step-graph';
import { applyUnet, type Params } from '../nn/unet';
import { gaussian } from '../random';
import { setStepReplay } from './replayed-step';
import { RapmTrainer } from './trainer';
import type { RapmMetrics } from './metrics';

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

describe.runIf(hasSwiftShader())('replayed RAPM step on webgpu (Dawn on SwiftShader)', () => {
  beforeAll(async () => {
    await useSwiftShaderWebGpu();
  }, 300_000);
  afterAll(() => setStepReplay(true));

  it('replays a UNet forward and every parameter gradient with new inputs exactly', async () => {
    const teacher = tinyTeacher(2);
    const names = Object.keys(teacher);
    const pass = (p: Params, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D) =>
      tf.tidy(() =>
        tf.valueAndGrads((...ps: tf.Tensor[]) => {
          const q = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
          return tf.sum(tf.mul(applyUnet(TINY_MODEL.unet, q, x, t, labels), tf.scalar(0.5))) as tf.Scalar;
        })(names.map((n) => p[n])),
      );
    const values = (seed: number) =>
      [gaussian(seed, 2 * 64), Float32Array.of(30 + seed, 800), Int32Array.of(seed % 3, 1)] as const;
    const tensors = (v: ReturnType<typeof values>) =>
      [tf.tensor4d(v[0], [2, 8, 8, 1]), tf.tensor1d(v[1]), tf.tensor1d(v[2], 'int32')] as const;
    // warm-up (uploads the weights), then the capture on inputs A and a replay on inputs B
    const warm = tensors(values(1));
    tf.dispose([...Object.values(pass(teacher, ...warm)).flat(), ...warm]);
    const inputs = tensors(values(1));
    const { graph, result } = StepGraph.capture({
      inputs: [...inputs],
      state: () => [],
      run: () => pass(teacher, ...inputs),
      readout: (r) => r.value,
      keep: (r) => r.grads,
    });
    const b = values(2);
    const replayed = await graph.replay([...b]);
    const replayedGrads = await Promise.all(result.grads.map((g) => g.data()));
    const ref = pass(teacher, ...tensors(b));
    expect(Array.from(replayed)).toEqual(Array.from(await ref.value.data()));
    for (let i = 0; i < names.length; i++) {
      expect(Array.from(replayedGrads[i]), names[i]).toEqual(Array.from(await ref.grads[i].data()));
    }
    graph.dispose();
    tf.dispose([ref.value, ...ref.grads, result.value, ...result.grads, ...inputs, ...Object.values(teacher)]);
  }, 300_000);

  it('equals the composed path over six iterations, across a change of shapes (metrics and packed state)', async () => {
    // iterations 1 (warm-up) and 2 (capture) run through tfjs, 3 is a replay; the batch without
    // Delta points changes the shapes: 4 warms up again, 5 captures, 6 replays
    const delta = [true, true, true, false, false, false];
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
