/**
 * npm run bench:trajectories -- [--backend wasm] [--batches 16,64] [--runs 3]
 *
 * Throughput of the trajectory generator on the built-in MNIST UNet (random weights: speed does
 * not depend on them) with the built-in shard settings: N = 4 slots of M = 8 teacher steps,
 * guidance 2 (two UNet branches per step). Each figure is the median of --runs timed runs of one
 * batch after one untimed warm-up; prints a markdown table with trajectories/s and GFLOP/s.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../core/model-config';
import { MNIST_UNET, initUnetParams, unetFlops, type Params } from '../core/nn/unet';
import { generateTrajectories } from '../core/rapm/trajectories';
import { num, parseCli } from '../node/args';
import { parseBackend, useBackend } from '../node/backend';

const MODEL: ModelConfig = {
  name: 'mnist-random',
  architecture: 'unet',
  unet: MNIST_UNET,
  schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  prediction: 'epsilon',
  data: { channels: 1, height: 28, width: 28, range: [-1, 1] },
  numClasses: 10,
};
const SLOTS = 4;
const STEPS_PER_SLOT = 8;
const GUIDANCE = 2;

export interface TrajectoryBenchRow {
  batch: number;
  medianMs: number;
  trajectoriesPerSec: number;
  gflops: number;
}

/** Median time to generate one batch of trajectories, for each batch size. */
export async function benchTrajectories(batches: number[], runs: number): Promise<TrajectoryBenchRow[]> {
  const params: Params = initUnetParams(MODEL.unet, 0);
  const rows: TrajectoryBenchRow[] = [];
  try {
    for (const batch of batches) {
      const once = () =>
        generateTrajectories(MODEL, params, {
          seeds: Array.from({ length: batch }, (_, k) => k),
          labels: Array.from({ length: batch }, (_, k) => k % MODEL.numClasses),
          slots: SLOTS,
          stepsPerSlot: STEPS_PER_SLOT,
          guidanceScale: GUIDANCE,
          batchSize: batch,
        });
      await once();
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await once();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const medianMs = times[Math.floor(times.length / 2)];
      const flops = batch * SLOTS * STEPS_PER_SLOT * 2 * unetFlops(MODEL.unet);
      rows.push({ batch, medianMs, trajectoriesPerSec: batch / (medianMs / 1000), gflops: flops / medianMs / 1e6 });
    }
  } finally {
    tf.dispose(Object.values(params));
  }
  return rows;
}

async function main(): Promise<void> {
  const args = parseCli('npm run bench:trajectories -- [options]', {
    backend: { type: 'string', default: 'wasm', help: 'tfjs backend: wasm, webgpu (needs npm package webgpu) or cpu' },
    batches: { type: 'string', default: '16,64', help: 'comma-separated batch sizes' },
    runs: { type: 'string', default: '3', help: 'timed runs per batch size (median reported)' },
  });
  const backend = await useBackend(parseBackend(String(args.backend)));
  const batches = String(args.batches)
    .split(',')
    .map((b) => num(b, 'batches'));
  const rows = await benchTrajectories(batches, num(args.runs, 'runs'));
  console.log(
    `Trajectory generation, MNIST UNet (${(unetFlops(MODEL.unet) / 1e6).toFixed(0)} MFLOP/image), ` +
      `N=${SLOTS}, M=${STEPS_PER_SLOT}, guidance ${GUIDANCE}; backend: ${backend}\n`,
  );
  console.log('| batch | median s/batch | trajectories/s | GFLOP/s |\n|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.batch} | ${(r.medianMs / 1000).toFixed(2)} | ${r.trajectoriesPerSec.toFixed(2)} | ${r.gflops.toFixed(1)} |`,
    );
  }
}

// Run only as a script, so other tools can import benchTrajectories.
if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
