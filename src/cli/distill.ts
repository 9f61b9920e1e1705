/**
 * npm run distill -- --teacher public/teacher.safetensors --shards public/shards --iterations 1200 --out runs/rapm
 *
 * Trains a RAPM student from trajectory shards on the wasm backend: progress bar, metrics
 * (metrics.jsonl, one RapmMetrics event per line), checkpoints by count and by time (--resume
 * continues the same run, after checking its teacher and the shards' grid), and at the end the
 * LoRA-only and merged exports and a PNG grid of student samples (on the grid it was trained on)
 * beside the teacher's end points for the same seeds. The run itself is the core's TrainingDriver,
 * the same the studio drives.
 *
 * Validation (src/core/rapm/validator.ts): --validation trajectories are held out and never
 * trained on; at the start, every --validate-every iterations and at the end the EMA student is
 * scored on them (validation.json: split, points, the teacher's lines, the best point), and the
 * best-scoring checkpoint is kept as checkpoint-best.safetensors and exported as
 * student-best-*.safetensors.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readShard } from '../core/io/shards';
import { FormatError } from '../core/io/errors';
import { checkpointValidationSplit, loadRapmCheckpoint } from '../core/rapm/checkpoint';
import { decodeEvaluation, type Evaluation, type QualityScore } from '../core/rapm/validation';
import { ValidationSplitError } from '../core/rapm/validation-split';
import type { ValidationRecord } from '../core/rapm/validator';
import { samplePicks } from '../core/rapm/sample-picks';
import { exportStudent, studentSamples } from '../core/rapm/student';
import { disposeSnapshot, snapshotStudent } from '../core/rapm/student-snapshot';
import type { TeacherModel } from '../core/rapm/teacher-model';
import { TrainingDivergedError, TrainingDriver } from '../core/rapm/training-driver';
import { ShardSetError, type NamedShard } from '../core/rapm/trajectory-set';
import { num, parseCli, runCli, UsageError } from '../node/args';
import { SETTING_FLAGS, settingsFromFlags } from '../node/setting-flags';
import { useBackend } from '../node/backend';
import { Progress } from '../node/progress';
import { shardFiles } from '../node/shard-files';
import { loadTeacherPath } from '../node/teacher-file';
import { writeSampleGrid } from './sample-grid';

/** The CLI's own flags (inputs, outputs, its stopping and export cadence); the run settings' come from the table. */
const args = parseCli('npm run distill -- [options]', {
  teacher: { type: 'string', default: 'public/teacher.safetensors', help: 'teacher model bundle' },
  model: {
    type: 'string',
    help: 'the teacher: a diffusers UNet2DModel folder (DIR) or a model bundle (FILE); replaces --teacher',
  },
  shards: { type: 'string', default: 'public/shards', help: 'a shard file or a folder of *.safetensors shards' },
  out: { type: 'string', default: 'runs/rapm', help: 'output folder' },
  resume: { type: 'boolean', default: false, help: 'continue from OUT/checkpoint.safetensors' },
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
  evaluator: {
    type: 'string',
    default: 'public/evaluator.safetensors',
    help: "evaluator for validation FID and accuracy (its real-digit fit beside it, '-real' before the extension)",
  },
  ...SETTING_FLAGS,
});

/** Reads every shard and validates it against the teacher; the driver joins them. */
async function readShards(files: string[], teacher: TeacherModel): Promise<NamedShard[]> {
  if (files.length === 0) throw new UsageError('no shards found; run npm run trajectories first');
  const shards: NamedShard[] = [];
  for (const f of files) shards.push({ name: f, shard: readShard(await readFile(f), teacher) });
  return shards;
}

/** The evaluator and its real-feature fit, or null (with the reason on stderr) when either is missing. */
async function loadEvaluation(path: string): Promise<Evaluation | null> {
  const realPath = path.replace(/\.safetensors$/, '-real.safetensors');
  try {
    return await decodeEvaluation(await readFile(path), await readFile(realPath));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    console.error(`validation without FID and accuracy: ${(e as NodeJS.ErrnoException).path} is missing`);
    return null;
  }
}

/** A resumed run's validation record: its split from the checkpoint, its points from validation.json. */
async function storedValidation(checkpoint: Uint8Array, path: string, every: number): Promise<ValidationRecord | null> {
  const split = checkpointValidationSplit(checkpoint);
  if (!split) return null;
  // A run stopped before its first validation has no record yet.
  const stored = existsSync(path)
    ? (JSON.parse(await readFile(path, 'utf8')) as ValidationRecord)
    : { points: [], references: [], best: null };
  return { ...stored, split, every };
}

function scoreLine(what: string, s: QualityScore, ms?: number): string {
  const quality = s.fid === null ? '' : `  FID ${s.fid.toFixed(2)}  accuracy ${(100 * s.accuracy!).toFixed(1)}%`;
  return `${what}: RMSE ${s.rmse.toFixed(4)}${quality}${ms === undefined ? '' : `  (${(ms / 1000).toFixed(1)} s)`}`;
}

async function atomicWrite(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

/** Samples per class in samples.png. */
const GRID_COLUMNS = 8;

async function main(): Promise<void> {
  const { config, run } = settingsFromFlags(args);
  console.error(`backend: ${await useBackend(String(args.backend) as 'wasm' | 'webgpu')}`);
  const out = String(args.out);
  await mkdir(out, { recursive: true });
  const teacher: TeacherModel = await loadTeacherPath(String(args.model ?? args.teacher));
  const { config: model, params } = teacher;
  // a diffusers teacher's student is a diffusers model: its merged form is the diffusers export's, not a bundle
  const merged = model.architecture === 'unet';
  const shards = await readShards(await shardFiles(String(args.shards)), teacher);
  const { iterations } = run;
  const ckptPath = join(out, 'checkpoint.safetensors');
  const metricsPath = join(out, 'metrics.jsonl');
  const bestPath = join(out, 'checkpoint-best.safetensors');
  const validationPath = join(out, 'validation.json');
  const options = {
    checkpoints: { everyIterations: run.checkpointEvery, everySeconds: run.checkpointSeconds },
    validation: { count: run.validationCount, every: run.validateEvery },
    evaluation: await loadEvaluation(String(args.evaluator)),
  };

  let driver: TrainingDriver;
  if (args.resume) {
    const checkpoint = await readFile(ckptPath);
    const validationRecord = await storedValidation(checkpoint, validationPath, run.validateEvery);
    driver = TrainingDriver.resume(teacher, shards, checkpoint, config, { ...options, validationRecord });
    console.error(`resumed from ${ckptPath} at iteration ${driver.iteration}`);
  } else {
    driver = TrainingDriver.start(teacher, shards, config, options);
    await writeFile(metricsPath, '');
  }
  const { source, validator } = driver;
  const split = validator?.record.split ?? null;
  await writeFile(
    join(out, 'config.json'),
    JSON.stringify(
      { rapm: driver.trainer.cfg, geometry: source.geometry, teacher: teacher.identity, validation: split },
      null,
      2,
    ),
  );
  /** Scores the EMA student; a new best is kept as checkpoint-best. */
  const validate = async () => {
    const result = await driver.validate();
    if (!result) return;
    const { point, best } = result;
    console.error(scoreLine(`validation at iteration ${point.iteration}`, point, point.ms) + (best ? '  (best)' : ''));
    if (best) await atomicWrite(bestPath, best);
    await atomicWrite(validationPath, JSON.stringify(validator!.record, null, 1));
  };
  if (validator && split) {
    console.error(`validation: ${split.indices.length} of ${split.trajectories} trajectories held out`);
    for (const r of await validator.references()) console.error(scoreLine(r.label, r));
    if (!validator.has(driver.iteration)) await validate();
  }

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
    if (validator?.due(m.iteration)) await validate();
    if (merged && exportEvery > 0 && m.iteration % exportEvery === 0 && m.iteration < iterations) {
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
  if (validator && !validator.has(driver.iteration)) await validate();

  const snapshot = driver.snapshot();
  const command = { command: `npm run distill -- ${process.argv.slice(2).join(' ')}` };
  if (snapshot.student.mode === 'lora') {
    await atomicWrite(join(out, 'student-lora.safetensors'), await exportStudent(teacher, snapshot, 'lora', command));
  }
  if (merged) {
    await atomicWrite(
      join(out, 'student-merged.safetensors'),
      await exportStudent(teacher, snapshot, 'merged', command),
    );
  }
  const best = validator?.record.best;
  if (best) {
    const bestTrainer = loadRapmCheckpoint(await readFile(bestPath), model, params, {
      teacher: teacher.identity,
      geometry: null,
    });
    const bestSnapshot = snapshotStudent(bestTrainer);
    bestTrainer.dispose();
    const extra = { ...command, validationRmse: best.rmse };
    if (bestSnapshot.student.mode === 'lora') {
      await atomicWrite(
        join(out, 'student-best-lora.safetensors'),
        await exportStudent(teacher, bestSnapshot, 'lora', extra),
      );
    }
    if (merged) {
      await atomicWrite(
        join(out, 'student-best-merged.safetensors'),
        await exportStudent(teacher, bestSnapshot, 'merged', extra),
      );
    }
    disposeSnapshot(bestSnapshot);
    console.error(`best validation RMSE ${best.rmse.toFixed(4)} at iteration ${best.iteration}: student-best-*`);
  }

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

await runCli(main, [FormatError, ShardSetError, TrainingDivergedError, ValidationSplitError]);
