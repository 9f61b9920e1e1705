/**
 * npx tsx scripts/make-e2e-fixtures.ts
 *
 * Writes the small files the browser e2e tests load into e2e/fixtures/ (committed):
 *   teacher.safetensors              a tiny 10-class UNet (8x8, 8 base channels, no attention), random weights
 *   shard-0000/0001.safetensors      16 trajectories each from that teacher (N = 2 slots, M = 2 steps)
 *   truncated.safetensors            shard-0000 cut short: must be rejected ('not-safetensors')
 *   other-teacher-shard.safetensors  a valid shard of ANOTHER teacher: must be rejected ('teacher-mismatch')
 * Deterministic: the weights and noise come from fixed seeds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveModelBundle, teacherIdentity } from '../src/core/io/bundle';
import { writeShard } from '../src/core/io/shards';
import type { ModelConfig } from '../src/core/model-config';
import { initUnetParams, type Params } from '../src/core/nn/unet';
import { tinyModelConfig } from '../src/core/tiny-model-config';
import { gaussian } from '../src/core/random';
import { generateTrajectories } from '../src/core/rapm/trajectories';
import { useWasmBackend } from '../src/node/backend';

const OUT = join('e2e', 'fixtures');
const PER_SHARD = 16;

function tinyModel(name: string): ModelConfig {
  const provenance = { note: 'random weights, e2e test fixture (scripts/make-e2e-fixtures.ts)' };
  return { ...tinyModelConfig(name, 10), provenance };
}

/** Random weights whose zero-initialised output convolutions carry signal, so samples are not blank. */
function randomTeacher(model: ModelConfig, seed: number): Params {
  const params = initUnetParams(model.unet, seed);
  Object.keys(params).forEach((name, k) => {
    const p = params[name];
    params[name] = tf.tidy(() => tf.add(p, tf.tensor(gaussian(seed * 1000 + k, p.size), p.shape).mul(0.05)));
    p.dispose();
  });
  return params;
}

async function shard(model: ModelConfig, params: Params, bytes: Uint8Array, first: number, count: number) {
  const ks = Array.from({ length: count }, (_, i) => first + i);
  const traj = await generateTrajectories(model, params, {
    seeds: ks,
    labels: ks.map((k) => k % model.numClasses),
    slots: 2,
    stepsPerSlot: 2,
    guidanceScale: 2,
    batchSize: 16,
  });
  return writeShard(
    { ...traj.meta, teacher: await teacherIdentity(bytes), provenance: { tool: 'scripts/make-e2e-fixtures.ts' } },
    { positions: traj.positions, deltaPositions: traj.deltaPositions, labels: traj.labels, seeds: traj.seeds },
    { dtype: 'F16' },
  );
}

async function main(): Promise<void> {
  await useWasmBackend();
  await mkdir(OUT, { recursive: true });
  const model = tinyModel('e2e-tiny-teacher');
  const params = randomTeacher(model, 1);
  const teacherBytes = await saveModelBundle(model, params);
  await writeFile(join(OUT, 'teacher.safetensors'), teacherBytes);
  const shards = [];
  for (let s = 0; s < 2; s++) shards.push(await shard(model, params, teacherBytes, s * PER_SHARD, PER_SHARD));
  await writeFile(join(OUT, 'shard-0000.safetensors'), shards[0]);
  await writeFile(join(OUT, 'shard-0001.safetensors'), shards[1]);
  await writeFile(join(OUT, 'truncated.safetensors'), shards[0].subarray(0, Math.floor(shards[0].length / 2)));

  const other = tinyModel('e2e-other-teacher');
  const otherParams = randomTeacher(other, 2);
  const otherBytes = await saveModelBundle(other, otherParams);
  await writeFile(join(OUT, 'other-teacher-shard.safetensors'), await shard(other, otherParams, otherBytes, 0, 4));
  tf.dispose([...Object.values(params), ...Object.values(otherParams)]);
  console.log(`wrote ${OUT}/{teacher,shard-0000,shard-0001,truncated,other-teacher-shard}.safetensors`);
}

await main();
