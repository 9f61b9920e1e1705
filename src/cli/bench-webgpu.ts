/**
 * tsx src/cli/bench-webgpu.ts -- [--backend webgpu] [--batches 1,8,32,128] [--runs 5] [--matmul 2048]
 *
 * Throughput of the built-in MNIST UNet on one tfjs backend: forward and forward+backward
 * (gradients of all parameters, what a training step costs before the optimiser), images/s and
 * achieved GFLOP/s, beside a square tf.matMul as the backend's practical peak. Each figure is
 * the median of --runs timed runs after 2 warm-ups; every run ends by awaiting a tensor's data,
 * so the GPU's queue is drained inside the timed region. Prints a markdown table.
 */
import * as tf from '@tensorflow/tfjs';
import { num, parseCli } from '../node/args';
import { parseBackend, useBackend } from '../node/backend';
import { MNIST_UNET, applyUnet, initUnetParams, unetFlops, type Params } from '../core/nn/unet';

const args = parseCli('tsx src/cli/bench-webgpu.ts -- [options]', {
  backend: { type: 'string', default: 'webgpu', help: 'tfjs backend: webgpu, wasm or cpu' },
  batches: { type: 'string', default: '1,8,32,128', help: 'comma-separated batch sizes' },
  runs: { type: 'string', default: '5', help: 'timed runs per figure (median reported)' },
  matmul: { type: 'string', default: '2048', help: 'side of the square matMul peak test (0 skips it)' },
});

const WARMUPS = 2;

async function medianMs(runs: number, once: () => Promise<void>): Promise<number> {
  for (let i = 0; i < WARMUPS; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function unetInputs(batch: number): { x: tf.Tensor4D; t: tf.Tensor1D; labels: tf.Tensor1D } {
  const s = MNIST_UNET.imageSize;
  return {
    x: tf.randomNormal([batch, s, s, MNIST_UNET.inChannels], 0, 1, 'float32', batch) as tf.Tensor4D,
    t: tf.randomUniform([batch], 0, 1000, 'float32', batch + 1) as tf.Tensor1D,
    labels: tf.randomUniform([batch], 0, MNIST_UNET.numClasses, 'int32', batch + 2) as tf.Tensor1D,
  };
}

async function forward(params: Params, batch: number, runs: number): Promise<number> {
  const { x, t, labels } = unetInputs(batch);
  const ms = await medianMs(runs, async () => {
    const y = tf.tidy(() => applyUnet(MNIST_UNET, params, x, t, labels));
    await y.data();
    y.dispose();
  });
  tf.dispose([x, t, labels]);
  return ms;
}

async function forwardBackward(params: Params, batch: number, runs: number): Promise<number> {
  const { x, t, labels } = unetInputs(batch);
  const names = Object.keys(params);
  const ms = await medianMs(runs, async () => {
    // Summing every gradient into one scalar makes the awaited read depend on the whole backward pass;
    // pairwise adds, since an addN over all gradients exceeds WebGPU's 8 storage buffers per shader.
    const done = tf.tidy(() => {
      const { grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
        return tf.mean(tf.square(applyUnet(MNIST_UNET, p, x, t, labels))) as tf.Scalar;
      })(names.map((n) => params[n]));
      return grads.map((g) => tf.sum(g)).reduce((a, g) => tf.add(a, g));
    });
    await done.data();
    done.dispose();
  });
  tf.dispose([x, t, labels]);
  return ms;
}

async function matMulGflops(n: number, runs: number): Promise<{ ms: number; gflops: number }> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  const ms = await medianMs(runs, async () => {
    // Reading one element keeps the copy back small; it still waits for the whole product.
    const c = tf.matMul(a, b);
    const corner = tf.slice(c, [0, 0], [1, 1]);
    await corner.data();
    tf.dispose([c, corner]);
  });
  tf.dispose([a, b]);
  return { ms, gflops: (2 * n ** 3) / (ms * 1e6) };
}

const fmt = (v: number, digits = 1) => v.toFixed(digits);

async function main(): Promise<void> {
  const description = await useBackend(parseBackend(String(args.backend)));
  const batches = String(args.batches)
    .split(',')
    .map((s) => num(s.trim(), 'batches'));
  const runs = num(args.runs, 'runs');
  const side = num(args.matmul, 'matmul');
  const flops = unetFlops(MNIST_UNET);
  console.log(`# tfjs ${tf.version.tfjs} on ${description}`);
  console.log(`node ${process.version}; MNIST_UNET forward ${fmt(flops / 1e6)} MFLOP per image`);
  console.log(`forward+backward counted as 3x forward FLOPs; median of ${runs} runs after ${WARMUPS} warm-ups\n`);
  if (side > 0) {
    const mm = await matMulGflops(side, runs);
    console.log(`matMul ${side}^3 float32: ${fmt(mm.ms, 2)} ms, ${fmt(mm.gflops)} GFLOP/s\n`);
  }
  console.log('| batch | fwd ms | fwd img/s | fwd GFLOP/s | fwd+bwd ms | fwd+bwd img/s | fwd+bwd GFLOP/s |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  const params = initUnetParams(MNIST_UNET, 0);
  for (const b of batches) {
    const f = await forward(params, b, runs);
    const fb = await forwardBackward(params, b, runs);
    const row = [
      b,
      fmt(f, 2),
      fmt((b * 1000) / f),
      fmt((b * flops) / (f * 1e6), 2),
      fmt(fb, 2),
      fmt((b * 1000) / fb),
      fmt((3 * b * flops) / (fb * 1e6), 2),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
  tf.dispose(Object.values(params));
  console.log(`\ntensors left: ${tf.memory().numTensors}`);
}

await main();
