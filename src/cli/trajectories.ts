/**
 * npm run trajectories -- --teacher FILE | --model DIR|FILE --count 1000 --per-shard 256 --coarse 4 --fine 8 --guidance 3
 *   --seed 0 --out DIR [--dtype f16|f32] [--batch 32] [--backend wasm]
 *
 * Precomputes the teacher's trajectories into DIR/shard-00000.safetensors ... and DIR/manifest.json
 * (see src/node/trajectory-shards.ts). Deterministic for a seed; rerunning resumes at the first
 * missing or damaged shard.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { TimestepGridError } from '../core/diffusion/timesteps';
import { FormatError } from '../core/io/errors';
import type { FloatDtype } from '../core/io/shards';
import { TrajectoryRequestError } from '../core/rapm/trajectories';
import { num, parseCli, runCli } from '../node/args';
import { parseBackend, useBackend } from '../node/backend';
import { Progress } from '../node/progress';
import { loadTeacherPath } from '../node/teacher-file';
import { ShardDirError, writeShardDir } from '../node/trajectory-shards';

const args = parseCli('npm run trajectories -- --teacher FILE --out DIR [options]', {
  teacher: { type: 'string', default: 'public/teacher.safetensors', help: 'teacher model bundle' },
  model: {
    type: 'string',
    help: 'the teacher: a diffusers UNet2DModel folder (DIR) or a model bundle (FILE); replaces --teacher',
  },
  out: { type: 'string', default: 'public/shards', help: 'output directory' },
  count: { type: 'string', default: '1000', help: 'trajectories in all' },
  'per-shard': { type: 'string', default: '256', help: 'trajectories per shard file' },
  coarse: { type: 'string', default: '4', help: 'N, coarse slots' },
  fine: { type: 'string', default: '8', help: 'M, teacher DDIM steps per slot (>= 2)' },
  guidance: { type: 'string', default: '3', help: 'teacher classifier-free guidance scale (the built-in shards: 3)' },
  seed: { type: 'string', default: '0', help: 'trajectory k uses seed * 1e6 + k and class k % classes' },
  dtype: { type: 'string', default: 'f16', help: 'storage of positions: f16 or f32' },
  batch: { type: 'string', default: '32', help: 'trajectories per teacher batch' },
  only: {
    type: 'string',
    help: 'comma-separated shard indices: write just those, no manifest (for parallel processes; rerun without it)',
  },
  backend: { type: 'string', default: 'wasm', help: 'tfjs backend: wasm, webgpu (needs npm package webgpu) or cpu' },
});

function dtypeArg(v: string | boolean): FloatDtype {
  if (v === 'f16' || v === 'f32') return v === 'f16' ? 'F16' : 'F32';
  console.error(`--dtype must be f16 or f32, got '${v}'`);
  process.exit(2);
}

async function main(): Promise<void> {
  console.error(`backend: ${await useBackend(parseBackend(String(args.backend)))}`);
  const count = num(args.count, 'count');
  const perShard = num(args['per-shard'], 'per-shard');
  const modelPath = args.model === undefined ? undefined : String(args.model);
  const teacherPath = modelPath ?? String(args.teacher);
  const outDir = String(args.out);
  const settings = {
    count,
    perShard,
    slots: num(args.coarse, 'coarse'),
    stepsPerSlot: num(args.fine, 'fine'),
    guidanceScale: num(args.guidance, 'guidance'),
    seed: num(args.seed, 'seed'),
    dtype: dtypeArg(args.dtype),
    batchSize: num(args.batch, 'batch'),
    only:
      args.only === undefined
        ? undefined
        : String(args.only)
            .split(',')
            .map((v) => num(v, 'only')),
  };
  const command =
    `npm run trajectories -- ${modelPath ? '--model' : '--teacher'} ${teacherPath} --count ${count} --per-shard ${perShard} ` +
    `--coarse ${settings.slots} --fine ${settings.stepsPerSlot} --guidance ${settings.guidanceScale} ` +
    `--seed ${settings.seed} --out ${outDir} --dtype ${settings.dtype.toLowerCase()}`;
  const progress = new Progress(count, 'traj');
  // a folder (or any --model) loads through the one teacher loader; the default bundle as before
  const teacher = modelPath ? await loadTeacherPath(modelPath) : undefined;
  const manifest = await writeShardDir({
    ...settings,
    ...(teacher ? { teacher } : { teacherBytes: new Uint8Array(await readFile(teacherPath)) }),
    outDir,
    provenance: { command },
    onProgress: (done, shard) => progress.update(done, { shard: `${shard + 1}/${Math.ceil(count / perShard)}` }),
    log: (line) => {
      progress.done();
      console.error(line);
    },
  });
  progress.done();
  if (teacher) tf.dispose(Object.values(teacher.params));
  if (!manifest) {
    console.log(`${outDir}: wrote shards ${settings.only?.join(', ')}; run again without --only for the manifest`);
    return;
  }
  console.log(
    `${outDir}: ${manifest.files.length} shards, ${manifest.count} trajectories, ${manifest.bytes} bytes, ` +
      `teacher ${manifest.teacher.name} (${manifest.teacher.sha256.slice(0, 12)}…)`,
  );
}

await runCli(main, [ShardDirError, FormatError, TrajectoryRequestError, TimestepGridError]);
