/**
 * npm run distill -- --teacher public/teacher.safetensors --shards public/shards --iterations 1200 --out runs/rapm
 *
 * Trains a RAPM student from trajectory shards on the wasm backend: progress bar, metrics
 * (metrics.jsonl, one RapmMetrics event per line), checkpoints by count and by time (--resume
 * continues the same run, after checking its teacher and the shards' grid), and at the end the
 * LoRA-only and merged exports and a PNG grid of student samples (on the grid it was trained on)
 * beside the teacher's end points for the same seeds. The run itself is the core's TrainingDriver,
 * the same the studio drives.
 */
import { appendFile, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelBundle, shardTeacher } from '../core/io/bundle';
import { readShard } from '../core/io/shards';
import { FormatError } from '../core/io/errors';
import { DEFAULT_CHECKPOINT_SCHEDULE, DEFAULT_RAPM, DEFAULT_STUDENT_LR, type RapmConfig } from '../core/rapm/config';
import { samplePicks } from '../core/rapm/sample-picks';
import { exportStudent, studentSamples } from '../core/rapm/student';
import { disposeSnapshot } from '../core/rapm/student-snapshot';
import type { TeacherModel } from '../core/rapm/teacher-model';
import { TrainingDivergedError, TrainingDriver } from '../core/rapm/training-driver';
import { ShardSetError, type NamedShard } from '../core/rapm/trajectory-set';
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
  'checkpoint-every': {
    type: 'string',
    default: String(DEFAULT_CHECKPOINT_SCHEDULE.everyIterations),
    help: 'iterations between checkpoints (0 = by time only)',
  },
  'checkpoint-seconds': {
    type: 'string',
    default: String(DEFAULT_CHECKPOINT_SCHEDULE.everySeconds),
    help: 'also checkpoint after this many seconds of training (0 = by count only)',
  },
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

/** Reads every shard and validates it against the teacher; the driver joins them. */
async function readShards(files: string[], teacher: TeacherModel): Promise<NamedShard[]> {
  if (files.length === 0) throw new UsageError('no shards found; run npm run trajectories first');
  const shards: NamedShard[] = [];
  for (const f of files) shards.push({ name: f, shard: readShard(await readFile(f), teacher) });
  return shards;
}

async function atomicWrite(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

/** Samples per class in samples.png. */
const GRID_COLUMNS = 8;

async function main(): Promise<void> {
  console.error(`backend: ${await useBackend(String(args.backend) as 'wasm' | 'webgpu')}`);
  const out = String(args.out);
  await mkdir(out, { recursive: true });
  const teacherBytes = await readFile(String(args.teacher));
  const { config: model, params } = loadModelBundle(teacherBytes);
  const teacher: TeacherModel = { ...(await shardTeacher(teacherBytes)), params };
  const shards = await readShards(await shardFiles(String(args.shards)), teacher);
  const iterations = num(args.iterations, 'iterations');
  const ckptPath = join(out, 'checkpoint.safetensors');
  const metricsPath = join(out, 'metrics.jsonl');
  const options = {
    checkpoints: {
      everyIterations: num(args['checkpoint-every'], 'checkpoint-every'),
      everySeconds: num(args['checkpoint-seconds'], 'checkpoint-seconds'),
    },
  };

  let driver: TrainingDriver;
  if (args.resume) {
    driver = TrainingDriver.resume(teacher, shards, await readFile(ckptPath), configFromArgs(), options);
    console.error(`resumed from ${ckptPath} at iteration ${driver.iteration}`);
  } else {
    driver = TrainingDriver.start(teacher, shards, configFromArgs(), options);
    await writeFile(metricsPath, '');
  }
  const { source } = driver;
  await writeFile(
    join(out, 'config.json'),
    JSON.stringify({ rapm: driver.trainer.cfg, geometry: source.geometry, teacher: teacher.identity }, null, 2),
  );

  const progress = new Progress(iterations, 'it', driver.iteration);
  const exportEvery = num(args['export-every'], 'export-every');
  const deadline =
    num(args['time-limit'], 'time-limit') > 0 ? Date.now() + num(args['time-limit'], 'time-limit') * 60_000 : Infinity;
  let pending: string[] = [];
  while (driver.iteration < iterations && Date.now() < deadline) {
    const m = await driver.step();
    pending.push(JSON.stringify(m));
    const adv = m.perSlot.advRel.reduce((a, b) => a + b, 0) + m.perSlot.advAbs.reduce((a, b) => a + b, 0);
    const reg = m.perSlot.regAbs.reduce((a, b) => a + b, 0);
    progress.update(m.iteration, { G: m.studentLoss, adv, regAbs: reg, Drel: m.discLossRel, Dabs: m.discLossAbs });
    if (driver.checkpointDue() || m.iteration === iterations || Date.now() >= deadline) {
      await appendFile(metricsPath, pending.map((l) => `${l}\n`).join(''));
      pending = [];
      await atomicWrite(ckptPath, await driver.checkpoint());
    }
    if (exportEvery > 0 && m.iteration % exportEvery === 0 && m.iteration < iterations) {
      const file = join(out, `student-merged-i${m.iteration}.safetensors`);
      const snapshot = driver.snapshot();
      try {
        await atomicWrite(
          file,
          await exportStudent(teacher, snapshot, 'merged', { command: 'npm run distill (--export-every)' }),
        );
      } finally {
        disposeSnapshot(snapshot);
      }
    }
  }
  progress.done();
  if (driver.iteration < iterations) console.error(`time limit reached at iteration ${driver.iteration}`);

  const snapshot = driver.snapshot();
  const command = { command: `npm run distill -- ${process.argv.slice(2).join(' ')}` };
  if (snapshot.student.mode === 'lora') {
    await atomicWrite(join(out, 'student-lora.safetensors'), await exportStudent(teacher, snapshot, 'lora', command));
  }
  await atomicWrite(join(out, 'student-merged.safetensors'), await exportStudent(teacher, snapshot, 'merged', command));

  // Student samples on its grid beside the teacher's stored end points z~_0, same initial noise.
  const picks = samplePicks(source, model.numClasses, GRID_COLUMNS);
  const samples = await studentSamples(teacher, snapshot, picks.noise, picks.labels);
  const steps = snapshot.timesteps.length;
  await writeSampleGrid(
    join(out, 'samples.png'),
    model,
    [
      { title: `student, ${steps} steps`, data: samples, count: picks.indices.length },
      { title: 'teacher end points', data: picks.teacherEnd, count: picks.indices.length },
    ],
    picks.columns,
  );
  disposeSnapshot(snapshot);
  driver.dispose();
  console.log(`wrote ${out}/{checkpoint,student-lora,student-merged}.safetensors, samples.png, metrics.jsonl`);
}

await runCli(main, [FormatError, ShardSetError, TrainingDivergedError]);
