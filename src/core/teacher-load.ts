/**
 * A teacher from either family, loaded the same way: its config read and checked, the network
 * checked to fit the backend (src/core/model-fit.ts) before any weight is decoded, then the
 * weights and the identity shards and checkpoints name it by.
 *
 * A diffusers folder's identity: SHA-256 of config.json's bytes, one 0x00 byte,
 * scheduler_config.json's bytes, one 0x00 byte, then the whole weights file, lowercase hex
 * (JSON text never holds 0x00, so no other split of the same bytes hashes alike). It covers what
 * the network computes and how it is sampled. In Python:
 *   sha256(open(cfg, "rb").read() + b"\0" + open(sched, "rb").read() + b"\0" + open(weights, "rb").read())
 */
import { loadDiffusersModel, readDiffusersConfigs, type DiffusersFiles } from './diffusers/folder';
import { loadModelBundle, readModelConfig, shardTeacher } from './io/bundle';
import type { ShardTeacher } from './io/shards';
import { modelNetwork } from './model';
import { checkModelFits, type DeviceLimits } from './model-fit';
import type { TeacherModel } from './rapm/teacher-model';

const hex = (digest: ArrayBuffer) => [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');

const bytesOf = (v: string | Uint8Array | ArrayBuffer) =>
  typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof ArrayBuffer ? new Uint8Array(v) : v;

/** The identity hash of a diffusers folder (see the file comment). */
export async function diffusersTeacherHash(files: DiffusersFiles): Promise<string> {
  const parts = [bytesOf(files.config), bytesOf(files.scheduler), bytesOf(files.weights)];
  const message = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0) + 2);
  let at = 0;
  parts.forEach((p, i) => {
    message.set(p, at);
    at += p.byteLength + (i < 2 ? 1 : 0);
  });
  return hex(await crypto.subtle.digest('SHA-256', message));
}

/** What a shard is checked against for a diffusers folder: its identity and sampling config (no weights decoded). */
export async function diffusersShardTeacher(files: DiffusersFiles, name?: string): Promise<ShardTeacher> {
  const { sampling } = readDiffusersConfigs(files, name);
  return { config: sampling, identity: { name: sampling.name, sha256: await diffusersTeacherHash(files) } };
}

/** A diffusers folder's teacher; `name` is its identity's name (the folder's, by default diffusers-unet2d). */
export async function diffusersTeacher(
  files: DiffusersFiles,
  name?: string,
  limits?: DeviceLimits,
): Promise<TeacherModel> {
  const { sampling } = readDiffusersConfigs(files, name);
  if (limits) checkModelFits(modelNetwork(sampling), limits, 'sample', 1);
  const sha256 = await diffusersTeacherHash(files);
  const model = loadDiffusersModel(files, name);
  return { config: model.sampling, params: model.params, identity: { name: model.sampling.name, sha256 } };
}

/** One of this studio's model bundles as a teacher. */
export async function bundleTeacher(bytes: Uint8Array, limits?: DeviceLimits): Promise<TeacherModel> {
  if (limits) checkModelFits(modelNetwork(readModelConfig(bytes)), limits, 'sample', 1);
  const checked = await shardTeacher(bytes);
  return { ...checked, params: loadModelBundle(bytes).params };
}
