/**
 * What a model bundle and an evaluator file share: a strict safetensors header whose
 * `__metadata__` names the format and version and holds the network's config as strict JSON,
 * and tensors whose names, dtypes and shapes follow from that config. The whole header is
 * checked before a tensor is decoded; every value is checked finite before a tf tensor exists.
 * Each kind of file brings only its name, its config check and its advice.
 */
import * as tf from '@tensorflow/tfjs';
import { BundleError, notSafetensorsMessage, SafetensorsError } from './errors';
import { checkFiniteWeights } from './finite-weights';
import { describeFormat } from './format-names';
import { parseHeaderJson } from './json-checks';
import { decodeTensor, parseSafetensorsHeader, type Dtype, type SafetensorsHeader } from './safetensors';

export interface BundleKind<C> {
  /** How messages name the file: 'model bundle', 'evaluator'. */
  what: string;
  format: string;
  version: string;
  /** Ends the wrong-format and unreadable-config messages: what to do instead. */
  advice: string;
  /** Checks the parsed `__metadata__.config`; throws BundleError 'bad-config'. */
  checkConfig: (raw: unknown) => C;
  /** Every tensor the config needs, by name, in canonical order; throws BundleError 'bad-config'. */
  shapes: (config: C) => Record<string, number[]>;
  /** The storage dtypes a tensor may have. */
  dtypes: readonly Dtype[];
}

export interface BundleHeader<C> {
  header: SafetensorsHeader;
  config: C;
}

const list = (names: string[]) => `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}`;

/** Parses the header and checks format, version and config (cheap: no tensor is decoded). */
export function readBundleHeader<C>(
  kind: BundleKind<C>,
  input: Uint8Array | ArrayBuffer,
  fileSize?: number,
): BundleHeader<C> {
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(input, fileSize);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    const message = notSafetensorsMessage(`${kind.what}: not a readable safetensors file`, e);
    throw new BundleError('not-safetensors', message, { cause: e });
  }
  const { metadata } = header;
  if (metadata.format !== kind.format || metadata.version !== kind.version) {
    throw new BundleError(
      'wrong-format',
      `not ${/^[aeiou]/.test(kind.what) ? 'an' : 'a'} ${kind.what}: __metadata__ has ${describeFormat(metadata)}, ` +
        `expected format "${kind.format}" version "${kind.version}"; ${kind.advice}`,
    );
  }
  if (metadata.config === undefined)
    throw new BundleError('bad-config', `${kind.what}: __metadata__.config is missing; ${kind.advice}`);
  const raw = parseHeaderJson(
    metadata.config,
    (why, cause) =>
      new BundleError('bad-config', `${kind.what}: __metadata__.config is not strict JSON (${why}); ${kind.advice}`, {
        cause,
      }),
  );
  return { header, config: kind.checkConfig(raw) };
}

/**
 * Checks every tensor's name, dtype and shape against the config, then decodes them all, checks
 * every value finite (NonFiniteWeightError names the tensor) and creates tf tensors, owned by the caller.
 */
export function decodeBundle<C>(
  kind: BundleKind<C>,
  input: Uint8Array | ArrayBuffer,
): BundleHeader<C> & { params: Record<string, tf.Tensor> } {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  const { header, config } = readBundleHeader(kind, bytes);
  const shapes = kind.shapes(config);
  const extra = [...header.tensors.keys()].filter((n) => !(n in shapes));
  if (extra.length > 0)
    throw new BundleError('extra-tensor', `${kind.what} has tensors its config does not use: ${list(extra)}`);
  const missing = Object.keys(shapes).filter((n) => !header.tensors.has(n));
  if (missing.length > 0)
    throw new BundleError(
      'missing-tensor',
      `${kind.what} lacks ${missing.length} tensor(s) of its config: ${list(missing)}`,
    );
  for (const [name, t] of header.tensors) {
    if (!kind.dtypes.includes(t.dtype))
      throw new BundleError(
        'wrong-dtype',
        `${kind.what}: tensor '${name}' is ${t.dtype}; tensors must be ${kind.dtypes.join(' or ')}`,
      );
    if (t.shape.join() !== shapes[name].join())
      throw new BundleError(
        'wrong-shape',
        `${kind.what}: tensor '${name}' has shape [${t.shape}], its config needs [${shapes[name]}]`,
      );
  }
  const decoded = [...header.tensors.keys()].map((name) => [name, decodeTensor(bytes, header, name)] as const);
  for (const [name, t] of decoded) checkFiniteWeights(kind.what, name, t.data);
  const params: Record<string, tf.Tensor> = {};
  for (const [name, t] of decoded) params[name] = tf.tensor(t.data, t.shape, 'float32');
  return { header, config, params };
}
