/**
 * A model's forward pass from a file and back, for comparing with another implementation (npm
 * run model:check): the inputs file holds diffusers' argument names, `sample` [B, C, H, W]
 * (F32, F16 or BF16), `timestep` [B] or one value for the batch ([] or [1]; any numeric dtype,
 * fractional values allowed) and, for a class-conditional model only, `class_labels` [B]
 * (I32 or I64); the outputs file holds `sample` [B, C, H, W] F32, diffusers' UNet2DOutput.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelInputsError, SafetensorsError } from './io/errors';
import { parseSafetensors, writeSafetensors, type LoadedTensor } from './io/safetensors';
import type { SamplingConfig } from './model-config';

export interface ModelInputs {
  /** NHWC */
  x: tf.Tensor4D;
  t: tf.Tensor1D;
  /** int32; zeros for an unconditional model, which ignores them. */
  labels: tf.Tensor1D;
}

/**
 * Checks every tensor against the model before creating any. `nullClass`: whether label
 * `numClasses` (this studio's null class for guidance) is a valid label.
 */
export function readModelInputs(bytes: Uint8Array, sampling: SamplingConfig, nullClass: boolean): ModelInputs {
  let tensors: Map<string, LoadedTensor>;
  try {
    tensors = parseSafetensors(bytes).tensors;
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new ModelInputsError(
        'not-safetensors',
        `inputs: not a readable safetensors file: ${e.message}`,
        undefined,
        {
          cause: e,
        },
      );
    }
    throw e;
  }
  const { channels, height, width } = sampling.data;
  const conditional = sampling.numClasses > 0;
  const known = ['sample', 'timestep', ...(conditional ? ['class_labels'] : [])];
  const extra = [...tensors.keys()].filter((n) => !known.includes(n));
  if (extra.length > 0) {
    const why = extra.includes('class_labels') ? ' (the model is unconditional)' : '';
    throw new ModelInputsError(
      'unexpected-tensor',
      `inputs: unexpected tensor '${extra[0]}'${why}; expected ${known.join(', ')}`,
      extra[0],
    );
  }
  const get = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new ModelInputsError('missing-tensor', `inputs: tensor '${name}' is missing`, name);
    return t;
  };
  const sample = get('sample');
  if (sample.data instanceof Int32Array)
    throw new ModelInputsError('wrong-dtype', `inputs: 'sample' is ${sample.dtype}; use F32, F16 or BF16`, 'sample');
  const [b] = sample.shape;
  const want = [b, channels, height, width];
  if (sample.shape.length !== 4 || b < 1 || sample.shape.some((d, i) => d !== want[i])) {
    throw new ModelInputsError(
      'wrong-shape',
      `inputs: 'sample' has shape [${sample.shape}], the model needs [B, ${channels}, ${height}, ${width}]`,
      'sample',
    );
  }
  const timestep = get('timestep');
  const tn = timestep.data.length;
  if (timestep.shape.length > 1 || (tn !== b && tn !== 1)) {
    throw new ModelInputsError(
      'wrong-shape',
      `inputs: 'timestep' has shape [${timestep.shape}]; give one per sample ([${b}]) or one for all`,
      'timestep',
    );
  }
  for (const [name, t] of [
    ['sample', sample],
    ['timestep', timestep],
  ] as const) {
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new ModelInputsError('non-finite', `inputs: '${name}' holds ${t.data[bad]} at flat index ${bad}`, name);
  }
  let labels: Int32Array = new Int32Array(b);
  if (conditional) {
    const l = get('class_labels');
    if (!(l.data instanceof Int32Array))
      throw new ModelInputsError('wrong-dtype', `inputs: 'class_labels' is ${l.dtype}; use I32 or I64`, 'class_labels');
    if (l.shape.length !== 1 || l.shape[0] !== b) {
      throw new ModelInputsError(
        'wrong-shape',
        `inputs: 'class_labels' has shape [${l.shape}], the batch needs [${b}]`,
        'class_labels',
      );
    }
    const top = nullClass ? sampling.numClasses : sampling.numClasses - 1;
    const bad = l.data.findIndex((v) => v < 0 || v > top);
    if (bad >= 0) {
      throw new ModelInputsError(
        'label-out-of-range',
        `inputs: class_labels[${bad}] = ${l.data[bad]} is outside 0..${top}`,
        'class_labels',
      );
    }
    labels = l.data;
  }
  const t = Float32Array.from({ length: b }, (_, i) => timestep.data[tn === 1 ? 0 : i]);
  return {
    x: tf.tidy(
      () =>
        tf
          .tensor4d(sample.data as Float32Array, want as [number, number, number, number])
          .transpose([0, 2, 3, 1]) as tf.Tensor4D,
    ),
    t: tf.tensor1d(t),
    labels: tf.tensor1d(labels, 'int32'),
  };
}

/** The output NHWC -> `sample` [B, C, H, W] F32, with free-text metadata. */
export async function encodeModelOutputs(out: tf.Tensor4D, metadata: Record<string, string>): Promise<Uint8Array> {
  const nchw = out.transpose([0, 3, 1, 2]);
  const data = (await nchw.data()) as Float32Array;
  const shape = nchw.shape;
  nchw.dispose();
  return writeSafetensors({ sample: { dtype: 'F32', shape, data } }, metadata);
}
