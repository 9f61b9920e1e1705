/**
 * A model bundle: one .safetensors file holding the UNet's parameters (F32 or F16, names and
 * shapes from `unetParamShapes`) and, in `__metadata__`,
 *   format: "rapm-studio/model", version: "1", config: JSON of ModelConfig.
 * Everything needed to rebuild the network and its sampler travels in the one file.
 *
 * `tensorDataHash` (SHA-256 of the data section) is the teacher's identity: shards record it,
 * so a shard is never used with another teacher than the one that generated it. It ignores the
 * header, so renaming a model or editing its provenance keeps its identity.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model-config';
import { unetParamShapes, type Params, type UNetConfig } from '../nn/unet';
import { BundleError, SafetensorsError } from './errors';
import { jsonChecks } from './json-checks';
import { parseSafetensors, parseSafetensorsHeader, writeSafetensors, type TensorToWrite } from './safetensors';

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

/** Checks a parsed config and returns it with its own extra fields kept. */
export function checkModelConfig(raw: unknown): ModelConfig {
  const c = jsonChecks(
    (msg) =>
      new BundleError('bad-config', `model config: ${msg}; the bundle is damaged or was not written by this studio`),
  );
  const o = c.object(raw, 'config');
  c.string(o.name, 'config.name');
  c.oneOf(o.architecture, 'config.architecture', ['unet'] as const);
  const u = c.object(o.unet, 'config.unet');
  const unet: UNetConfig = {
    imageSize: c.int(u.imageSize, 'config.unet.imageSize', 1),
    inChannels: c.int(u.inChannels, 'config.unet.inChannels', 1),
    baseChannels: c.int(u.baseChannels, 'config.unet.baseChannels', 1),
    channelMults: c.array(u.channelMults, 'config.unet.channelMults', (v, p) => c.int(v, p, 1)),
    resBlocksPerLevel: c.int(u.resBlocksPerLevel, 'config.unet.resBlocksPerLevel', 1),
    attentionLevels: c.array(u.attentionLevels, 'config.unet.attentionLevels', (v, p) => c.int(v, p, 0)),
    numClasses: c.int(u.numClasses, 'config.unet.numClasses', 1),
    groups: c.int(u.groups, 'config.unet.groups', 1),
  };
  if (unet.channelMults.length === 0)
    throw new BundleError('bad-config', 'model config: config.unet.channelMults is empty');
  c.schedule(o.schedule, 'config.schedule');
  c.prediction(o.prediction, 'config.prediction');
  const data = c.data(o.data, 'config.data');
  const numClasses = c.int(o.numClasses, 'config.numClasses', 1);
  if (o.provenance !== undefined) c.stringRecord(o.provenance, 'config.provenance');
  const clash =
    unet.numClasses !== numClasses
      ? `unet.numClasses ${unet.numClasses} != numClasses ${numClasses}`
      : unet.inChannels !== data.channels
        ? `unet.inChannels ${unet.inChannels} != data.channels ${data.channels}`
        : unet.imageSize !== data.height || unet.imageSize !== data.width
          ? `unet.imageSize ${unet.imageSize} != data ${data.height}x${data.width}`
          : undefined;
  if (clash) throw new BundleError('bad-config', `model config is inconsistent: ${clash}`);
  return { ...(o as unknown as ModelConfig), unet };
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

/** Reads and validates the metadata only (cheap: no tensor is decoded). */
export function readModelConfig(bytes: Uint8Array | ArrayBuffer, fileSize?: number): ModelConfig {
  let metadata: Record<string, string>;
  try {
    metadata = parseSafetensorsHeader(bytes, fileSize).metadata;
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new BundleError('not-safetensors', `not a readable model file: ${e.message}`, { cause: e });
    }
    throw e;
  }
  return configFromMetadata(metadata);
}

function configFromMetadata(metadata: Record<string, string>): ModelConfig {
  if (metadata.format !== MODEL_FORMAT || metadata.version !== MODEL_VERSION) {
    throw new BundleError(
      'wrong-format',
      `not a model bundle: __metadata__ has format ${JSON.stringify(metadata.format)} version ${JSON.stringify(metadata.version)}, ` +
        `expected "${MODEL_FORMAT}" version "${MODEL_VERSION}" (is this a shard, an evaluator or a checkpoint?)`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.config ?? '');
  } catch (e) {
    throw new BundleError('bad-config', `model bundle: __metadata__.config is not JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
  return checkModelConfig(raw);
}

/** Parses, checks every tensor's name, dtype and shape, and only then creates tf tensors. */
export function loadModelBundle(input: Uint8Array | ArrayBuffer): ModelBundle {
  let file: ReturnType<typeof parseSafetensors>;
  try {
    file = parseSafetensors(input);
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new BundleError('not-safetensors', `not a readable model file: ${e.message}`, { cause: e });
    }
    throw e;
  }
  const config = configFromMetadata(file.metadata);
  const shapes = expectedShapes(config);
  const missing = Object.keys(shapes).filter((n) => !file.tensors.has(n));
  if (missing.length > 0) {
    throw new BundleError(
      'missing-tensor',
      `model bundle lacks ${missing.length} parameter(s) of its UNet config: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
    );
  }
  const extra = [...file.tensors.keys()].filter((n) => !(n in shapes));
  if (extra.length > 0) {
    throw new BundleError(
      'extra-tensor',
      `model bundle has tensors its UNet config does not use: ${extra.slice(0, 5).join(', ')}`,
    );
  }
  for (const [name, t] of file.tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16') {
      throw new BundleError(
        'wrong-dtype',
        `model bundle: parameter '${name}' is ${t.dtype}; parameters must be F32 or F16`,
      );
    }
    if (!sameShape(t.shape, shapes[name])) {
      throw new BundleError(
        'wrong-shape',
        `model bundle: parameter '${name}' has shape [${t.shape}], its config needs [${shapes[name]}]`,
      );
    }
  }
  const params: Params = {};
  for (const [name, t] of file.tensors) params[name] = tf.tensor(t.data, t.shape, 'float32');
  return { config, params };
}

/** SHA-256 (lowercase hex) of the file's tensor data (everything after the header): the teacher identity. */
export async function tensorDataHash(input: Uint8Array | ArrayBuffer): Promise<string> {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  const { dataStart } = parseSafetensorsHeader(bytes);
  const digest = await crypto.subtle.digest('SHA-256', bytes.subarray(dataStart) as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** {name, sha256} of a model bundle: what a shard's `teacher` field must equal to be used with it. */
export async function teacherIdentity(bytes: Uint8Array | ArrayBuffer): Promise<{ name: string; sha256: string }> {
  return { name: readModelConfig(bytes).name, sha256: await tensorDataHash(bytes) };
}
