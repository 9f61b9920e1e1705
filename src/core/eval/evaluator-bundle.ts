/**
 * The shipped evaluator (public/evaluator.safetensors): the classifier's F32 weights under their
 * parameter names, with `__metadata__` holding
 *   format: 'rapm-evaluator', version: '1', config: JSON of ClassifierConfig,
 *   and free-form provenance strings (command, data, steps, testAccuracy, ...).
 */
import * as tf from '@tensorflow/tfjs';
import { BundleError, SafetensorsError, type LimitViolation } from '../io/errors';
import { checkFiniteWeights } from '../io/finite-weights';
import { describeFormat } from '../io/format-names';
import { jsonChecks, parseHeaderJson } from '../io/json-checks';
import { decodeTensor, parseSafetensorsHeader, type SafetensorsHeader } from '../io/safetensors';
import { encodeTensorMap } from '../io/tensor-map';
import { classifierParamShapes, type ClassifierConfig, type Params } from './classifier';

export const EVALUATOR_FORMAT = 'rapm-evaluator';
export const EVALUATOR_VERSION = '1';
const RESERVED = ['format', 'version', 'config'];

export interface Evaluator {
  config: ClassifierConfig;
  params: Params;
  provenance: Record<string, string>;
}

/** Serialises trained parameters (read back from the tensors, which stay owned by the caller). */
export async function encodeEvaluator(
  config: ClassifierConfig,
  params: Params,
  provenance: Record<string, string>,
): Promise<Uint8Array> {
  const clash = RESERVED.find((k) => k in provenance);
  if (clash) throw new BundleError('bad-input', `encodeEvaluator: provenance key '${clash}' is reserved`);
  // Canonical order and completeness come from the config, not from whatever the caller passed.
  const ordered: Params = {};
  for (const name of Object.keys(classifierParamShapes(config))) {
    if (!params[name]) throw new BundleError('missing-tensor', `encodeEvaluator: parameter '${name}' is missing`);
    ordered[name] = params[name];
  }
  const metadata = {
    format: EVALUATOR_FORMAT,
    version: EVALUATOR_VERSION,
    config: JSON.stringify(config),
    ...provenance,
  };
  return encodeTensorMap(ordered, metadata, 'F32');
}

function parseConfig(text: string | undefined): ClassifierConfig {
  const bad = (msg: string, violation?: LimitViolation, cause?: unknown) =>
    new BundleError('bad-config', `evaluator: ${msg}; re-create the file with npm run evaluator:train`, {
      violation,
      cause,
    });
  if (text === undefined) throw bad('__metadata__.config is missing');
  const raw = parseHeaderJson(text, (why, cause) =>
    bad(`__metadata__.config is not strict JSON (${why})`, undefined, cause),
  );
  const c = jsonChecks(bad);
  const o = c.object(raw, 'config');
  const channels = c.array(o.channels, 'config.channels', (v, p) => c.int(v, p, 1, 'baseChannels'), 'levels');
  if (channels.length === 0) throw bad('config.channels is empty');
  return {
    imageSize: c.int(o.imageSize, 'config.imageSize', 1, 'imageSize'),
    inChannels: c.int(o.inChannels, 'config.inChannels', 1, 'dataChannels'),
    channels,
    featureDim: c.int(o.featureDim, 'config.featureDim', 1, 'featureDim'),
    numClasses: c.int(o.numClasses, 'config.numClasses', 1, 'classes'),
  };
}

/**
 * Loads an evaluator file into tensors (owned by the caller). Throws BundleError on any mismatch;
 * the header (format, config, every tensor's name, dtype and shape) is checked before any tensor is decoded.
 */
export function decodeEvaluator(input: Uint8Array | ArrayBuffer): Evaluator {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new BundleError('not-safetensors', `evaluator: not a readable safetensors file: ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
  const { format, version, config: configText, ...provenance } = header.metadata;
  if (format !== EVALUATOR_FORMAT || version !== EVALUATOR_VERSION) {
    throw new BundleError(
      'wrong-format',
      `evaluator: expected format "${EVALUATOR_FORMAT}" version "${EVALUATOR_VERSION}", got ${describeFormat(header.metadata)}; ` +
        'use public/evaluator.safetensors or re-create it with npm run evaluator:train',
    );
  }
  const config = parseConfig(configText);
  const shapes = classifierParamShapes(config);
  for (const name of header.tensors.keys()) {
    if (!(name in shapes)) throw new BundleError('extra-tensor', `evaluator: unexpected tensor '${name}'`);
  }
  for (const [name, shape] of Object.entries(shapes)) {
    const t = header.tensors.get(name);
    if (!t) throw new BundleError('missing-tensor', `evaluator: tensor '${name}' is missing`);
    if (t.dtype !== 'F32')
      throw new BundleError('wrong-dtype', `evaluator: tensor '${name}' is ${t.dtype}, expected F32`);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new BundleError(
        'wrong-shape',
        `evaluator: tensor '${name}' has shape [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]`,
      );
    }
  }
  const decoded = Object.entries(shapes).map(
    ([name, shape]) => [name, decodeTensor(bytes, header, name).data, shape] as const,
  );
  for (const [name, data] of decoded) checkFiniteWeights('evaluator', name, data);
  const params: Params = {};
  for (const [name, data, shape] of decoded) params[name] = tf.tensor(data, shape, 'float32');
  return { config, params, provenance };
}
