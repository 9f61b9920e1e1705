/**
 * npm run bench:model -- --model DIR|FILE [--backend wasm|webgpu] [--adapter null|gpu] [--runs 3] [--iterations 3]
 *
 * What one model costs, for any teacher the studio loads (a diffusers UNet2DModel folder or one of
 * our bundles), at batch 1: the load, one forward pass (a teacher DDIM step), and one RAPM iteration
 * of the default configuration (a LoRA student, both discriminators) on a random trajectory of the
 * model's shape. Beside each, the memory src/core/model-fit.ts estimates before allocating, the
 * bytes of live tensors at the peak (tf.profile's peakBytes, which counts a reshaped view again, so an
 * upper bound) and on wasm the heap's size after the pass (its high-water mark: what was really held). Medians of --runs / --iterations after one
 * warm-up. On webgpu with `--adapter null` (Dawn's null backend) the time is host time only, and the
 * device holds at most 512 MiB (Dawn's fixed budget there): a model whose training needs more is
 * refused by the trainer's own check before allocation, and the refusal is printed.
 *
 * A 36M-parameter model for it (the DDPM CIFAR-10 architecture, random weights):
 *   /usr/bin/python3 scripts/diffusers-fixtures.py --diffusers-src D --hub-src H --full-size ddpm-cifar10-32 --out DIR
 */
import * as tf from '@tensorflow/tfjs';
import { ModelTooLargeError, modelFootprint, type FitUse } from '../src/core/model-fit';
import { modelNetwork } from '../src/core/model';
import { DEFAULT_RAPM } from '../src/core/rapm/config';
import { RapmTrainer } from '../src/core/rapm/trainer';
import { gaussian } from '../src/core/random';
import { num, parseCli } from '../src/node/args';
import { useBackend } from '../src/node/backend';
import { loadTeacherPath } from '../src/node/teacher-file';

const args = parseCli('npm run bench:model -- --model DIR|FILE [options]', {
  model: { type: 'string', help: 'a diffusers UNet2DModel folder or a model bundle' },
  backend: { type: 'string', default: 'wasm', help: 'wasm or webgpu' },
  adapter: { type: 'string', default: 'null', help: "webgpu only: Dawn's 'null' backend (host cost) or 'gpu'" },
  runs: { type: 'string', default: '3', help: 'timed forward passes (median)' },
  iterations: { type: 'string', default: '3', help: 'timed RAPM iterations (median)' },
});

/** tfjs-wasm's heap: it grows to the high-water mark of what the backend really held, and never shrinks. */
const wasmHeap = () =>
  tf.getBackend() === 'wasm'
    ? ((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length ?? 0)
    : 0;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; peak: number; value: T }> {
  let value: T | undefined;
  const start = performance.now();
  const info = await tf.profile(async () => {
    value = await f();
  });
  return { ms: performance.now() - start, peak: info.peakBytes, value: value as T };
}

async function main(): Promise<void> {
  if (!args.model) throw new Error('--model DIR|FILE is required');
  const backend = String(args.backend) as 'wasm' | 'webgpu';
  const onNull = backend === 'webgpu' && String(args.adapter) === 'null';
  if (onNull) process.env.DAWN_OPTIONS = `backend=null ${process.env.DAWN_OPTIONS ?? ''}`.trim();
  console.log(`# ${args.model} on ${await useBackend(backend)}`);
  const start = performance.now();
  const teacher = await loadTeacherPath(String(args.model));
  const { config, params } = teacher;
  const network = modelNetwork(config);
  const count = Object.values(params).reduce((a, p) => a + p.size, 0);
  console.log(`load: ${(performance.now() - start).toFixed(0)} ms, ${count.toLocaleString('en')} parameters`);
  console.log(`forward: ${(network.flops() / 1e9).toFixed(2)} GFLOP per image\n`);
  console.log('| pass | estimate (model-fit) | tensors at peak (tf.profile) | wasm heap after | median ms | runs |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const row = (what: string, use: FitUse, rows: number, peak: number | null, ms: number | string, n: number) =>
    console.log(
      `| ${what} | ${mib(modelFootprint(network, use, rows).totalBytes)} | ${peak === null ? '-' : mib(peak)} | ` +
        `${wasmHeap() ? mib(wasmHeap()) : '-'} | ${typeof ms === 'number' ? ms.toFixed(0) : ms} | ${n} |`,
    );
  const { channels, height, width } = config.data;
  const pixels = channels * height * width;

  // One forward pass at batch 1: what each teacher DDIM step of trajectory generation costs.
  const x = tf.tensor4d(gaussian(1, pixels), [1, height, width, channels]);
  const t = tf.tensor1d([500]);
  const labels = tf.tensor1d([0], 'int32');
  const runs = num(args.runs, 'runs');
  const forward: number[] = [];
  let forwardPeak = 0;
  for (let r = 0; r <= runs; r++) {
    const m = await timed(async () => {
      const out = tf.tidy(() => network.apply(params, x, t, labels));
      await out.data();
      out.dispose();
    });
    forwardPeak = Math.max(forwardPeak, m.peak);
    if (r > 0) forward.push(m.ms);
  }
  row('forward b1', 'sample', 1, onNull ? null : forwardPeak, median(forward), runs);
  tf.dispose([x, t, labels]);

  // One RAPM iteration (default: LoRA rank 8, both discriminators) on a random trajectory.
  const iterations = num(args.iterations, 'iterations');
  const slots = 4;
  const geometry = { coarseTimesteps: [999, 749, 499, 249], deltaTimesteps: [968, 718, 468, 218], guidance: 1 };
  // the rows the trainer sizes itself by (trainer.ts): 3 passes over each slot's batch
  const trainRows = 3 * slots;
  let trainer: RapmTrainer | null = null;
  try {
    trainer = new RapmTrainer(config, params, geometry, DEFAULT_RAPM);
  } catch (e) {
    // the trainer's own check, before anything is allocated (on Dawn's null backend: its 512 MiB)
    if (!(e instanceof ModelTooLargeError)) throw e;
    row('rapm iteration (LoRA)', 'lora', trainRows, null, 'refused', 0);
    console.log(`\nrefused: ${e.message}`);
  }
  if (trainer) {
    const ms: number[] = [];
    let peak = 0;
    for (let i = 0; i <= iterations; i++) {
      const batch = {
        positions: gaussian(10 + i, (slots + 1) * pixels),
        deltaPositions: gaussian(100 + i, slots * pixels),
        labels: Int32Array.of(0),
      };
      const m = await timed(() => trainer.stepAsync(batch));
      peak = Math.max(peak, m.peak);
      if (i > 0) ms.push(m.value.ms);
    }
    trainer.dispose();
    row('rapm iteration (LoRA)', 'lora', trainRows, onNull ? null : peak, median(ms), iterations);
  }
  tf.dispose(Object.values(params));
  console.log(`\ntensors left: ${tf.memory().numTensors}`);
}

await main();
