/**
 * npm run eval -- --model public/teacher.safetensors --steps 4 --guidance 2 [--count 1000] [--json docs/results.json]
 * npm run eval -- --model runs/rapm/student-merged.safetensors --steps 4 --guidance 1 --label "RAPM student"
 * npm run eval -- --reference train   (the floor: the train split against the test split)
 * npm run eval -- --shards public/shards   (the teacher's full trajectories, from their stored end points)
 * npm run eval -- --model public/teacher.safetensors --steps 32 --guidance 3 --save-samples runs/teacher-32.safetensors
 * npm run eval -- --model runs/rapm/student-merged.safetensors --against runs/teacher-32.safetensors
 *   (how closely the student copies the teacher on the same seeds: FID between the two sample sets and the
 *   per-sample RMS pixel difference)
 * npm run eval -- --model student-merged.safetensors --shards public/shards --validation-split 64 --split-seed 0
 *   --teacher public/teacher.safetensors
 *   (the studio's validation numbers, recomputed: the student scored on the trajectories a run on these
 *   shards holds out, see heldOut below)
 *
 * FID against the held-out MNIST test split, on the evaluator's 128-d penultimate features, and
 * class accuracy (the share of conditional samples the evaluator assigns to the requested class).
 * K samples (default 1000) with fixed seeds 0..K-1 and balanced classes (label = k % 10), so
 * every model and sampler is scored on the same initial noise. Beside them, pixel statistics of the
 * samples and of the real test digits, overall and per class (src/core/eval/pixel-stats.ts).
 */
import { appendFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadTeacherPath } from '../node/teacher-file';
import { readShard, type ShardMeta } from '../core/io/shards';
import { sampleModel } from '../core/diffusion/model-sampling';
import type { GuidanceInterval } from '../core/diffusion/guidance';
import { decodeEvaluator } from '../core/eval/evaluator-bundle';
import { fidOfFeatures } from '../core/eval/fid';
import { classAccuracy, classifyImages } from '../core/eval/metrics';
import { MNIST_PIXEL_STATS, pixelStatsByClass, type PixelStats } from '../core/eval/pixel-stats';
import { decodeSampleSet, encodeSampleSet, meanPixelRmse, type SampleSet } from '../core/eval/sample-set';
import { FormatError } from '../core/io/errors';
import { trajectorySet, type NamedShard, ShardSetError } from '../core/rapm/trajectory-set';
import {
  decodeEvaluation,
  evaluatorFits,
  teacherReferences,
  validateStudent,
  validationSet,
  type QualityScore,
} from '../core/rapm/validation';
import { ValidationSplitError } from '../core/rapm/validation-split';
import { newValidationRecord } from '../core/rapm/validator';
import { num, parseCli, runCli, UsageError } from '../node/args';
import { useBackend, parseBackend } from '../node/backend';
import { loadMnist } from '../node/mnist';
import { Progress } from '../node/progress';
import { shardFiles } from '../node/shard-files';

const args = parseCli('npm run eval -- [options]', {
  model: {
    type: 'string',
    help: 'model to sample: a model bundle (FILE: teacher or merged student) or a diffusers UNet2DModel folder (DIR)',
  },
  reference: { type: 'string', help: "score real digits instead of a model: 'train' (the FID floor)" },
  shards: {
    type: 'string',
    help: "score the teacher's stored end points z~_0 of a shard folder (its full N*M-step trajectory)",
  },
  steps: { type: 'string', default: '4', help: 'DDIM steps (trailing spacing)' },
  guidance: { type: 'string', default: '1', help: 'classifier-free guidance scale (1 = none)' },
  'guidance-interval': { type: 'string', help: 'LO,HI: guide only at timesteps LO <= t <= HI (default: all)' },
  count: { type: 'string', default: '1000', help: 'samples (balanced over classes)' },
  seed: { type: 'string', default: '0', help: 'first sample seed' },
  batch: { type: 'string', default: '100', help: 'sampling batch size' },
  evaluator: { type: 'string', default: 'public/evaluator.safetensors', help: 'evaluator bundle' },
  label: { type: 'string', help: 'row label (default: model name, steps, guidance)' },
  json: { type: 'string', help: 'append the row as one JSON line to this file' },
  'save-samples': { type: 'string', help: 'also write the samples (images, classes, seed) to this file' },
  against: {
    type: 'string',
    help: 'a --save-samples file drawn with the same --count and --seed: report FID and pixel RMSE to it',
  },
  'validation-split': {
    type: 'string',
    help:
      'with --model and --shards (file or folder): score the student on the COUNT trajectories a run on these ' +
      "shards holds out (chosen as the studio and npm run distill choose them), from their stored noise, as the studio's validation does",
  },
  'split-seed': { type: 'string', default: '0', help: "with --validation-split: the run's seed (the split's seed)" },
  teacher: {
    type: 'string',
    help: "with --validation-split: also score this teacher on the split (the studio's reference lines)",
  },
  backend: { type: 'string', default: 'wasm', help: 'tfjs backend' },
});

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** One table: each statistic of the samples with the real digits' in brackets, overall then per class. */
function printPixelStats(samples: { all: PixelStats; perClass: PixelStats[] }, real: typeof samples): void {
  console.log(
    '\npixel statistics, samples (real test digits): mean intensity; ink = share of pixels > 0; ' +
      'border = share of the 4-px border > -0.5; border energy = mean (x + 1)^2 on that border',
  );
  console.log('| class | n | mean | ink | border | border energy | min .. max |');
  console.log('|---|---:|---:|---:|---:|---:|---|');
  const rows: [string, PixelStats, PixelStats][] = [
    ['all', samples.all, real.all],
    ...samples.perClass.map((s, c): [string, PixelStats, PixelStats] => [String(c), s, real.perClass[c]]),
  ];
  for (const [name, s, r] of rows) {
    if (s.count === 0) continue;
    const cells = [
      `${s.meanIntensity.toFixed(3)} (${r.meanIntensity.toFixed(3)})`,
      `${pct(s.inkShare)} (${pct(r.inkShare)})`,
      `${pct(s.borderBright)} (${pct(r.borderBright)})`,
      `${s.borderEnergy.toFixed(4)} (${r.borderEnergy.toFixed(4)})`,
      `${s.min.toFixed(3)} .. ${s.max.toFixed(3)}`,
    ];
    console.log(`| ${name} | ${s.count} | ${cells.join(' | ')} |`);
  }
}

function parseInterval(text: unknown): GuidanceInterval | undefined {
  if (text === undefined) return undefined;
  const parts = String(text).split(',');
  const [lo, hi] = parts.map((p) => Number(p.trim()));
  if (parts.length !== 2 || !Number.isInteger(lo) || !Number.isInteger(hi) || lo > hi) {
    throw new UsageError(`--guidance-interval must be LO,HI with integers LO <= HI, got '${String(text)}'`);
  }
  return [lo, hi];
}

/** The evaluator scores 1x28x28 digits; `what` names the source ("FILE draws", "FILE holds"). */
function assertEvaluatorSize(d: { channels: number; height: number; width: number }, what: string): void {
  if (d.channels !== 1 || d.height !== 28 || d.width !== 28) {
    throw new UsageError(`${what} ${d.channels}x${d.height}x${d.width} samples; the MNIST evaluator scores 1x28x28`);
  }
}

function scoreRow(what: string, s: QualityScore): string {
  const fid = s.fid === null ? '—' : s.fid.toFixed(2);
  const accuracy = s.accuracy === null ? '—' : `${(100 * s.accuracy).toFixed(1)}%`;
  return `| ${what} | ${s.rmse.toFixed(5)} | ${fid} | ${accuracy} |`;
}

/**
 * --validation-split: the studio's validation (src/core/rapm/validation.ts) outside the browser. The
 * shards are joined as a run joins them, the held-out trajectories are chosen as a run chooses them
 * (newValidationRecord: COUNT, at most a quarter, seeded by the run's seed), and the student samples
 * from their stored noise on the shards' coarse grid at guidance 1; RMSE to the teacher's end points,
 * and FID (to the evaluator's real-digit fit, public/evaluator-real.safetensors) and class accuracy on
 * those samples. So a student exported from the studio scores here what the page showed for it.
 */
async function heldOut(): Promise<void> {
  if (!args.model || !args.shards) {
    throw new UsageError("--validation-split needs --model (the student) and --shards (the run's shards)");
  }
  const { config, params } = await loadTeacherPath(String(args.model));
  const shards: NamedShard[] = [];
  for (const f of await shardFiles(String(args.shards))) shards.push({ name: f, shard: readShard(await readFile(f)) });
  const source = trajectorySet(shards);
  const count = num(args['validation-split'], 'validation-split');
  const seed = num(args['split-seed'], 'split-seed');
  const record = newValidationRecord(source.data.count, { count, every: 0 }, seed);
  if (!record)
    throw new UsageError(`--validation-split ${count} holds out nothing of ${source.data.count} trajectories`);
  const grid = source.geometry.coarseTimesteps;
  if (config.studentTimesteps && JSON.stringify(config.studentTimesteps) !== JSON.stringify(grid)) {
    throw new UsageError(
      `${args.model} was trained on the grid [${config.studentTimesteps}], the shards hold [${grid}]: ` +
        'give the shards it was trained on',
    );
  }
  const evaluatorPath = String(args.evaluator);
  const evaluation = await decodeEvaluation(
    await readFile(evaluatorPath),
    await readFile(evaluatorPath.replace(/\.safetensors$/, '-real.safetensors')),
  );
  const fits = evaluatorFits(evaluation, config) ? evaluation : null;
  const set = validationSet(source, record.split.indices);
  const batch = num(args.batch, 'batch');
  const started = performance.now();
  const { rmse, fid, accuracy } = await validateStudent(config, params, grid, set, fits, 0, batch);
  const label = String(args.label ?? `${config.name}, ${grid.length} steps on [${grid}], CFG 1`);
  const rows: Record<string, unknown>[] = [{ label, model: String(args.model), rmse, fid, accuracy }];
  if (args.teacher) {
    const teacher = await loadTeacherPath(String(args.teacher));
    const { slots, fineStepsPerSlot } = source.data;
    const references = await teacherReferences(
      teacher.config,
      teacher.params,
      {
        timesteps: grid,
        guidance: source.geometry.guidance,
        fullSteps: fineStepsPerSlot ? slots * fineStepsPerSlot : null,
      },
      set,
      fits,
      batch,
    );
    tf.dispose(Object.values(teacher.params));
    rows.push(...references.map((r) => ({ model: String(args.teacher), ...r })));
  }
  tf.dispose(Object.values(params));
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${record.split.indices.length} of ${source.data.count} trajectories held out by seed ${seed}: ` +
      `[${record.split.indices.join(', ')}]`,
  );
  console.log('\n| sampler | RMSE to the teacher end points | FID (to the real-digit fit) | accuracy |');
  console.log('|---|---:|---:|---:|');
  for (const row of rows) console.log(scoreRow(String(row.label), row as unknown as QualityScore));
  if (args.json) {
    const common = { split: record.split, shards: String(args.shards), seconds, date: new Date().toISOString() };
    await appendFile(String(args.json), rows.map((r) => `${JSON.stringify({ ...r, ...common })}\n`).join(''));
  }
}

async function main(): Promise<void> {
  await useBackend(parseBackend(String(args.backend)));
  if (args['validation-split'] !== undefined) return heldOut();
  const evaluator = decodeEvaluator(await readFile(String(args.evaluator)));
  const count = num(args.count, 'count');
  const seed0 = num(args.seed, 'seed');
  // read before sampling, so a wrong file fails at once
  const against = args.against ? decodeSampleSet(await readFile(String(args.against))) : null;
  if (against && (against.labels.length !== count || against.seed !== seed0)) {
    throw new UsageError(
      `${args.against} holds ${against.labels.length} samples from seed ${against.seed}; ` +
        `run with --count ${against.labels.length} --seed ${against.seed} to compare with it`,
    );
  }
  const test = loadMnist('test');
  const px = 28 * 28;
  const started = performance.now();
  let images: Float32Array;
  let labels: Int32Array;
  let label: string;
  let row: Record<string, unknown>;
  if (args.reference) {
    if (args.reference !== 'train') throw new UsageError(`--reference must be 'train', got '${args.reference}'`);
    const train = loadMnist('train');
    const n = Math.min(count, train.count);
    // an evenly spaced subset keeps the classes balanced as in the split
    const pick = Array.from({ length: n }, (_, i) => Math.floor((i * train.count) / n));
    images = new Float32Array(n * px);
    pick.forEach((k, i) => images.set(train.images.subarray(k * px, (k + 1) * px), i * px));
    labels = Int32Array.from(pick, (k) => train.labels[k]);
    label = String(args.label ?? `train split (${n} real digits)`);
    row = { reference: 'train' };
  } else if (args.shards) {
    const folder = String(args.shards);
    const files = (await readdir(folder)).filter((f) => f.endsWith('.safetensors')).sort();
    const ends: Float32Array[] = [];
    const ls: number[] = [];
    let meta: ShardMeta | null = null;
    for (const f of files) {
      const shard = readShard(await readFile(join(folder, f)));
      meta = shard.meta;
      assertEvaluatorSize(meta.data, `${f} holds`);
      const n = shard.summary.slots;
      for (let k = 0; k < shard.summary.count && ls.length < count; k++) {
        ends.push(shard.positions.subarray((k * (n + 1) + n) * px, (k * (n + 1) + n + 1) * px));
        ls.push(shard.labels[k]);
      }
    }
    if (!meta) throw new UsageError(`no shards in ${folder}`);
    images = new Float32Array(ls.length * px);
    ends.forEach((e, i) => images.set(e, i * px));
    labels = Int32Array.from(ls);
    const steps = meta.coarseTimesteps.length * meta.fineStepsPerSlot;
    label = String(
      args.label ?? `teacher trajectory end points, DDIM ${steps} steps, CFG ${meta.guidanceScale} (shards)`,
    );
    row = { shards: folder, steps, guidance: meta.guidanceScale };
  } else {
    if (!args.model) throw new UsageError('give --model FILE or --reference train');
    const { config, params } = await loadTeacherPath(String(args.model));
    assertEvaluatorSize(config.data, `${args.model} draws`);
    const steps = num(args.steps, 'steps');
    const guidance = num(args.guidance, 'guidance');
    const interval = parseInterval(args['guidance-interval']);
    const seeds = Array.from({ length: count }, (_, k) => seed0 + k);
    labels = Int32Array.from(seeds, (_, k) => k % Math.max(1, config.numClasses));
    const progress = new Progress(count, 'img');
    images = await sampleModel(config, params, {
      seeds,
      labels,
      steps,
      spacing: 'trailing',
      guidanceScale: guidance,
      guidanceInterval: interval,
      batchSize: num(args.batch, 'batch'),
      onProgress: (done) => progress.update(done),
    });
    progress.done();
    const within = interval ? ` at t in [${interval[0]}, ${interval[1]}]` : '';
    label = String(args.label ?? `${config.name}, DDIM ${steps} steps, CFG ${guidance}${within}`);
    row = {
      model: String(args.model),
      name: config.name,
      steps,
      guidance,
      ...(interval && { guidanceInterval: interval }),
    };
  }
  const n = labels.length;
  const samples: SampleSet = {
    images,
    labels,
    imageShape: [28, 28, 1] /* the evaluator's size, checked above */,
    seed: seed0,
    source: label,
  };
  const sampled = await classifyImages(evaluator.config, evaluator.params, images, n);
  const real = await classifyImages(evaluator.config, evaluator.params, test.images, test.count);
  const fid = fidOfFeatures(sampled.features, n, real.features, test.count, sampled.featureDim);
  const accuracy = classAccuracy(sampled.predictions, labels);
  const pixels = pixelStatsByClass(images, labels, 10, MNIST_PIXEL_STATS);
  const realPixels = pixelStatsByClass(test.images, test.labels, 10, MNIST_PIXEL_STATS);
  if (against) {
    const rmse = meanPixelRmse(samples, against);
    const ref = await classifyImages(evaluator.config, evaluator.params, against.images, n);
    const fidTo = fidOfFeatures(sampled.features, n, ref.features, n, sampled.featureDim);
    console.log(`against ${args.against} (${against.source}): FID ${fidTo.toFixed(2)}, pixel RMSE ${rmse.toFixed(4)}`);
    row = { ...row, against: String(args.against), fidToAgainst: fidTo, pixelRmseToAgainst: rmse };
  }
  if (args['save-samples']) await writeFile(String(args['save-samples']), encodeSampleSet(samples));
  const seconds = (performance.now() - started) / 1000;
  const out = {
    label,
    ...row,
    count: n,
    seed: seed0,
    fid,
    classAccuracy: accuracy,
    pixelStats: pixels,
    realPixelStats: realPixels.all,
    seconds,
    date: new Date().toISOString(),
  };
  printPixelStats(pixels, realPixels);
  console.log(`\n| ${label} | ${fid.toFixed(1)} | ${(100 * accuracy).toFixed(1)}% | ${n} |`);
  if (args.json) await appendFile(String(args.json), `${JSON.stringify(out)}\n`);
}

await runCli(main, [FormatError, ShardSetError, ValidationSplitError]);
