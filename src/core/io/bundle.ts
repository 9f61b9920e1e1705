/**
 * A model bundle: one .safetensors file holding the UNet's parameters (F32 or F16, names and
 * shapes from `unetParamShapes`) and, in `__metadata__`,
 *   format: "rapm-studio/model", version: "1", config: JSON of ModelConfig.
 * Everything needed to rebuild the network and its sampler travels in the one file.
 *
 * `teacherHash` (SHA-256 of the stored config and the data section) is the teacher's identity:
 * shards and checkpoints record it, so a shard is never used with another teacher than the one
 * that generated it, nor with an edited copy of it (another config, even only its name or
 * provenance, is another teacher).
 */
import type { ModelConfig } from '../model-config';
import { unetParamShapes, type Params, type UNetConfig } from '../nn/unet';
import { decodeBundle, readBundleHeader, type BundleKind } from './bundle-file';
import { BundleError, type LimitViolation } from './errors';
import { jsonChecks } from './json-checks';
import { parseSafetensorsHeader, writeSafetensors, type TensorToWrite } from './safetensors';
import type { ShardTeacher } from './shards';

export const MODEL_FORMAT = 'rapm-studio/model';
export const MODEL_VERSION = '1';

export interface ModelBundle {
  config: ModelConfig;
  /** Fresh tensors owned by the caller (dispose them). */
  params: Params;
}

export interface SaveModelOptions {
  /** Storage precision; F16 halves the file (and rounds the weights). Default F32. */
  dtype?: 'F32' | 'F16';
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Checks a parsed config, every count and size within LIMITS, and returns it with its own extra fields kept. */
export function checkModelConfig(raw: unknown): ModelConfig {
  const bad = (msg: string, violation?: LimitViolation) =>
    new BundleError('bad-config', `model config: ${msg}; the bundle is damaged or was not written by this studio`, {
      violation,
    });
  const c = jsonChecks(bad);
  const o = c.object(raw, 'config');
  const name = c.string(o.name, 'config.name');
  const architecture = c.oneOf(o.architecture, 'config.architecture', ['unet'] as const);
  const u = c.object(o.unet, 'config.unet');
  const channelMults = c.array(
    u.channelMults,
    'config.unet.channelMults',
    (v, p) => c.int(v, p, 1, 'channelMult'),
    'levels',
  );
  if (channelMults.length === 0) throw bad('config.unet.channelMults is empty');
  const levels = channelMults.length;
  const unet: UNetConfig = {
    imageSize: c.int(u.imageSize, 'config.unet.imageSize', 1, 'imageSize'),
    inChannels: c.int(u.inChannels, 'config.unet.inChannels', 1, 'dataChannels'),
    baseChannels: c.int(u.baseChannels, 'config.unet.baseChannels', 1, 'baseChannels'),
    channelMults,
    resBlocksPerLevel: c.int(u.resBlocksPerLevel, 'config.unet.resBlocksPerLevel', 1, 'resBlocksPerLevel'),
    attentionLevels: c.array(
      u.attentionLevels,
      'config.unet.attentionLevels',
      (v, p) => c.int(v, p, 0, levels - 1),
      'levels',
    ),
    numClasses: c.int(u.numClasses, 'config.unet.numClasses', 1, 'classes'),
    groups: c.int(u.groups, 'config.unet.groups', 1, 'groups'),
  };
  if (new Set(unet.attentionLevels).size !== unet.attentionLevels.length)
    throw bad(`config.unet.attentionLevels lists a level twice: [${unet.attentionLevels}]`);
  if (unet.imageSize % 2 ** (levels - 1) !== 0)
    throw bad(
      `config.unet.imageSize ${unet.imageSize} is not divisible by 2^${levels - 1} (one halving per level after the first)`,
    );
  const schedule = c.schedule(o.schedule, 'config.schedule');
  const prediction = c.prediction(o.prediction, 'config.prediction');
  const data = c.data(o.data, 'config.data');
  const numClasses = c.int(o.numClasses, 'config.numClasses', 1, 'classes');
  const clash =
    unet.numClasses !== numClasses
      ? `unet.numClasses ${unet.numClasses} != numClasses ${numClasses}`
      : unet.inChannels !== data.channels
        ? `unet.inChannels ${unet.inChannels} != data.channels ${data.channels}`
        : unet.imageSize !== data.height || unet.imageSize !== data.width
          ? `unet.imageSize ${unet.imageSize} != data ${data.height}x${data.width}`
          : undefined;
  if (clash) throw new BundleError('bad-config', `model config is inconsistent: ${clash}`);
  // Every GroupNorm splits its channels into min(groups, channels) equal groups.
  for (const [param, [channels]] of Object.entries(unetParamShapes(unet))) {
    const g = Math.min(unet.groups, channels);
    if (/norm\d?\.g$/.test(param) && channels % g !== 0) {
      throw bad(`config.unet.groups ${unet.groups} does not divide the ${channels} channels normalised by '${param}'`);
    }
  }
  const config: ModelConfig = { ...(o as object), name, architecture, unet, schedule, prediction, data, numClasses };
  if (o.clipSample !== undefined) config.clipSample = c.boolean(o.clipSample, 'config.clipSample');
  if (o.setAlphaToOne !== undefined) config.setAlphaToOne = c.boolean(o.setAlphaToOne, 'config.setAlphaToOne');
  if (o.provenance !== undefined) config.provenance = c.stringRecord(o.provenance, 'config.provenance');
  if (o.studentTimesteps !== undefined) {
    const last = schedule.trainSteps - 1;
    const grid = (config.studentTimesteps = c.array(
      o.studentTimesteps,
      'config.studentTimesteps',
      (v, p) => c.int(v, p, 0, last),
      'slots',
    ));
    if (grid.length === 0 || grid.some((t, i) => i > 0 && t >= grid[i - 1]))
      throw bad(`config.studentTimesteps must be a non-empty descending grid, got [${grid}]`);
  }
  return config;
}

function expectedShapes(config: ModelConfig): Record<string, number[]> {
  try {
    return unetParamShapes(config.unet);
  } catch (e) {
    throw new BundleError('bad-config', `model config: the UNet cannot be built (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** Serialises the parameters (read back from the tensors, which stay owned by the caller). */
export async function saveModelBundle(
  config: ModelConfig,
  params: Params,
  opts: SaveModelOptions = {},
): Promise<Uint8Array> {
  const dtype = opts.dtype ?? 'F32';
  const shapes = expectedShapes(checkModelConfig(config));
  const extra = Object.keys(params).filter((n) => !(n in shapes));
  if (extra.length > 0)
    throw new BundleError('extra-tensor', `saveModelBundle: parameters not in the UNet: ${extra.join(', ')}`);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const t = params[name];
    if (!t) throw new BundleError('missing-tensor', `saveModelBundle: parameter '${name}' is missing`);
    if (!sameShape(t.shape, shape)) {
      throw new BundleError(
        'wrong-shape',
        `saveModelBundle: '${name}' has shape [${t.shape}], the config needs [${shape}]`,
      );
    }
    if (t.dtype !== 'float32')
      throw new BundleError('wrong-dtype', `saveModelBundle: '${name}' is ${t.dtype}, not float32`);
    tensors[name] = { dtype, shape, data: (await t.data()) as Float32Array };
  }
  return writeSafetensors(tensors, { format: MODEL_FORMAT, version: MODEL_VERSION, config: JSON.stringify(config) });
}

/** The model bundle as a kind of studio file: what `readBundleHeader`/`decodeBundle` check it against. */
const MODEL_BUNDLE: BundleKind<ModelConfig> = {
  what: 'model bundle',
  format: MODEL_FORMAT,
  version: MODEL_VERSION,
  advice: 'pick a model bundle saved by the studio (a shard, an evaluator or a checkpoint is not one)',
  checkConfig: checkModelConfig,
  shapes: expectedShapes,
  dtypes: ['F32', 'F16'],
};

/** Reads and validates the metadata only (cheap: no tensor is decoded). */
export function readModelConfig(bytes: Uint8Array | ArrayBuffer, fileSize?: number): ModelConfig {
  return readBundleHeader(MODEL_BUNDLE, bytes, fileSize).config;
}

/**
 * Parses the header, checks the config and every tensor's name, dtype and shape, and only then
 * decodes the data, checks every value finite (NonFiniteWeightError names the tensor) and creates
 * tf tensors.
 */
export function loadModelBundle(input: Uint8Array | ArrayBuffer): ModelBundle {
  const { config, params } = decodeBundle(MODEL_BUNDLE, input);
  return { config, params };
}

/** SHA-256 (lowercase hex) of a file's tensor data (everything after the header): an evaluator's identity. */
export async function tensorDataHash(input: Uint8Array | ArrayBuffer): Promise<string> {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  const { dataStart } = parseSafetensorsHeader(bytes);
  const digest = await crypto.subtle.digest('SHA-256', bytes.subarray(dataStart) as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The teacher's identity hash, lowercase hex: SHA-256 of the UTF-8 bytes of `__metadata__.config`
 * exactly as stored, one 0x00 byte, then the file's tensor data (everything after the header).
 * It covers what the network computes (config and weights); the 0x00 cannot occur in JSON text,
 * so no other split of the same bytes hashes alike. In Python:
 *   sha256(meta["config"].encode("utf-8") + b"\0" + data).hexdigest()
 */
export async function teacherHash(input: Uint8Array | ArrayBuffer): Promise<string> {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  const { dataStart, metadata } = parseSafetensorsHeader(bytes);
  const config = new TextEncoder().encode(metadata.config ?? '');
  const message = new Uint8Array(config.byteLength + 1 + (bytes.byteLength - dataStart));
  message.set(config);
  message.set(bytes.subarray(dataStart), config.byteLength + 1);
  const digest = await crypto.subtle.digest('SHA-256', message);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** {name, sha256} of a model bundle (config checked first): what a shard's `teacher` field must equal. */
export async function teacherIdentity(bytes: Uint8Array | ArrayBuffer): Promise<{ name: string; sha256: string }> {
  return { name: readModelConfig(bytes).name, sha256: await teacherHash(bytes) };
}

/** A model bundle's identity and checked config: what shards are validated against (readShard). */
export async function shardTeacher(bytes: Uint8Array | ArrayBuffer): Promise<ShardTeacher & { config: ModelConfig }> {
  return { identity: await teacherIdentity(bytes), config: readModelConfig(bytes) };
}
