/**
 * A directory of trajectory shards and its manifest, written resumably:
 *   DIR/shard-00000.safetensors ... (per-shard trajectories each, the last one may be smaller)
 *   DIR/manifest.json               files, counts, bytes, SHA-256s, the teacher identity and the settings
 * Trajectory k has seed = seed * 1e6 + k and label = k % numClasses (classes balanced), so shard i
 * is a function of the settings alone and a run can resume at any shard: existing shards that
 * validate and match the settings are kept, damaged ones are regenerated, and shards of another
 * teacher or other settings stop the run rather than being overwritten.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TeacherModel } from '../core/rapm/teacher-model';
import { bundleTeacher } from '../core/teacher-load';
import { ShardError, ShardTeacherMismatchError } from '../core/io/errors';
import {
  readShard,
  validateShard,
  writeShard,
  type FloatDtype,
  type Shard,
  type ShardSummary,
  type ShardTeacher,
  type TeacherIdentity,
} from '../core/io/shards';
import { generateTrajectories, trajectoryMeta } from '../core/rapm/trajectories';

export const MANIFEST_FORMAT = 'rapm-studio/shard-manifest';
/** Seeds are seed * SEED_STRIDE + k; shards store int32 seeds, so seed * SEED_STRIDE + count must stay below 2^31. */
export const SEED_STRIDE = 1_000_000;

export interface ShardDirOptions {
  /** The teacher's model bundle, loaded and disposed here; or `teacher`. */
  teacherBytes?: Uint8Array;
  /** A loaded teacher of either family (a diffusers folder: src/node/teacher-file.ts), used as is and left to the caller. */
  teacher?: TeacherModel;
  outDir: string;
  count: number;
  perShard: number;
  slots: number;
  stepsPerSlot: number;
  guidanceScale: number;
  seed: number;
  dtype: FloatDtype;
  batchSize: number;
  /**
   * Write only these shard indices and no manifest, so that several processes can share the work;
   * a later run without `only` keeps their shards and writes the manifest.
   */
  only?: readonly number[];
  /** Free-form provenance stored in every shard (e.g. the command line). */
  provenance?: Record<string, string>;
  /** Trajectories done so far (kept shards included) out of `count`, and the shard being written. */
  onProgress?: (done: number, shard: number) => void;
  log?: (line: string) => void;
}

export interface ManifestEntry {
  file: string;
  /** Index of the shard's first trajectory in the whole set. */
  first: number;
  count: number;
  bytes: number;
  sha256: string;
}

export interface ShardManifest {
  format: typeof MANIFEST_FORMAT;
  version: '1';
  teacher: TeacherIdentity;
  count: number;
  slots: number;
  coarseTimesteps: number[];
  fineStepsPerSlot: number;
  deltaTimesteps: number[];
  guidanceScale: number;
  dtype: FloatDtype;
  seed: number;
  seedStride: number;
  bytes: number;
  files: ManifestEntry[];
}

/** The output directory holds shards this run must not overwrite, or the settings are unusable. */
export class ShardDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardDirError';
  }
}

export const shardFileName = (i: number) => `shard-${String(i).padStart(5, '0')}.safetensors`;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

async function readIfExists(path: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function checkOptions(o: ShardDirOptions): void {
  const positive = { count: o.count, 'per-shard': o.perShard, batch: o.batchSize };
  for (const [name, v] of Object.entries(positive)) {
    if (!Number.isInteger(v) || v < 1) throw new ShardDirError(`--${name} must be a positive integer, got ${v}`);
  }
  const shards = Math.ceil(o.count / o.perShard);
  const bad = o.only?.find((i) => !Number.isInteger(i) || i < 0 || i >= shards);
  if (bad !== undefined) throw new ShardDirError(`--only: shard ${bad} is not in 0..${shards - 1}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed * SEED_STRIDE + o.count > 0x7fffffff) {
    throw new ShardDirError(
      `--seed must be an integer in 0..${Math.floor((0x7fffffff - o.count) / SEED_STRIDE)}: ` +
        `seeds are seed * ${SEED_STRIDE} + k and shards store them as int32`,
    );
  }
}

/** JSON with object keys sorted, so equal settings compare equal whatever order their file stored them in. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x,
  );

/** Why an existing, valid shard cannot be kept for this run (null: it is exactly what the run would write). */
function mismatch(s: ShardSummary, want: Omit<ShardSummary, 'labelCounts' | 'byteLength' | 'teacher'>): string | null {
  const keys = Object.keys(want) as (keyof typeof want)[];
  const differs = keys.filter((k) => canonical(s[k]) !== canonical(want[k]));
  return differs.length === 0
    ? null
    : differs.map((k) => `${k}: shard ${canonical(s[k])}, this run ${canonical(want[k])}`).join('; ');
}

/** Writes (or completes) the shard directory; returns the manifest it wrote (null with `only`). */
export async function writeShardDir(o: ShardDirOptions): Promise<ShardManifest | null> {
  checkOptions(o);
  const log = o.log ?? (() => {});
  if (!o.teacher && !o.teacherBytes) throw new ShardDirError('no teacher: give its model bundle or a loaded teacher');
  const checked = o.teacher ?? (await bundleTeacher(o.teacherBytes as Uint8Array));
  const teacher = checked.identity;
  try {
    const { config } = checked;
    const meta = trajectoryMeta(config, o.slots, o.stepsPerSlot, o.guidanceScale);
    await mkdir(o.outDir, { recursive: true });
    const shards = Math.ceil(o.count / o.perShard);
    const files: ManifestEntry[] = [];
    for (let i = 0; i < shards; i++) {
      if (o.only && !o.only.includes(i)) continue;
      const first = i * o.perShard;
      const count = Math.min(o.perShard, o.count - first);
      const seeds = Int32Array.from({ length: count }, (_, j) => o.seed * SEED_STRIDE + first + j);
      const labels = Int32Array.from({ length: count }, (_, j) => (first + j) % Math.max(1, config.numClasses));
      const file = shardFileName(i);
      const path = join(o.outDir, file);
      const existing = await readIfExists(path);
      if (existing) {
        const kept = keepExisting(existing, checked, seeds, labels, meta, o, file, log);
        if (kept) {
          files.push({ file, first, count, bytes: existing.byteLength, sha256: sha256(existing) });
          o.onProgress?.(first + count, i);
          continue;
        }
      }
      const traj = await generateTrajectories(config, checked.params, {
        seeds,
        labels,
        slots: o.slots,
        stepsPerSlot: o.stepsPerSlot,
        guidanceScale: o.guidanceScale,
        batchSize: o.batchSize,
        onProgress: (done) => o.onProgress?.(first + done, i),
      });
      const provenance = { ...o.provenance, seeds: `${seeds[0]}..${seeds[count - 1]}`, date: new Date().toISOString() };
      const bytes = writeShard({ ...traj.meta, teacher, provenance }, traj, { dtype: o.dtype });
      await writeAtomic(path, bytes);
      validateShard(await readFile(path), checked);
      files.push({ file, first, count, bytes: bytes.byteLength, sha256: sha256(bytes) });
      log(`wrote ${file}: ${count} trajectories, ${bytes.byteLength} bytes`);
    }
    if (o.only) return null;
    const manifest: ShardManifest = {
      format: MANIFEST_FORMAT,
      version: '1',
      teacher,
      count: o.count,
      slots: o.slots,
      coarseTimesteps: meta.coarseTimesteps,
      fineStepsPerSlot: o.stepsPerSlot,
      deltaTimesteps: meta.deltaTimesteps,
      guidanceScale: o.guidanceScale,
      dtype: o.dtype,
      seed: o.seed,
      seedStride: SEED_STRIDE,
      bytes: files.reduce((a, f) => a + f.bytes, 0),
      files,
    };
    await writeAtomic(join(o.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } finally {
    if (!o.teacher) tf.dispose(Object.values(checked.params));
  }
}

/** true: keep the file; false: it is damaged, regenerate it; throws when it belongs to another run. */
function keepExisting(
  bytes: Uint8Array,
  teacher: ShardTeacher,
  seeds: Int32Array,
  labels: Int32Array,
  meta: ReturnType<typeof trajectoryMeta>,
  o: ShardDirOptions,
  file: string,
  log: (line: string) => void,
): boolean {
  let shard: Shard;
  try {
    shard = readShard(bytes, teacher);
  } catch (e) {
    if (e instanceof ShardTeacherMismatchError) {
      throw new ShardDirError(`${join(o.outDir, file)}: ${e.message}. Use another --out, or delete the old shards.`);
    }
    if (!(e instanceof ShardError)) throw e;
    log(`${file} is damaged (${e.message}); regenerating it`);
    return false;
  }
  const differs = mismatch(shard.summary, {
    count: seeds.length,
    slots: o.slots,
    coarseTimesteps: meta.coarseTimesteps,
    fineStepsPerSlot: meta.fineStepsPerSlot,
    delta: meta.delta,
    deltaTimesteps: meta.deltaTimesteps,
    guidanceScale: meta.guidanceScale,
    prediction: meta.prediction,
    data: meta.data,
    numClasses: meta.numClasses,
    positionsDtype: o.dtype,
    hasDelta: true,
    hasSeeds: true,
  });
  const same = (a: Int32Array | undefined, b: Int32Array) => a !== undefined && a.every((v, i) => v === b[i]);
  const why = differs ?? (same(shard.seeds, seeds) && same(shard.labels, labels) ? null : 'other seeds or labels');
  if (why) {
    throw new ShardDirError(
      `${join(o.outDir, file)} was made with other settings (${why}). ` +
        `Use another --out, or delete the old shards to regenerate them.`,
    );
  }
  log(`${file} exists and validates; kept`);
  return true;
}
