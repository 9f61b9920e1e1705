/**
 * The fused-kernel diagnostics page (kernels.html): core code on the webgpu backend in the page
 * itself, so e2e tests can compare the fused kernels with tfjs's composed ops on the same device
 * and the dispatch benchmark can run one UNet forward or RAPM iteration at a time. Everything is
 * exposed as `window.rapmKernels`; nothing here is part of the studio.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setFusedKernels } from '../core/kernels/fused';
import { diffusersGolden } from './diffusers-golden';
import { startWasm } from './wasm-backend';
import { setStepReplay } from '../core/rapm/replayed-step';
import { registerWebGpuKernels } from '../core/kernels/register-webgpu';
import { MNIST_TEACHER_CONFIG } from '../core/mnist-teacher-config';
import type { ModelConfig } from '../core/model-config';
import { TINY_ATTENTION, tinyModelConfig } from '../core/tiny-model-config';
import { selfAttention } from '../core/nn/attention';
import { conditioning } from '../core/nn/conditioning';
import { groupNorm } from '../core/nn/group-norm';
import { MNIST_UNET, applyUnet, initUnetParams, type Params } from '../core/nn/unet';
import { DEFAULT_RAPM, type RapmConfig } from '../core/rapm/config';
import { studentParamsFromSegments } from '../core/rapm/lora';
import { RapmTrainer, type TrajectoryBatch, type TrajectoryGeometry } from '../core/rapm/trainer';
import { gaussian } from '../core/random';
import { Adam } from '../core/train/adam';
import { PackedAdam } from '../core/train/packed-adam';

/** One comparison: the fused result's relative L2 distance to the composed one. */
export interface Check {
  name: string;
  relError: number;
}

/** A tiny UNet with attention, so every GroupNorm variant and the attention path run. */
const TINY: ModelConfig = tinyModelConfig('kernel-diagnostics', 3, {
  ...TINY_ATTENTION,
  imageSize: 4,
  baseChannels: 4,
  groups: 2,
});
const TINY_GEOMETRY: TrajectoryGeometry = { coarseTimesteps: [999, 499], deltaTimesteps: [874, 374], guidance: 2 };
const MNIST_GEOMETRY: TrajectoryGeometry = {
  coarseTimesteps: [999, 749, 499, 249],
  deltaTimesteps: [968, 718, 468, 218],
  guidance: 2,
};

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** Runs `f` with the fused kernels off, then on, and returns both results as arrays. */
async function bothPaths(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const read = async (on: boolean) => {
    setFusedKernels(on);
    const ts = tf.tidy(f);
    const values = await Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(ts);
    return values;
  };
  try {
    return [await read(false), await read(true)];
  } finally {
    setFusedKernels(true);
  }
}

/**
 * GroupNorm (+ SiLU) forward and all its gradients, trainable and frozen affine; the SiLU cases
 * with a [B, C] shift added to x inside the norm (the res blocks' time embedding), and its gradient.
 */
async function groupNormChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const x = tf.randomNormal([2, 4, 4, 8], 0.3, 1.5, 'float32', 1) as tf.Tensor4D;
  const gamma = tf.randomNormal([8], 1, 0.3, 'float32', 2) as tf.Tensor1D;
  const beta = tf.randomNormal([8], 0, 0.3, 'float32', 3) as tf.Tensor1D;
  const shiftValue = tf.randomNormal([2, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
  const proj = tf.randomNormal(x.shape, 0, 1, 'float32', 4);
  for (const silu of [true, false]) {
    for (const frozen of [false, true]) {
      const withShift = silu;
      const [composed, fused] = await bothPaths(() => {
        const norm = (xx: tf.Tensor, t: tf.Tensor | undefined, g: tf.Tensor, b: tf.Tensor) =>
          groupNorm(xx as tf.Tensor4D, g, b, 4, { silu, frozen, shift: t as tf.Tensor2D | undefined });
        const loss = (xx: tf.Tensor, t: tf.Tensor | undefined, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(norm(xx, t, g, b), proj)) as tf.Scalar;
        const y = norm(x, withShift ? shiftValue : undefined, gamma, beta);
        const grads = (() => {
          if (withShift && frozen)
            return tf.grads((xx: tf.Tensor, t: tf.Tensor) => loss(xx, t, gamma, beta))([x, shiftValue]);
          if (withShift) return tf.grads(loss)([x, shiftValue, gamma, beta]);
          if (frozen) return [tf.grad((xx: tf.Tensor) => loss(xx, undefined, gamma, beta))(x)];
          return tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => loss(xx, undefined, g, b))([x, gamma, beta]);
        })();
        return [y, ...grads];
      });
      const names = ['forward', 'dx', ...(withShift ? ['dshift'] : []), 'dgamma', 'dbeta'];
      composed.forEach((c, i) =>
        checks.push({
          name: `groupNorm${silu ? '+silu' : ''}${withShift ? '+shift' : ''}${frozen ? ' frozen' : ''} ${names[i]}`,
          relError: relError(fused[i], c),
        }),
      );
    }
  }
  tf.dispose([x, gamma, beta, shiftValue, proj]);
  return checks;
}

/** Self-attention with projection and residual: forward and the gradients of x, h and every weight, trainable and frozen. */
async function attentionChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const [b, hh, ww, c] = [2, 3, 3, 8];
  const x = tf.randomNormal([b, hh, ww, c], 0, 1, 'float32', 21) as tf.Tensor4D;
  const h = tf.randomNormal([b, hh, ww, c], 0, 1, 'float32', 22) as tf.Tensor4D;
  const ws = [
    tf.randomNormal([c, 3 * c], 0, 0.5, 'float32', 23),
    tf.randomNormal([3 * c], 0, 0.2, 'float32', 24),
    tf.randomNormal([c, c], 0, 0.5, 'float32', 25),
    tf.randomNormal([c], 0, 0.2, 'float32', 26),
  ];
  const proj = tf.randomNormal(x.shape, 0, 1, 'float32', 27);
  const weights = (t: tf.Tensor[]) => ({
    qkvW: t[0] as tf.Tensor2D,
    qkvB: t[1] as tf.Tensor1D,
    projW: t[2] as tf.Tensor2D,
    projB: t[3] as tf.Tensor1D,
  });
  for (const frozen of [false, true]) {
    const [composed, fused] = await bothPaths(() => {
      const loss = (...t: tf.Tensor[]) =>
        tf.sum(
          tf.mul(
            selfAttention(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, weights(frozen ? ws : t.slice(2)), frozen),
            proj,
          ),
        ) as tf.Scalar;
      const y = selfAttention(x, h, weights(ws), frozen);
      return [y, ...tf.grads(loss)(frozen ? [x, h] : [x, h, ...ws])];
    });
    const names = ['forward', 'dx', 'dh', 'dWqkv', 'dbqkv', 'dWproj', 'dbproj'];
    composed.forEach((cv, i) =>
      checks.push({ name: `attention${frozen ? ' frozen' : ''} ${names[i]}`, relError: relError(fused[i], cv) }),
    );
  }
  tf.dispose([x, h, ...ws, proj]);
  return checks;
}

/** The conditioning MLP and class embedding: forward and the five weight gradients, at batch 2 and 1. */
async function conditioningChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const [s, e, k] = [32, 16, 4];
  const ws = [
    tf.randomNormal([s, e], 0, 0.3, 'float32', 31),
    tf.randomNormal([e], 0, 0.3, 'float32', 32),
    tf.randomNormal([e, e], 0, 0.3, 'float32', 33),
    tf.randomNormal([e], 0, 0.3, 'float32', 34),
    tf.randomNormal([k, e], 0, 1, 'float32', 35),
  ];
  const weights = (t: tf.Tensor[]) => ({
    w1: t[0] as tf.Tensor2D,
    b1: t[1] as tf.Tensor1D,
    w2: t[2] as tf.Tensor2D,
    b2: t[3] as tf.Tensor1D,
    table: t[4] as tf.Tensor2D,
  });
  for (const [times, labels] of [
    [
      [10, 700, 300],
      [2, 3, 2],
    ],
    [[500], [1]],
  ]) {
    const proj = tf.randomNormal([times.length, e], 0, 1, 'float32', 36);
    const [composed, fused] = await bothPaths(() => {
      const t = tf.tensor1d(times);
      const l = tf.tensor1d(labels, 'int32');
      const loss = (...w: tf.Tensor[]) => tf.sum(tf.mul(conditioning(t, l, weights(w), false), proj)) as tf.Scalar;
      return [conditioning(t, l, weights(ws), true), ...tf.grads(loss)(ws)];
    });
    const names = ['forward', 'dw1', 'db1', 'dw2', 'db2', 'dtable'];
    composed.forEach((c, i) =>
      checks.push({ name: `conditioning batch ${times.length} ${names[i]}`, relError: relError(fused[i], c) }),
    );
    proj.dispose();
  }
  tf.dispose(ws);
  return checks;
}

/** Three Adam steps with the EMA: parameters, moments and EMA. */
async function adamChecks(): Promise<Check[]> {
  const shapes: Record<string, number[]> = { a: [3, 3, 4, 5], b: [7] };
  const [composed, fused] = await bothPaths(() => {
    let params: Params = {};
    const ema: Params = {};
    for (const [k, s] of Object.entries(shapes)) {
      params[k] = tf.randomNormal(s, 0, 1, 'float32', k.length);
      ema[k] = params[k].clone();
    }
    const adam = new Adam({ lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    for (let step = 0; step < 3; step++) {
      const grads = Object.fromEntries(
        Object.entries(shapes).map(([k, s]) => [k, tf.randomNormal(s, 0, 1, 'float32', 10 + step)]),
      );
      params = adam.apply(params, grads, undefined, { weights: ema, decay: 0.9 });
      tf.dispose(Object.values(grads));
    }
    const state = adam.state();
    const out = [...Object.values(params), ...Object.values(ema), ...Object.values(state).map((t) => t.clone())];
    adam.dispose();
    return out;
  });
  return composed.map((c, i) => ({ name: `adam+ema output ${i}`, relError: relError(fused[i], c) }));
}

/** Three packed-group Adam steps with the EMA (one dispatch per step fused): weights, EMA and moments. */
async function packedAdamChecks(): Promise<Check[]> {
  const shapes: Record<string, number[]> = { a: [3, 3, 4, 5], b: [7], c: [2, 9] };
  const [composed, fused] = await bothPaths(() => {
    const params = Object.fromEntries(
      Object.entries(shapes).map(([k, s], i) => [k, tf.randomNormal(s, 0, 1, 'float32', 20 + i)]),
    );
    const adam = new PackedAdam({ lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8 }, params, { decay: 0.9 });
    for (let step = 0; step < 3; step++) {
      const grads = Object.fromEntries(
        Object.entries(shapes).map(([k, s], i) => [k, tf.randomNormal(s, 0, 1, 'float32', 30 + 3 * step + i)]),
      );
      const flat = adam.flatten(grads);
      adam.update(flat);
      tf.dispose([flat, ...Object.values(grads)]);
    }
    const out = [adam.params, adam.emaParams, adam.state()].flatMap((p) => Object.values(p).map((t) => t.clone()));
    adam.dispose();
    return out;
  });
  return composed.map((c, i) => ({ name: `packed adam+ema output ${i}`, relError: relError(fused[i], c) }));
}

/** LoRA merges from [A | B] segments (conv and dense shapes, scale 0.5) and their gradients, fresh and reused. */
async function loraChecks(): Promise<Check[]> {
  const student = { ...DEFAULT_RAPM.student, rank: 3, alpha: 1.5, targets: ['conv.w', 'lin.w'] };
  const shapes: Record<string, number[]> = { 'conv.w': [3, 3, 4, 5], 'lin.w': [6, 7] };
  const targets = Object.keys(shapes);
  const seeded = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const teacher = Object.fromEntries(targets.map((t, i) => [t, seeded(shapes[t], 40 + i)]));
  const segs = Object.fromEntries(
    targets.map((t, i) => {
      const [fanIn, cout] = [shapes[t].slice(0, -1).reduce((a, b) => a * b, 1), shapes[t][shapes[t].length - 1]];
      return [t, seeded([(fanIn + cout) * student.rank], 50 + i)];
    }),
  );
  const proj = Object.fromEntries(targets.map((t, i) => [t, seeded(shapes[t], 60 + i)]));
  const [composed, fused] = await bothPaths(() => {
    const merged = studentParamsFromSegments(teacher, segs, student);
    const loss =
      (reuse: boolean) =>
      (...ss: tf.Tensor[]) => {
        const given = Object.fromEntries(targets.map((t, i) => [t, ss[i]]));
        const p = studentParamsFromSegments(teacher, given, student, reuse ? merged : undefined);
        return tf.addN(targets.map((t) => tf.sum(tf.mul(p[t], proj[t])))) as tf.Scalar;
      };
    const xs = targets.map((t) => segs[t]);
    return [...targets.map((t) => merged[t]), ...tf.grads(loss(false))(xs), ...tf.grads(loss(true))(xs)];
  });
  tf.dispose([...Object.values(teacher), ...Object.values(segs), ...Object.values(proj)]);
  const names = ['merge conv', 'merge dense', 'grad conv', 'grad dense', 'reused grad conv', 'reused grad dense'];
  return composed.map((c, i) => ({ name: `lora ${names[i]}`, relError: relError(fused[i], c) }));
}

function batchOf(model: ModelConfig, slots: number, seed: number): TrajectoryBatch {
  const px = model.data.height * model.data.width * model.data.channels;
  return {
    positions: gaussian(seed, (slots + 1) * px),
    deltaPositions: gaussian(seed + 1, slots * px),
    labels: Int32Array.of(seed % model.numClasses),
  };
}

function noisyTeacher(model: ModelConfig): Params {
  const p = initUnetParams(model.unet, 0);
  // perturb the zero-initialised branches so that every layer carries signal, as after training
  return Object.fromEntries(
    Object.entries(p).map(([k, t], i) => {
      const noisy = tf.add(t, tf.randomNormal(t.shape, 0, 0.05, 'float32', i));
      t.dispose();
      return [k, noisy];
    }),
  );
}

/** One whole RAPM iteration on the tiny model: metrics and every updated weight. */
async function rapmChecks(): Promise<Check[]> {
  const teacher = noisyTeacher(TINY);
  const run = async (on: boolean) => {
    setFusedKernels(on);
    const trainer = new RapmTrainer(TINY, teacher, TINY_GEOMETRY, DEFAULT_RAPM);
    const m = await trainer.stepAsync(batchOf(TINY, 2, 1));
    const metrics = [m.studentLoss, m.discLossRel, m.discLossAbs, m.gradNorm.student, m.gradNorm.rel, m.gradNorm.abs];
    const weights = async (p: Params) => Promise.all(Object.values(p).map((t) => t.data() as Promise<Float32Array>));
    const out = {
      metrics,
      trainable: await weights(trainer.trainable),
      ema: await weights(trainer.ema),
      heads: [...(await weights(trainer.headsRel)), ...(await weights(trainer.headsAbs))],
    };
    trainer.dispose();
    return out;
  };
  try {
    const composed = await run(false);
    const fused = await run(true);
    const flat = (xs: Float32Array[]) => Float32Array.from(xs.flatMap((x) => Array.from(x)));
    return [
      { name: 'rapm iteration metrics', relError: relError(fused.metrics, composed.metrics) },
      { name: 'rapm trainable', relError: relError(flat(fused.trainable), flat(composed.trainable)) },
      { name: 'rapm ema', relError: relError(flat(fused.ema), flat(composed.ema)) },
      { name: 'rapm heads', relError: relError(flat(fused.heads), flat(composed.heads)) },
    ];
  } finally {
    setFusedKernels(true);
    tf.dispose(Object.values(teacher));
  }
}

/**
 * Three RAPM iterations on the tiny model with the replayed step off and on (iteration 1 warms up,
 * 2 is captured, 3 replayed): metrics and the whole packed state after each path, and whether
 * the replay engaged (its dispatch count, null if it never captured; the reason if it failed).
 */
async function replayChecks(): Promise<{ checks: Check[]; dispatches: number | null; failure: string | null }> {
  const teacher = noisyTeacher(TINY);
  const run = async (on: boolean) => {
    setStepReplay(on);
    const trainer = new RapmTrainer(TINY, teacher, TINY_GEOMETRY, DEFAULT_RAPM);
    const metrics: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await trainer.stepAsync(batchOf(TINY, 2, 10 + i));
      metrics.push(m.studentLoss, m.discLossRel, m.discLossAbs, m.gradNorm.student, m.gradNorm.rel, m.gradNorm.abs);
    }
    const state = await Promise.all(trainer.stateTensors().map((t) => t.data() as Promise<Float32Array>));
    const out = { metrics, state, dispatches: trainer.replayed.dispatches, failure: trainer.replayed.failure };
    trainer.dispose();
    return out;
  };
  try {
    const composed = await run(false);
    const replayed = await run(true);
    const checks = [
      { name: 'replayed rapm metrics, 3 iterations', relError: relError(replayed.metrics, composed.metrics) },
      ...['student', 'rel heads', 'abs heads'].map((g, i) => ({
        name: `replayed rapm packed state, ${g}`,
        relError: relError(replayed.state[i], composed.state[i]),
      })),
    ];
    return { checks, dispatches: replayed.dispatches, failure: replayed.failure };
  } finally {
    setStepReplay(true);
    tf.dispose(Object.values(teacher));
  }
}

/** The whole tiny UNet at batch 2: its output and the gradient of every parameter. */
async function unetChecks(): Promise<Check[]> {
  const teacher = noisyTeacher(TINY);
  const names = Object.keys(teacher);
  const x = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 41) as tf.Tensor4D;
  const proj = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 42);
  const [composed, fused] = await bothPaths(() => {
    const t = tf.tensor1d([30, 800]);
    const labels = tf.tensor1d([1, 3], 'int32');
    const apply = (p: Params) => applyUnet(TINY.unet, p, x, t, labels);
    const grads = tf.grads((...ps: tf.Tensor[]) => {
      const p = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
      return tf.sum(tf.mul(apply(p), proj)) as tf.Scalar;
    })(names.map((n) => teacher[n]));
    return [apply(teacher), ...grads];
  });
  tf.dispose([...Object.values(teacher), x, proj]);
  return composed.map((c, i) => ({
    name: `unet ${i === 0 ? 'forward' : `d ${names[i - 1]}`}`,
    relError: relError(fused[i], c),
  }));
}

/** tf.memory().numTensors after each of `iterations` fused iterations on the tiny model. */
async function tensorCounts(iterations: number): Promise<number[]> {
  const teacher = noisyTeacher(TINY);
  const trainer = new RapmTrainer(TINY, teacher, TINY_GEOMETRY, DEFAULT_RAPM);
  const counts: number[] = [];
  for (let i = 0; i < iterations; i++) {
    await trainer.stepAsync(batchOf(TINY, 2, i));
    counts.push(tf.memory().numTensors);
  }
  trainer.dispose();
  tf.dispose(Object.values(teacher));
  return counts;
}

/** Full-size work for the dispatch benchmark: the MNIST UNet and a default RAPM run, built once. */
let mnist: { teacher: Params; trainer: RapmTrainer; seed: number } | null = null;

function mnistSetup(config: Partial<RapmConfig>) {
  if (!mnist) {
    const teacher = initUnetParams(MNIST_UNET, 0);
    const trainer = new RapmTrainer(MNIST_TEACHER_CONFIG, teacher, MNIST_GEOMETRY, { ...DEFAULT_RAPM, ...config });
    mnist = { teacher, trainer, seed: 0 };
  }
  return mnist;
}

async function unetForward(): Promise<void> {
  const { teacher } = mnistSetup({});
  const y = tf.tidy(() =>
    applyUnet(
      MNIST_UNET,
      teacher,
      tf.randomNormal([1, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D,
      tf.tensor1d([500]),
      tf.tensor1d([3], 'int32'),
    ),
  );
  await y.data();
  y.dispose();
}

/** The gradients are read back one by one: concatenating them would add dispatches of its own (about 20). */
async function unetForwardBackward(): Promise<void> {
  const { teacher } = mnistSetup({});
  const names = Object.keys(teacher);
  const grads = tf.tidy(() => {
    const x = tf.randomNormal([1, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    return tf.grads((...ps: tf.Tensor[]) => {
      const p = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
      return tf.mean(
        tf.square(applyUnet(MNIST_UNET, p, x, tf.tensor1d([500]), tf.tensor1d([3], 'int32'))),
      ) as tf.Scalar;
    })(names.map((n) => teacher[n]));
  });
  await Promise.all(grads.map((g) => g.data()));
  tf.dispose(grads);
}

async function rapmIteration(): Promise<number> {
  const m = mnistSetup({});
  const metrics = await m.trainer.stepAsync(batchOf(MNIST_TEACHER_CONFIG, 4, ++m.seed));
  return metrics.studentLoss;
}

type Step = 'unetForward' | 'unetForwardBackward' | 'rapmIteration';

/**
 * The WebGPU programs one run of `step` dispatches, by the name tfjs or this project gives them
 * (shader key up to its first parameter), most frequent first: each run is one dispatch. The
 * RAPM iteration runs composed here (a replay dispatches the same programs without tfjs).
 */
async function programs(step: Step): Promise<[string, number][]> {
  const steps: Record<Step, () => Promise<unknown>> = { unetForward, unetForwardBackward, rapmIteration };
  type Runner = { runWebGPUProgram: (program: { shaderKey: string }, ...rest: unknown[]) => unknown };
  const backend = tf.backend() as unknown as Runner;
  const original = backend.runWebGPUProgram;
  const counts = new Map<string, number>();
  backend.runWebGPUProgram = function (this: Runner, program, ...rest) {
    const name = program.shaderKey.split('_')[0];
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return original.call(this, program, ...rest);
  };
  // a replayed step runs no tfjs program: count the composed path's
  setStepReplay(false);
  try {
    await steps[step]();
  } finally {
    setStepReplay(true);
    delete (backend as Partial<Runner>).runWebGPUProgram;
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

const api = {
  programs,
  /** The project's kernels registered for the active backend (the fused path is on only for these). */
  fusedKernels: () =>
    tf
      .getKernelsForBackend(tf.getBackend())
      .map((k) => k.kernelName)
      .filter((n) => n.startsWith('Rapm')),
  equivalence: async (): Promise<Check[]> => [
    ...(await groupNormChecks()),
    ...(await attentionChecks()),
    ...(await conditioningChecks()),
    ...(await unetChecks()),
    ...(await adamChecks()),
    ...(await packedAdamChecks()),
    ...(await loraChecks()),
    ...(await rapmChecks()),
  ],
  replay: replayChecks,
  tensorCounts,
  setFused: setFusedKernels,
  unetForward,
  unetForwardBackward,
  rapmIteration,
  numTensors: () => tf.memory().numTensors,
  /** A diffusers golden fixture's forward and DDIM against diffusers' outputs (e2e/diffusers-golden.spec.ts). */
  diffusersGolden,
};

declare global {
  interface Window {
    rapmKernels: typeof api & { backend: string };
  }
}

const status = document.getElementById('status') as HTMLElement;
try {
  // `?backend=wasm`: the diffusers golden check on the browser's wasm; the kernel checks need webgpu
  if (new URLSearchParams(location.search).get('backend') === 'wasm') await startWasm();
  else {
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
    await tf.ready();
    registerWebGpuKernels();
  }
  window.rapmKernels = { ...api, backend: tf.getBackend() };
  status.textContent = `ready: ${tf.getBackend()}`;
} catch (err) {
  status.textContent = `failed: ${err instanceof Error ? err.message : String(err)}`;
}
