/**
 * npm run distill -- --teacher public/teacher.safetensors --shards public/shards --iterations 1200 --out runs/rapm
 *
 * Trains a RAPM student from trajectory shards on the wasm backend: progress bar, metrics
 * (metrics.jsonl, one RapmMetrics event per line), checkpoints (--resume continues the same
 * run), and at the end the LoRA-only and merged exports and a PNG grid of student 4-step
 * samples beside the teacher's end points for the same seeds.
 */
import { appendFile, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelBundle, shardTeacher } from '../core/io/bundle';
import { readShard, type ShardTeacher } from '../core/io/shards';
import { DEFAULT_RAPM, DEFAULT_STUDENT_LR, type RapmConfig } from '../core/rapm/config';
import { loadRapmCheckpoint, saveRapmCheckpoint } from '../core/rapm/checkpoint';
import { exportLora, exportMerged, sampleStudent } from '../core/rapm/student';
import { mergeStudent } from '../core/rapm/lora';
import { RapmTrainer } from '../core/rapm/trainer';
import { TrajectorySource, type StoredTrajectories } from '../core/rapm/trajectory-source';
import { FormatError } from '../core/io/errors';
import { num, parseCli, runCli, UsageError } from '../node/args';
import { checkRapmConfig } from '../core/rapm/config-check';
import { useBackend } from '../node/backend';
import { Progress } from '../node/progress';
import { writeSampleGrid } from './sample-grid';

const args = parseCli('npm run distill -- [options]', {
  teacher: { type: 'string', default: 'public/teacher.safetensors', help: 'teacher model bundle' },
  shards: { type: 'string', default: 'public/shards', help: 'a shard file or a folder of *.safetensors shards' },
  iterations: { type: 'string', default: '1200', help: 'training iterations' },
  out: { type: 'string', default: 'runs/rapm', help: 'output folder' },
  resume: { type: 'boolean', default: false, help: 'continue from OUT/checkpoint.safetensors' },
  'checkpoint-every': { type: 'string', default: '100', help: 'iterations between checkpoints' },
  'export-every': {
    type: 'string',
    default: '0',
    help: 'also write student-merged-iN.safetensors every N iterations, for learning curves (0 = off)',
  },
  'time-limit': {
    type: 'string',
    default: '0',
    help: 'minutes: stop early (checkpoint and exports as at the end; --resume continues) (0 = none)',
  },
  backend: { type: 'string', default: 'wasm', help: 'tfjs backend: wasm or webgpu (Dawn, see docs/benchmarks.md)' },
  'lambda-rel': { type: 'string', default: String(DEFAULT_RAPM.lambdaRel), help: 'adversarial weight, relative D' },
  'lambda-abs': { type: 'string', default: String(DEFAULT_RAPM.lambdaAbs), help: 'adversarial weight, absolute D' },
  'mu-rel': { type: 'string', default: String(DEFAULT_RAPM.muRel), help: 'regression weight to the relative target' },
  'mu-abs': { type: 'string', default: String(DEFAULT_RAPM.muAbs), help: "regression weight to the teacher's point" },
  distance: { type: 'string', default: DEFAULT_RAPM.distance, help: 'mse or pseudo-huber' },
  full: { type: 'boolean', default: false, help: 'fine-tune all weights instead of LoRA' },
  rank: { type: 'string', default: String(DEFAULT_RAPM.student.rank), help: 'LoRA rank' },
  'student-lr': {
    type: 'string',
    help: `student Adam learning rate (default ${DEFAULT_STUDENT_LR.lora} with LoRA, ${DEFAULT_STUDENT_LR.full} with --full)`,
  },
  'disc-lr': { type: 'string', default: String(DEFAULT_RAPM.discLr), help: 'discriminator Adam learning rate' },
  'disc-steps': {
    type: 'string',
    default: String(DEFAULT_RAPM.discSteps),
    help: 'discriminator updates per iteration (on the same inputs)',
  },
  ema: { type: 'string', default: String(DEFAULT_RAPM.emaDecay), help: 'EMA decay of the student weights (0 = off)' },
  batch: { type: 'string', default: String(DEFAULT_RAPM.batchSize), help: 'trajectories per iteration' },
  seed: { type: 'string', default: '0', help: 'seed of initialisation and trajectory order' },
});

function configFromArgs(): RapmConfig {
  const rank = num(args.rank, 'rank');
  const distance = String(args.distance);
  if (distance !== 'mse' && distance !== 'pseudo-huber')
    throw new UsageError(`--distance must be mse or pseudo-huber, got '${distance}'`);
  const discSteps = num(args['disc-steps'], 'disc-steps');
  if (!Number.isInteger(discSteps) || discSteps < 1)
    throw new UsageError(`--disc-steps must be a whole number of at least 1, got '${args['disc-steps']}'`);
  const cfg = {
    ...DEFAULT_RAPM,
    student: { ...DEFAULT_RAPM.student, mode: args.full ? 'full' : 'lora', rank, alpha: rank },
    lambdaRel: num(args['lambda-rel'], 'lambda-rel'),
    lambdaAbs: num(args['lambda-abs'], 'lambda-abs'),
    muRel: num(args['mu-rel'], 'mu-rel'),
    muAbs: num(args['mu-abs'], 'mu-abs'),
    distance,
    studentLr:
      args['student-lr'] === undefined
        ? DEFAULT_STUDENT_LR[args.full ? 'full' : 'lora']
        : num(args['student-lr'], 'student-lr'),
    discLr: num(args['disc-lr'], 'disc-lr'),
    discSteps,
    emaDecay: num(args.ema, 'ema'),
    batchSize: num(args.batch, 'batch'),
    seed: num(args.seed, 'seed'),
  };
  return checkRapmConfig(cfg, (m) => new UsageError(`bad settings: ${m}`));
}

async function shardFiles(path: string): Promise<string[]> {
  if ((await stat(path)).isFile()) return [path];
  return (await readdir(path))
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => join(path, f));
}

/** Reads and validates every shard against the teacher, and concatenates them. */
async function loadTrajectories(files: string[], teacher: ShardTeacher) {
  const shards = [];
  for (const f of files) shards.push(readShard(await readFile(f), teacher));
  if (shards.length === 0) throw new UsageError('no shards found; run npm run trajectories first');
  const first = shards[0];
  const concat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const hasDelta = shards.every((s) => s.deltaPositions);
  const data: StoredTrajectories = {
    positions: concat(shards.map((s) => s.positions)),
    deltaPositions: hasDelta ? concat(shards.map((s) => s.deltaPositions!)) : null,
    labels: Int32Array.from(shards.flatMap((s) => Array.from(s.labels))),
    count: shards.reduce((a, s) => a + s.summary.count, 0),
    slots: first.summary.slots,
    channels: first.meta.data.channels,
    height: first.meta.data.height,
    width: first.meta.data.width,
  };
  const geometry = {
    coarseTimesteps: first.meta.coarseTimesteps,
    deltaTimesteps: first.meta.deltaTimesteps,
    guidance: first.meta.guidanceScale,
  };
  return new TrajectorySource(data, geometry);
}

async function atomicWrite(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

async function main(): Promise<void> {
  console.error(`backend: ${await useBackend(String(args.backend) as 'wasm' | 'webgpu')}`);
  const out = String(args.out);
  await mkdir(out, { recursive: true });
  const teacherBytes = await readFile(String(args.teacher));
  const { config: model, params: teacher } = loadModelBundle(teacherBytes);
  const checkedTeacher = await shardTeacher(teacherBytes);
  const identity = checkedTeacher.identity;
  const source = await loadTrajectories(await shardFiles(String(args.shards)), checkedTeacher);
  const iterations = num(args.iterations, 'iterations');
  const ckptPath = join(out, 'checkpoint.safetensors');
  const metricsPath = join(out, 'metrics.jsonl');

  let trainer: RapmTrainer;
  if (args.resume) {
    trainer = loadRapmCheckpoint(await readFile(ckptPath), model, teacher);
    console.error(`resumed from ${ckptPath} at iteration ${trainer.iteration}`);
  } else {
    trainer = new RapmTrainer(model, teacher, source.geometry, configFromArgs());
    await writeFile(metricsPath, '');
  }
  const cfg = trainer.cfg;
  await writeFile(
    join(out, 'config.json'),
    JSON.stringify({ rapm: cfg, geometry: source.geometry, teacher: identity }, null, 2),
  );

  const progress = new Progress(iterations, 'it', trainer.iteration);
  const every = num(args['checkpoint-every'], 'checkpoint-every');
  const exportEvery = num(args['export-every'], 'export-every');
  const deadline =
    num(args['time-limit'], 'time-limit') > 0 ? Date.now() + num(args['time-limit'], 'time-limit') * 60_000 : Infinity;
  let pending: string[] = [];
  while (trainer.iteration < iterations && Date.now() < deadline) {
    const m = trainer.step(source.batch(trainer.iteration, cfg.batchSize, cfg.seed));
    pending.push(JSON.stringify(m));
    const adv = m.perSlot.advRel.reduce((a, b) => a + b, 0) + m.perSlot.advAbs.reduce((a, b) => a + b, 0);
    const reg = m.perSlot.regAbs.reduce((a, b) => a + b, 0);
    progress.update(m.iteration, { G: m.studentLoss, adv, regAbs: reg, Drel: m.discLossRel, Dabs: m.discLossAbs });
    if (!Number.isFinite(m.studentLoss))
      throw new Error(`student loss became ${m.studentLoss} at iteration ${m.iteration}`);
    if (m.iteration % every === 0 || m.iteration === iterations || Date.now() >= deadline) {
      await appendFile(metricsPath, pending.map((l) => `${l}\n`).join(''));
      pending = [];
      await atomicWrite(ckptPath, await saveRapmCheckpoint(trainer, model.name));
    }
    if (exportEvery > 0 && m.iteration % exportEvery === 0 && m.iteration < iterations) {
      const provenance = { teacher: identity, iterations: m.iteration, command: 'npm run distill (--export-every)' };
      const file = join(out, `student-merged-i${m.iteration}.safetensors`);
      await atomicWrite(file, await exportMerged(model, teacher, cfg.student, trainer.samplingWeights(), provenance));
    }
  }
  progress.done();
  if (trainer.iteration < iterations) console.error(`time limit reached at iteration ${trainer.iteration}`);

  const provenance = {
    teacher: identity,
    iterations: trainer.iteration,
    command: `npm run distill -- ${process.argv.slice(2).join(' ')}`,
  };
  const weights = trainer.samplingWeights();
  if (cfg.student.mode === 'lora') {
    await atomicWrite(join(out, 'student-lora.safetensors'), await exportLora(model, cfg.student, weights, provenance));
  }
  await atomicWrite(
    join(out, 'student-merged.safetensors'),
    await exportMerged(model, teacher, cfg.student, weights, provenance),
  );

  // Student 4-step samples beside the teacher's stored end points z~_0, same initial noise.
  const perClass = 8;
  const classes = model.numClasses;
  const picks: number[] = [];
  for (let c = 0; c < classes; c++) {
    for (let k = 0, found = 0; k < source.data.count && found < perClass; k++) {
      if (source.data.labels[k] === c) {
        picks.push(k);
        found++;
      }
    }
  }
  const batch = source.gather(picks);
  const { height: h, width: w, channels: ch } = model.data;
  const n = source.data.slots;
  const px = h * w * ch;
  const noise = new Float32Array(picks.length * px);
  const teacherEnd = new Float32Array(picks.length * px);
  picks.forEach((_, i) => {
    noise.set(batch.positions.subarray(i * (n + 1) * px, (i * (n + 1) + 1) * px), i * px);
    teacherEnd.set(batch.positions.subarray((i * (n + 1) + n) * px, (i * (n + 1) + n + 1) * px), i * px);
  });
  const merged = mergeStudent(teacher, weights, cfg.student);
  const samples = tf.tidy(() =>
    sampleStudent(model, merged, tf.tensor4d(noise, [picks.length, h, w, ch]), tf.tensor1d(batch.labels, 'int32')),
  );
  await writeSampleGrid(
    join(out, 'samples.png'),
    model,
    [
      { title: 'student, 4 steps', data: (await samples.data()) as Float32Array, count: picks.length },
      { title: 'teacher end points', data: teacherEnd, count: picks.length },
    ],
    perClass,
  );
  tf.dispose([samples, ...Object.values(merged)]);
  console.log(`wrote ${out}/{checkpoint,student-lora,student-merged}.safetensors, samples.png, metrics.jsonl`);
}

await runCli(main, [FormatError]);
