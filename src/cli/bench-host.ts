/**
 * npm run bench:host -- [--batches 1,8,32] [--runs 12] [--iterations 40] [--adapter null|gpu] [--json FILE]
 *
 * What one step costs the host on tfjs's webgpu backend, beside the machine's floor. On Dawn's
 * null backend (the default, `--adapter null`: every call validated and encoded, no GPU work,
 * ../shared/docs/environment.md) the time is all host; on a real GPU (`--adapter gpu`) the rows
 * add the GPU's time and the read-back to "wall ms".
 *
 *   floor       raw WebGPU: 1,000 dispatches of one small shader, pipeline and bind group made
 *               once, one compute pass; microseconds per dispatch (what encoding alone costs here)
 *   unet fwd    the MNIST UNet forward at each batch; unet fwd+bwd, its gradients of every weight
 *   rapm        one RAPM iteration of the default configuration (LoRA rank 8, both discriminators)
 * Each row twice: `composed` (tfjs runs every op) and `replayed` (captured once, then only
 * encoded: src/core/kernels/step-graph.ts). Columns: dispatches, host ms (JavaScript until the
 * work is submitted), wall ms (until the result is read back), it/s (from wall), and host /
 * floor (host ms over dispatches x the floor's cost: how far from the raw API the step runs; a
 * ratio survives a noisy machine). Medians of --runs (UNet) or --iterations (RAPM) after warm-ups.
 */
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { MNIST_TEACHER_CONFIG } from '../core/mnist-teacher-config';
import { StepGraph, webGpuInternals } from '../core/kernels/step-graph';
import { applyUnet, initUnetParams, MNIST_UNET, type Params } from '../core/nn/unet';
import { DEFAULT_RAPM } from '../core/rapm/config';
import { setStepReplay } from '../core/rapm/replayed-step';
import { RapmTrainer } from '../core/rapm/trainer';
import { gaussian } from '../core/random';
import { num, parseCli } from '../node/args';
import { useBackend } from '../node/backend';
import { randomBatch } from '../node/kernel-counts';

const args = parseCli('npm run bench:host -- [options]', {
  batches: { type: 'string', default: '1,8,32', help: 'UNet batch sizes' },
  runs: { type: 'string', default: '12', help: 'timed runs per UNet figure and per floor (median)' },
  iterations: { type: 'string', default: '40', help: 'timed RAPM iterations per path (median)' },
  adapter: { type: 'string', default: 'null', help: "Dawn adapter: 'null' (host cost only) or 'gpu' (the real one)" },
  json: { type: 'string', default: '', help: 'also write the rows to this JSON file' },
});

interface Row {
  row: string;
  path: 'composed' | 'replayed' | 'raw';
  dispatches: number;
  hostMs: number;
  wallMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Counts compute dispatches by wrapping the encoder's method (as the studio's ?diagnostics does). */
let dispatchCount = 0;
function countDispatches(): void {
  const proto = GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...a: Parameters<typeof original>) {
    dispatchCount++;
    return original.apply(this, a);
  };
}

/** The raw API's floor: microseconds per dispatch with everything made once. */
async function floorUs(device: GPUDevice, runs: number): Promise<number> {
  const n = 1000;
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { b[g.x] = b[g.x] * 0.5 + 1.0; }`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const buffer = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer } }],
  });
  const times: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const start = performance.now();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (let i = 0; i < n; i++) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
    const ms = performance.now() - start;
    await device.queue.onSubmittedWorkDone();
    if (r >= 2) times.push((ms * 1000) / n);
  }
  buffer.destroy();
  return median(times);
}

function unetValues(batch: number): [Float32Array, Float32Array, Int32Array] {
  const s = MNIST_UNET.imageSize;
  return [
    gaussian(batch, batch * s * s),
    Float32Array.from({ length: batch }, (_, i) => (i * 997) % 1000),
    Int32Array.from({ length: batch }, (_, i) => i % 10),
  ];
}

function unetInputs(values: [Float32Array, Float32Array, Int32Array]): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D] {
  const s = MNIST_UNET.imageSize;
  const [x, t, labels] = values;
  return [tf.tensor4d(x, [t.length, s, s, 1]), tf.tensor1d(t), tf.tensor1d(labels, 'int32')];
}

type UnetRun = { readout: tf.Tensor; keep: tf.Tensor[] };

function unetStep(params: Params, inputs: [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D], backward: boolean): UnetRun {
  const [x, t, labels] = inputs;
  if (!backward) return { readout: tf.tidy(() => applyUnet(MNIST_UNET, params, x, t, labels)), keep: [] };
  const names = Object.keys(params);
  const { value, grads } = tf.tidy(() =>
    tf.valueAndGrads((...ps: tf.Tensor[]) => {
      const p = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
      return tf.mean(tf.square(applyUnet(MNIST_UNET, p, x, t, labels))) as tf.Scalar;
    })(names.map((n) => params[n])),
  );
  return { readout: value, keep: grads };
}

/** Host and wall time of a UNet pass, composed and replayed. */
async function unetRows(params: Params, batch: number, backward: boolean, runs: number): Promise<Row[]> {
  const backend = webGpuInternals()!;
  const values = unetValues(batch);
  const inputs = unetInputs(values);
  const name = `unet ${backward ? 'fwd+bwd' : 'fwd'} b${batch}`;
  const composed = { host: [] as number[], wall: [] as number[], dispatches: 0 };
  for (let r = 0; r < runs + 2; r++) {
    const before = dispatchCount;
    const start = performance.now();
    const out = unetStep(params, inputs, backward);
    if (backend.commandEncoder) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
    const host = performance.now() - start;
    await out.readout.data();
    const wall = performance.now() - start;
    composed.dispatches = dispatchCount - before;
    tf.dispose([out.readout, ...out.keep]);
    if (r >= 2) {
      composed.host.push(host);
      composed.wall.push(wall);
    }
  }
  const { graph, result } = StepGraph.capture({
    inputs,
    state: () => [],
    run: () => unetStep(params, inputs, backward),
    readout: (r) => r.readout,
    keep: (r) => r.keep,
  });
  const replayed = { host: [] as number[], wall: [] as number[] };
  for (let r = 0; r < runs + 2; r++) {
    const start = performance.now();
    await graph.replay(values);
    const wall = performance.now() - start;
    if (r >= 2) {
      replayed.host.push(graph.lastSubmitMs);
      replayed.wall.push(wall);
    }
  }
  graph.dispose();
  tf.dispose([result.readout, ...result.keep, ...inputs]);
  return [
    {
      row: name,
      path: 'composed',
      dispatches: composed.dispatches,
      hostMs: median(composed.host),
      wallMs: median(composed.wall),
    },
    {
      row: name,
      path: 'replayed',
      dispatches: graph.dispatches,
      hostMs: median(replayed.host),
      wallMs: median(replayed.wall),
    },
  ];
}

/** GPU memory the RAPM iteration's graph holds beside tfjs's buffers. */
let graphBytes: number | null = null;

/** The default RAPM iteration, composed and replayed: host ms from the replay's own clock. */
async function rapmRows(iterations: number): Promise<Row[]> {
  const teacher = initUnetParams(MNIST_TEACHER_CONFIG.unet, 0);
  const geometry = { coarseTimesteps: [999, 749, 499, 249], deltaTimesteps: [968, 718, 468, 218], guidance: 1.5 };
  const rows: Row[] = [];
  for (const replay of [false, true]) {
    setStepReplay(replay);
    const trainer = new RapmTrainer(MNIST_TEACHER_CONFIG, teacher, geometry, DEFAULT_RAPM);
    const host: number[] = [];
    const wall: number[] = [];
    let dispatches = 0;
    const warm = 3;
    for (let i = 0; i < iterations + warm; i++) {
      const before = dispatchCount;
      const m = await trainer.stepAsync(randomBatch(i));
      if (i < warm) continue;
      dispatches = dispatchCount - before;
      wall.push(m.ms);
      host.push(replay ? (trainer.replayed.lastSubmitMs ?? m.ms) : m.ms);
    }
    if (replay && trainer.replayed.failure) console.error(`replay failed: ${trainer.replayed.failure}`);
    if (replay) graphBytes = trainer.replayed.bytes;
    rows.push({
      row: 'rapm iteration (default)',
      path: replay ? 'replayed' : 'composed',
      dispatches,
      hostMs: median(host),
      wallMs: median(wall),
    });
    trainer.dispose();
  }
  setStepReplay(true);
  tf.dispose(Object.values(teacher));
  return rows;
}

async function main(): Promise<void> {
  const adapter = String(args.adapter);
  if (adapter !== 'null' && adapter !== 'gpu') throw new Error(`--adapter is 'null' or 'gpu', got '${adapter}'`);
  if (adapter === 'null') process.env.DAWN_OPTIONS = `backend=null ${process.env.DAWN_OPTIONS ?? ''}`.trim();
  const description = await useBackend('webgpu');
  countDispatches();
  const backend = webGpuInternals()!;
  const runs = num(args.runs, 'runs');
  const batches = String(args.batches)
    .split(',')
    .map((s) => num(s.trim(), 'batches'));
  const floor = await floorUs(backend.device, runs);
  const rows: Row[] = [{ row: 'floor (1,000 dispatches)', path: 'raw', dispatches: 1000, hostMs: floor, wallMs: NaN }];
  // rows print as they are measured, so a run stopped by a timeout still leaves what it measured
  console.log(`# host cost on ${description}`);
  console.log(`node ${process.version}, tfjs ${tf.version.tfjs}; floor ${floor.toFixed(2)} us per dispatch\n`);
  console.log('| step | path | dispatches | host ms | wall ms | it/s | host / floor |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  const print = (measured: Row[]) => {
    for (const r of measured) {
      rows.push(r);
      const ratio = r.hostMs / ((r.dispatches * floor) / 1000);
      const cells = [
        r.row,
        r.path,
        r.dispatches,
        r.hostMs.toFixed(2),
        r.wallMs.toFixed(2),
        (1000 / r.wallMs).toFixed(1),
      ];
      console.log(`| ${cells.join(' | ')} | ${ratio.toFixed(1)}x |`);
    }
  };
  const params = initUnetParams(MNIST_UNET, 0);
  for (const b of batches) {
    print(await unetRows(params, b, false, runs));
    print(await unetRows(params, b, true, runs));
  }
  tf.dispose(Object.values(params));
  print(await rapmRows(num(args.iterations, 'iterations')));
  const mb = (x: number) => (x / 2 ** 20).toFixed(1);
  const gpu = (tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? 0;
  if (graphBytes !== null)
    console.log(`\nRAPM graph: ${mb(graphBytes)} MiB of its own GPU buffers (tfjs's pool: ${mb(gpu)} MiB)`);
  console.log(`\ntensors left: ${tf.memory().numTensors}`);
  if (args.json) {
    await writeFile(String(args.json), JSON.stringify({ description, floorUs: floor, rows }, null, 1));
  }
}

await main();
