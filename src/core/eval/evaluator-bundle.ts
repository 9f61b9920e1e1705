/**
 * The shipped evaluator (public/evaluator.safetensors): the classifier's F32 weights under their
 * parameter names, with `__metadata__` holding
 *   format: 'rapm-evaluator', version: '1', config: JSON of ClassifierConfig,
 *   and free-form provenance strings (command, data, steps, testAccuracy, ...).
 */
import { decodeBundle, type BundleKind } from '../io/bundle-file';
import { BundleError, type LimitViolation } from '../io/errors';
import { jsonChecks } from '../io/json-checks';
import { encodeTensorMap } from '../io/tensor-map';
import { classifierParamShapes, type ClassifierConfig, type Params } from './classifier';

export const EVALUATOR_FORMAT = 'rapm-evaluator';
export const EVALUATOR_VERSION = '1';
const RESERVED = ['format', 'version', 'config'];
const ADVICE = 'use public/evaluator.safetensors or re-create it with npm run evaluator:train';

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

/** Checks `__metadata__.config`, already parsed as strict JSON. */
function checkClassifierConfig(raw: unknown): ClassifierConfig {
  const bad = (msg: string, violation?: LimitViolation) =>
    new BundleError('bad-config', `evaluator: ${msg}; ${ADVICE}`, { violation });
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

const EVALUATOR: BundleKind<ClassifierConfig> = {
  what: 'evaluator',
  format: EVALUATOR_FORMAT,
  version: EVALUATOR_VERSION,
  advice: ADVICE,
  checkConfig: checkClassifierConfig,
  shapes: classifierParamShapes,
  dtypes: ['F32'],
};

/**
 * Loads an evaluator file into tensors (owned by the caller). Throws BundleError on any mismatch;
 * the header (format, config, every tensor's name, dtype and shape) is checked before any tensor is decoded.
 */
export function decodeEvaluator(input: Uint8Array | ArrayBuffer): Evaluator {
  const { header, config, params } = decodeBundle(EVALUATOR, input);
  const provenance = Object.fromEntries(Object.entries(header.metadata).filter(([k]) => !RESERVED.includes(k)));
  return { config, params, provenance };
}
