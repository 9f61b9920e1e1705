/**
 * npx tsx scripts/derive-shards.ts --from public/shards --coarse 2 --out public/shards-2step
 *
 * Fewer-slot shards cut out of stored ones, without running the teacher. `npm run trajectories`
 * runs one trailing DDIM grid of N*M steps per trajectory and keeps the points at the coarse
 * boundaries and one fine step past each (src/core/rapm/trajectories.ts). With N*M unchanged (N = 4,
 * M = 8 -> N = 2, M = 16 or N = 1, M = 32) the fine grid is the same 32 steps, so every point an
 * N' = 2 or 1 shard holds is already in the N = 4 shard: the same initial noise, the same 32 guided
 * steps, a subset of the kept points. The output shards are written (same file names, seeds,
 * labels and dtype) so that `npm run trajectories -- ... --coarse N' --fine M' --out DIR` afterwards
 * keeps every one of them ("exists and validates; kept") and writes the manifest; run with
 * --check-shard I to compare shard I, tensor by tensor, with one the tool generated (see
 * docs/results-fewstep.md for the check that was run).
 */
import { readFile, readdir, mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readShard, writeShard, type ShardMeta } from '../src/core/io/shards';
import { shardTeacher } from '../src/core/io/bundle';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: 'public/shards' },
    coarse: { type: 'string' },
    out: { type: 'string' },
    teacher: { type: 'string', default: 'public/teacher.safetensors' },
    'check-against': { type: 'string' },
  },
});
if (!values.coarse || !values.out) {
  console.error('usage: npx tsx scripts/derive-shards.ts --from DIR --coarse N --out DIR [--check-against DIR]');
  process.exit(2);
}
const target = Number(values.coarse);
const teacher = await shardTeacher(new Uint8Array(await readFile(values.teacher)));
const files = (await readdir(values.from)).filter((f) => /^shard-\d{5}\.safetensors$/.test(f)).sort();
await mkdir(values.out, { recursive: true });

for (const file of files) {
  const src = readShard(await readFile(join(values.from, file)), teacher);
  const { meta } = src;
  const n = meta.coarseTimesteps.length;
  const total = n * meta.fineStepsPerSlot;
  if (n % target !== 0) throw new Error(`${file}: N = ${n} is not a multiple of ${target}`);
  const every = n / target;
  // Slots kept: tau_N, tau_{N - every}, ...; positions also keep the clean end (index n).
  const keep = Array.from({ length: target }, (_, i) => i * every);
  const perImage = meta.data.channels * meta.data.height * meta.data.width;
  const k = meta.count;
  const positions = new Float32Array(k * (target + 1) * perImage);
  const deltas = new Float32Array(k * target * perImage);
  for (let j = 0; j < k; j++) {
    [...keep, n].forEach((slot, i) => {
      const from = (j * (n + 1) + slot) * perImage;
      positions.set(src.positions.subarray(from, from + perImage), (j * (target + 1) + i) * perImage);
    });
    keep.forEach((slot, i) => {
      const from = (j * n + slot) * perImage;
      deltas.set(src.deltaPositions!.subarray(from, from + perImage), (j * target + i) * perImage);
    });
  }
  const command =
    `npm run trajectories -- --teacher ${values.teacher} --count 1024 --per-shard ${k} --coarse ${target} ` +
    `--fine ${total / target} --guidance ${meta.guidanceScale} --seed 0 --out ${values.out} --dtype f16`;
  const derived: Omit<ShardMeta, 'count'> = {
    ...meta,
    coarseTimesteps: keep.map((s) => meta.coarseTimesteps[s]),
    fineStepsPerSlot: total / target,
    deltaTimesteps: keep.map((s) => meta.deltaTimesteps[s]),
    provenance: {
      ...meta.provenance,
      command,
      derivedFrom: `${values.from}/${file} by scripts/derive-shards.ts (the same ${total}-step trailing grid)`,
    },
  };
  const bytes = writeShard(
    derived,
    { positions, deltaPositions: deltas, labels: src.labels, seeds: src.seeds },
    {
      dtype: src.summary.positionsDtype,
    },
  );
  const path = join(values.out, file);
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);

  if (values['check-against']) {
    let other: ReturnType<typeof readShard>;
    try {
      other = readShard(await readFile(join(values['check-against'], file)), teacher);
    } catch {
      continue;
    }
    const mine = readShard(bytes, teacher);
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const sameMeta =
      JSON.stringify(other.summary) === JSON.stringify({ ...mine.summary, byteLength: other.summary.byteLength });
    console.log(
      `${file}: against ${values['check-against']}: positions max |diff| ${maxDiff(mine.positions, other.positions)}, ` +
        `delta max |diff| ${maxDiff(mine.deltaPositions!, other.deltaPositions!)}, ` +
        `seeds equal ${mine.seeds!.every((v, i) => v === other.seeds![i])}, summary equal ${sameMeta}`,
    );
  }
}
console.log(`${values.out}: ${files.length} shards derived from ${values.from} at N = ${target}`);
