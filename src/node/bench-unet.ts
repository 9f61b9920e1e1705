/**
 * Timing helpers for the benchmarks: medians over warm runs that end by awaiting a tensor's data
 * (so a GPU queue is drained inside the timed region), and the UNet throughput table.
 */
import * as tf from '@tensorflow/tfjs';
import { MNIST_UNET, applyUnet, initUnetParams, unetFlops, type Params } from '../core/nn/unet';

export const WARMUPS = 2;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Median wall time and median CPU time of this process (user + system) per run. On a shared machine
 * the CPU time is the steadier figure: waiting for a core counts in the wall time only.
 */
export async function medianTimes(runs: number, once: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < WARMUPS; i++) await once();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await once();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

export async function medianMs(runs: number, once: () => Promise<void>): Promise<number> {
  return (await medianTimes(runs, once)).wall;
}

function unetInputs(batch: number): { x: tf.Tensor4D; t: tf.Tensor1D; labels: tf.Tensor1D } {
  const s = MNIST_UNET.imageSize;
  return {
    x: tf.randomNormal([batch, s, s, MNIST_UNET.inChannels], 0, 1, 'float32', batch) as tf.Tensor4D,
    t: tf.randomUniform([batch], 0, 1000, 'float32', batch + 1) as tf.Tensor1D,
    labels: tf.randomUniform([batch], 0, MNIST_UNET.numClasses, 'int32', batch + 2) as tf.Tensor1D,
  };
}

type Times = { wall: number; cpu: number };

async function forward(params: Params, batch: number, runs: number): Promise<Times> {
  const { x, t, labels } = unetInputs(batch);
  const ms = await medianTimes(runs, async () => {
    const y = tf.tidy(() => applyUnet(MNIST_UNET, params, x, t, labels));
    await y.data();
    y.dispose();
  });
  tf.dispose([x, t, labels]);
  return ms;
}

async function forwardBackward(params: Params, batch: number, runs: number): Promise<Times> {
  const { x, t, labels } = unetInputs(batch);
  const names = Object.keys(params);
  const ms = await medianTimes(runs, async () => {
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

export async function matMulGflops(n: number, runs: number): Promise<{ ms: number; gflops: number }> {
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

export const fmt = (v: number, digits = 1) => v.toFixed(digits);

/** Prints the markdown table of forward and forward+backward throughput for the given batch sizes. */
export async function printUnetTable(batches: number[], runs: number): Promise<void> {
  const flops = unetFlops(MNIST_UNET);
  console.log(
    '| batch | fwd ms | fwd cpu ms | fwd img/s | fwd GFLOP/s | fwd+bwd ms | fwd+bwd cpu ms | fwd+bwd img/s | fwd+bwd GFLOP/s |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const params = initUnetParams(MNIST_UNET, 0);
  for (const b of batches) {
    const f = await forward(params, b, runs);
    const fb = await forwardBackward(params, b, runs);
    const row = [
      b,
      fmt(f.wall, 2),
      fmt(f.cpu, 2),
      fmt((b * 1000) / f.wall),
      fmt((b * flops) / (f.wall * 1e6), 2),
      fmt(fb.wall, 2),
      fmt(fb.cpu, 2),
      fmt((b * 1000) / fb.wall),
      fmt((3 * b * flops) / (fb.wall * 1e6), 2),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
  tf.dispose(Object.values(params));
}
