/**
 * npm run bench:webgpu -- [--backend webgpu] [--batches 1,8,32,128] [--runs 5] [--matmul 2048]
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
import { MNIST_UNET, unetFlops } from '../core/nn/unet';
import { WARMUPS, fmt, matMulGflops, printUnetTable } from '../node/bench-unet';

const args = parseCli('npm run bench:webgpu -- [options]', {
  backend: { type: 'string', default: 'webgpu', help: 'tfjs backend: webgpu, wasm or cpu' },
  batches: { type: 'string', default: '1,8,32,128', help: 'comma-separated batch sizes' },
  runs: { type: 'string', default: '5', help: 'timed runs per figure (median reported)' },
  matmul: { type: 'string', default: '2048', help: 'side of the square matMul peak test (0 skips it)' },
});

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
  await printUnetTable(batches, runs);
  console.log(`\ntensors left: ${tf.memory().numTensors}`);
}

await main();
