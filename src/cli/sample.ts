/**
 * npm run sample -- --model FILE|DIR --steps 4 --guidance 2 --seed 0 --per-class 8 --out grid.png [--spacing trailing]
 *
 * DDIM samples of a model bundle or a diffusers folder as one PNG grid, one row per class. Sample j of class c uses
 * seed * 1e6 + c * perClass + j, so the same flags draw the same grid for any model: a teacher
 * and its student can be compared tile by tile. A distilled student (a bundle that records
 * `studentTimesteps`) samples by default on the grid it was trained on, at guidance 1; --steps
 * or --spacing pick another grid.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { sampleModel } from '../core/diffusion/model-sampling';
import { loadTeacherPath } from '../node/teacher-file';
import { SamplerInputError } from '../core/diffusion/sampler';
import { TimestepGridError, type TimestepSpacing } from '../core/diffusion/timesteps';
import { GridError, tileGrid } from '../core/grid';
import { FormatError } from '../core/io/errors';
import { num, parseCli, runCli } from '../node/args';
import { parseBackend, useBackend } from '../node/backend';
import { encodePng } from '../node/png';
import { Progress } from '../node/progress';

const args = parseCli('npm run sample -- --model FILE [options]', {
  model: {
    type: 'string',
    default: 'public/teacher.safetensors',
    help: 'a model bundle (teacher or merged student) or a diffusers UNet2DModel folder (teacher or exported student)',
  },
  steps: { type: 'string', help: "DDIM steps (default: a student's own grid, else 4)" },
  guidance: {
    type: 'string',
    help: 'classifier-free guidance scale (default: 1 for a student, whose guidance is distilled in, else 3)',
  },
  spacing: {
    type: 'string',
    help: "timestep spacing: trailing, leading or linspace (default: a student's grid, else trailing)",
  },
  seed: { type: 'string', default: '0', help: 'sample j of class c uses seed * 1e6 + c * per-class + j' },
  'per-class': { type: 'string', default: '8', help: 'samples per class (grid columns)' },
  out: { type: 'string', default: 'grid.png', help: 'PNG to write' },
  batch: { type: 'string', default: '64', help: 'samples per batch' },
  backend: { type: 'string', default: 'wasm', help: 'tfjs backend: wasm, webgpu (needs npm package webgpu) or cpu' },
});

const SPACINGS: readonly TimestepSpacing[] = ['trailing', 'leading', 'linspace'];

async function main(): Promise<void> {
  console.error(`backend: ${await useBackend(parseBackend(String(args.backend)))}`);
  const spacing = SPACINGS.find((s) => s === (args.spacing ?? 'trailing'));
  if (!spacing) {
    console.error(`--spacing must be one of ${SPACINGS.join(', ')}, got '${args.spacing}'`);
    process.exit(2);
  }
  const perClass = num(args['per-class'], 'per-class');
  const seed = num(args.seed, 'seed');
  const { config, params } = await loadTeacherPath(String(args.model));
  const ownGrid = args.steps === undefined && args.spacing === undefined ? config.studentTimesteps : undefined;
  const steps = ownGrid ? ownGrid.length : num(args.steps ?? '4', 'steps');
  const guidance = num(args.guidance ?? (config.studentTimesteps || config.numClasses === 0 ? '1' : '3'), 'guidance');
  console.error(
    `grid: ${ownGrid ? `the student's own, [${ownGrid}]` : `${steps} ${spacing} steps`}, guidance ${guidance}`,
  );
  // an unconditional model (numClasses 0) draws one row of label 0
  const rows = Math.max(1, config.numClasses);
  const total = rows * perClass;
  const seeds = Array.from({ length: total }, (_, k) => seed * 1_000_000 + k);
  const labels = Array.from({ length: total }, (_, k) => Math.floor(k / perClass));
  const progress = new Progress(total, 'img');
  const samples = await sampleModel(config, params, {
    seeds,
    labels,
    steps,
    spacing,
    timesteps: ownGrid,
    guidanceScale: guidance,
    batchSize: num(args.batch, 'batch'),
    onProgress: (done) => progress.update(done, {}, done === total),
  });
  progress.done();
  tf.dispose(Object.values(params));
  const { channels, height, width, range } = config.data;
  const image = tileGrid(samples, { height, width, channels, columns: perClass, range });
  const out = String(args.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, encodePng(image));
  console.log(
    `wrote ${out}: ${config.numClasses || 'no'} classes, ${rows} x ${perClass}, ${image.width}x${image.height} px`,
  );
}

await runCli(main, [FormatError, SamplerInputError, TimestepGridError, GridError]);
