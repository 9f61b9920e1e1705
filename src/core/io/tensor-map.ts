/**
 * Named tf tensors <-> safetensors bytes: the shared step under model bundles and training
 * checkpoints. Float tensors are stored as F32 (or F16 on request), int32 as I32.
 */
import * as tf from '@tensorflow/tfjs';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from './safetensors';

export async function encodeTensorMap(
  tensors: Record<string, tf.Tensor>,
  metadata: Record<string, string>,
  floatDtype: 'F32' | 'F16' = 'F32',
): Promise<Uint8Array> {
  const out: Record<string, TensorToWrite> = {};
  for (const [name, t] of Object.entries(tensors)) {
    out[name] =
      t.dtype === 'int32'
        ? { dtype: 'I32', shape: t.shape, data: (await t.data()) as Int32Array }
        : { dtype: floatDtype, shape: t.shape, data: (await t.data()) as Float32Array };
  }
  return writeSafetensors(out, metadata);
}

export function decodeTensorMap(bytes: Uint8Array | ArrayBuffer): {
  tensors: Record<string, tf.Tensor>;
  metadata: Record<string, string>;
} {
  const file = parseSafetensors(bytes);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, t] of file.tensors) {
    tensors[name] = t.data instanceof Int32Array ? tf.tensor(t.data, t.shape, 'int32') : tf.tensor(t.data, t.shape);
  }
  return { tensors, metadata: file.metadata };
}

/** Entries of `map` whose names start with `prefix.`, with the prefix removed. */
export function withoutPrefix(map: Record<string, tf.Tensor>, prefix: string): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(map)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = t;
  return out;
}

export function withPrefix(map: Record<string, tf.Tensor>, prefix: string): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(map).map(([k, t]) => [`${prefix}.${k}`, t]));
}
