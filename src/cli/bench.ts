/**
 * npm run bench -- [--batches 1,8,32] [--runs 5] [--iterations 5] [--no-rapm]
 *
 * The numbers of docs/benchmarks.md on this machine's CPU (tfjs wasm): the MNIST UNet's forward
 * and forward+backward throughput beside the wasm matMul peak, and one RAPM iteration at batch 1
 * (iterations/s, FLOPs per iteration, and where the time goes), and the tfjs kernels each of
 * those steps runs (each one a GPU dispatch on webgpu).
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_RAPM, type RapmConfig } from '../core/rapm/config';
import { RapmTrainer, disposePass } from '../core/rapm/trainer';
import { disposeStepTensors } from '../core/rapm/step-inputs';
import { MNIST_UNET, initUnetParams, unetEncoderFlops, unetFlops } from '../core/nn/unet';
import { num, parseCli } from '../node/args';
import { useBackend } from '../node/backend';
import { fmt, matMulGflops, medianMs, printUnetTable } from '../node/bench-unet';
import { printKernelCounts, randomBatch } from '../node/kernel-counts';
import { MNIST_TEACHER_CONFIG } from '../core/mnist-teacher-config';

const args = parseCli('npm run bench -- [options]', {
  batches: { type: 'string', default: '1,8,32', help: 'UNet batch sizes' },
  runs: { type: 'string', default: '5', help: 'timed runs per figure (median reported)' },
  matmul: { type: 'string', default: '1024', help: 'side of the square matMul peak test' },
  iterations: { type: 'string', default: '5', help: 'timed RAPM iterations per figure' },
  'no-rapm': { type: 'boolean', help: 'UNet rows only (the comparison with scripts/torch-unet-bench.py)' },
});

const SLOTS = 4;

async function rapmRow(runs: number): Promise<void> {
  const teacher = initUnetParams(MNIST_UNET, 0);
  const geometry = { coarseTimesteps: [999, 749, 499, 249], deltaTimesteps: [968, 718, 468, 218], guidance: 2 };
  const make = (over: Partial<RapmConfig> = {}) =>
    new RapmTrainer(MNIST_TEACHER_CONFIG, teacher, geometry, { ...DEFAULT_RAPM, ...over });
  const full = make();
  const noAdv = make({ lambdaRel: 0, lambdaAbs: 0, discriminators: 'off' });
  let seed = 0;
  const timePass = (trainer: RapmTrainer) =>
    medianMs(runs, async () => {
      const inputs = trainer.inputs(randomBatch(seed++));
      const pass = trainer.studentGradients(inputs);
      await pass.loss.data();
      disposePass(pass);
      disposeStepTensors(inputs);
    });
  const prepare = await medianMs(runs, async () => {
    const inputs = full.inputs(randomBatch(seed++));
    const fixed = full.prepare(inputs);
    await fixed.relativeTarget.data();
    tf.dispose([fixed.slotStarts, fixed.teacherPoints, fixed.relativeTarget, fixed.slotLabels]);
    disposeStepTensors(inputs);
  });
  const passFull = await timePass(full);
  const passNoAdv = await timePass(noAdv);
  const step = await medianMs(runs, async () => {
    full.step(randomBatch(seed++));
  });
  const f = unetFlops(MNIST_UNET);
  const e = unetEncoderFlops(MNIST_UNET);
  // rollout (N-1) + relative targets N: forward; student N: forward+backward (3x);
  // adversarial encoder with gradient to its input N (3x); discriminator encoder pass 3N (1x).
  const flops = (2 * SLOTS - 1) * f + 3 * SLOTS * f + 3 * SLOTS * e + 3 * SLOTS * e;
  console.log(
    `\n## RAPM iteration, batch 1, N = ${SLOTS}, LoRA rank ${DEFAULT_RAPM.student.rank}, both discriminators, stored Delta points\n`,
  );
  console.log('| what | ms (median) | share |');
  console.log('|---|---:|---:|');
  const rows: [string, number][] = [
    ['student forward, no gradient (rollout + relative targets)', prepare],
    ['student forward+backward (regression terms)', passNoAdv - prepare],
    ['adversarial terms: frozen teacher encoder + heads, forward+backward', passFull - passNoAdv],
    ['discriminator updates (one encoder pass over 3N inputs, heads, Adam) + student Adam + EMA', step - passFull],
  ];
  for (const [what, ms] of rows) console.log(`| ${what} | ${fmt(ms)} | ${fmt((100 * ms) / step)}% |`);
  console.log(`| **whole iteration** | **${fmt(step)}** | 100% |`);
  console.log(
    `\niterations/s: ${fmt(1000 / step, 2)}; FLOPs per iteration: ${fmt(flops / 1e9, 2)} GFLOP; achieved ${fmt(flops / (step * 1e6), 2)} GFLOP/s`,
  );
  full.dispose();
  noAdv.dispose();
  tf.dispose(Object.values(teacher));
}

async function main(): Promise<void> {
  const description = await useBackend('wasm');
  const runs = num(args.runs, 'runs');
  const flops = unetFlops(MNIST_UNET);
  console.log(`# npm run bench: tfjs ${tf.version.tfjs} on ${description}, node ${process.version}`);
  console.log(
    `MNIST UNet: ${fmt(flops / 1e6)} MFLOP forward per image (encoder half ${fmt(unetEncoderFlops(MNIST_UNET) / 1e6)}); fwd+bwd counted as 3x\n`,
  );
  const side = num(args.matmul, 'matmul');
  const mm = await matMulGflops(side, runs);
  console.log(`matMul ${side}^3 float32 peak: ${fmt(mm.gflops)} GFLOP/s (${fmt(mm.ms, 1)} ms)\n`);
  const batches = String(args.batches)
    .split(',')
    .map((s) => num(s.trim(), 'batches'));
  await printUnetTable(batches, runs);
  if (!args['no-rapm']) {
    await rapmRow(num(args.iterations, 'iterations'));
    await printKernelCounts();
  }
  console.log(`\ntensors left: ${tf.memory().numTensors}`);
}

await main();
