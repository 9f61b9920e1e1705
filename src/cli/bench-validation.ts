/**
 * npm run bench:validation -- [--rounds 5] [--iterations 20] [--validation 64]
 *
 * What validation costs beside training, on the built-in teacher and shards (tfjs wasm, default
 * RAPM settings): rounds of `iterations` timed training steps followed by one timed validation of
 * the EMA student, interleaved so that a busy machine slows both alike. Prints the medians and
 * the share of training time validation adds at several cadences K.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelBundle } from '../core/io/bundle';
import { readShard } from '../core/io/shards';
import { DEFAULT_RAPM } from '../core/rapm/config';
import { RapmTrainer } from '../core/rapm/trainer';
import { disposeSnapshot, snapshotStudent } from '../core/rapm/student-snapshot';
import { TrajectorySource } from '../core/rapm/trajectory-source';
import { decodeEvaluation } from '../core/rapm/validation';
import { Validator, newValidationRecord, trainingSource } from '../core/rapm/validator';
import { num, parseCli } from '../node/args';
import { useWasmBackend } from '../node/backend';

const args = parseCli('npm run bench:validation -- [options]', {
  rounds: { type: 'string', default: '5', help: 'rounds of training steps + one validation' },
  iterations: { type: 'string', default: '20', help: 'timed training iterations per round' },
  validation: { type: 'string', default: '64', help: 'held-out trajectories' },
  shards: {
    type: 'string',
    default: '4',
    help: 'built-in shards to load (64 trajectories each; a quarter at most is held out)',
  },
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await useWasmBackend();
const { config: model, params: teacher } = loadModelBundle(await readFile('public/teacher.safetensors'));
const files = (await readdir('public/shards')).filter((f) => f.endsWith('.safetensors')).sort();
const shards = [];
for (const f of files.slice(0, num(args.shards, 'shards')))
  shards.push(readShard(await readFile(join('public/shards', f))));
const cat = (parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
};
const first = shards[0];
const stored = new TrajectorySource(
  {
    positions: cat(shards.map((s) => s.positions)),
    deltaPositions: cat(shards.map((s) => s.deltaPositions!)),
    labels: Int32Array.from(shards.flatMap((s) => Array.from(s.labels))),
    count: shards.reduce((a, s) => a + s.summary.count, 0),
    slots: first.summary.slots,
    channels: 1,
    height: 28,
    width: 28,
  },
  {
    coarseTimesteps: first.meta.coarseTimesteps,
    deltaTimesteps: first.meta.deltaTimesteps,
    guidance: first.meta.guidanceScale,
  },
);
const record = newValidationRecord(stored.data.count, { count: num(args.validation, 'validation'), every: 1 }, 0)!;
const evaluation = await decodeEvaluation(
  await readFile('public/evaluator.safetensors'),
  await readFile('public/evaluator-real.safetensors'),
);
const validator = new Validator(model, teacher, stored, record, evaluation);
const source = trainingSource(stored, record);
const trainer = new RapmTrainer(model, teacher, stored.geometry, DEFAULT_RAPM);
const validate = async () => {
  const snapshot = snapshotStudent(trainer);
  try {
    await validator.validate(snapshot);
  } finally {
    disposeSnapshot(snapshot);
  }
};
const step = () => trainer.step(source.batch(trainer.iteration, 1, 0));

step();
await validate(); // warm-up: kernels compiled, buffers allocated
const its: number[] = [];
const vals: number[] = [];
for (let r = 0; r < num(args.rounds, 'rounds'); r++) {
  for (let i = 0; i < num(args.iterations, 'iterations'); i++) {
    const t = performance.now();
    step();
    its.push(performance.now() - t);
  }
  const t = performance.now();
  await validate();
  vals.push(performance.now() - t);
}
const it = median(its);
const val = median(vals);
console.log(`held out ${record.split.indices.length} trajectories; evaluator FID + accuracy on`);
console.log(`training iteration: median ${it.toFixed(0)} ms (${its.length} timed)`);
console.log(
  `validation:         median ${val.toFixed(0)} ms (${vals.length} timed) = ${(val / it).toFixed(1)} iterations`,
);
for (const k of [50, 100, 200, 500])
  console.log(`  every ${k}: +${((100 * val) / (k * it)).toFixed(1)}% training time`);
