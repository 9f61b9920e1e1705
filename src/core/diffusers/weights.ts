/**
 * diffusion_pytorch_model.safetensors -> the network's parameters. One table maps each tensor of
 * diffusers' state dict to our parameter of the same name: its shape in the file (PyTorch layout)
 * and how it is laid out here. Every name, dtype and shape is checked against the table before
 * any tensor is decoded, and every value is checked finite before a tf tensor is made.
 *
 * Layouts: conv weights [out, in, kh, kw] -> [kh, kw, in, out]; linear weights [out, in] ->
 * [in, out]; the class embedding table [rows, dim] and every vector as they are.
 * Older checkpoints name the attention tensors query / key / value / proj_attn, which diffusers
 * renames to to_q / to_k / to_v / to_out.0 on load (ModelMixin._convert_deprecated_attention_blocks);
 * both are accepted.
 */
import * as tf from '@tensorflow/tfjs';
import { DiffusersError, SafetensorsError } from '../io/errors';
import { decodeTensor, parseSafetensorsHeader, type SafetensorsHeader } from '../io/safetensors';
import { diffusersUnetParamShapes, type DiffusersUNetConfig } from '../nn/diffusers-unet';
import type { Params } from '../nn/unet';
import { WEIGHTS_FILE } from './layout';

export { WEIGHTS_FILE };

export type WeightLayout = 'conv' | 'linear' | 'as-is';

export interface WeightEntry {
  /** The name in diffusers' state dict, and our parameter's name. */
  name: string;
  /** Older names of the same tensor. */
  aliases: string[];
  /** Shape in the file (PyTorch layout). */
  fileShape: number[];
  /** Shape of our parameter (tfjs layout). */
  shape: number[];
  layout: WeightLayout;
}

const DEPRECATED_ATTENTION: Record<string, string> = {
  to_q: 'query',
  to_k: 'key',
  to_v: 'value',
  'to_out.0': 'proj_attn',
};

function aliasesOf(name: string): string[] {
  const m = /^(.*\.attentions\.\d+)\.(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(name);
  return m ? [`${m[1]}.${DEPRECATED_ATTENTION[m[2]]}.${m[3]}`] : [];
}

/** The mapping table of a config: one entry per parameter, in the network's order. */
export function diffusersWeightTable(cfg: DiffusersUNetConfig): WeightEntry[] {
  return Object.entries(diffusersUnetParamShapes(cfg)).map(([name, shape]) => {
    const layout: WeightLayout =
      shape.length === 4 ? 'conv' : shape.length === 2 && name !== 'class_embedding.weight' ? 'linear' : 'as-is';
    const fileShape =
      layout === 'conv' ? [shape[3], shape[2], shape[0], shape[1]] : layout === 'linear' ? [shape[1], shape[0]] : shape;
    return { name, aliases: aliasesOf(name), fileShape, shape, layout };
  });
}

/** PyTorch layout -> tfjs layout, on the host. */
function toOurLayout(data: Float32Array, e: WeightEntry): Float32Array {
  if (e.layout === 'as-is') return data;
  const out = new Float32Array(data.length);
  if (e.layout === 'linear') {
    const [o, i] = e.fileShape;
    for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[c * o + r] = data[r * i + c];
    return out;
  }
  const [o, i, kh, kw] = e.fileShape;
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = data[((a * i + b) * kh + y) * kw + x];
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

function fail(
  code: 'missing-tensor' | 'extra-tensor' | 'wrong-shape' | 'wrong-dtype' | 'non-finite',
  message: string,
  field?: string,
  value?: string,
) {
  return new DiffusersError(code, WEIGHTS_FILE, message, { field, value });
}

/** Checks every name, dtype and shape against the table; returns, per entry, the file's name for it. */
function matchTable(header: SafetensorsHeader, table: WeightEntry[]): Map<WeightEntry, string> {
  const byName = new Map<string, WeightEntry>();
  for (const e of table) for (const n of [e.name, ...e.aliases]) byName.set(n, e);
  const found = new Map<WeightEntry, string>();
  const extra: string[] = [];
  for (const [name, t] of header.tensors) {
    const e = byName.get(name);
    if (!e) {
      extra.push(name);
      continue;
    }
    const earlier = found.get(e);
    if (earlier !== undefined) {
      throw fail('extra-tensor', `'${name}' and '${earlier}' are the same parameter under its new and old names`, name);
    }
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw fail('wrong-dtype', `'${name}' is ${t.dtype}; weights must be F32, F16 or BF16`, name, t.dtype);
    }
    if (!sameShape(t.shape, e.fileShape)) {
      throw fail(
        'wrong-shape',
        `'${name}' has shape [${t.shape}], config.json needs [${e.fileShape}]`,
        name,
        `[${t.shape}]`,
      );
    }
    found.set(e, name);
  }
  if (extra.length > 0) {
    throw fail(
      'extra-tensor',
      `${extra.length} tensor(s) that config.json's network does not have: ${extra.slice(0, 5).join(', ')}` +
        `${extra.length > 5 ? ', ...' : ''} (is config.json this model's?)`,
      extra[0],
    );
  }
  const missing = table.filter((e) => !found.has(e)).map((e) => e.name);
  if (missing.length > 0) {
    throw fail(
      'missing-tensor',
      `lacks ${missing.length} tensor(s) that config.json's network needs: ${missing.slice(0, 5).join(', ')}` +
        `${missing.length > 5 ? ', ...' : ''}`,
      missing[0],
    );
  }
  return found;
}

/**
 * Parses the weights file, checks it against the config's table, and returns fresh parameters
 * (owned by the caller). A refused file leaves no tensor allocated.
 */
export function loadDiffusersWeights(input: Uint8Array | ArrayBuffer, cfg: DiffusersUNetConfig): Params {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError && e.code === 'unknown-dtype') {
      throw fail('wrong-dtype', `${e.message}; weights must be F32, F16 or BF16`, e.tensor);
    }
    if (e instanceof SafetensorsError) {
      throw new DiffusersError('not-safetensors', WEIGHTS_FILE, `not a readable safetensors file: ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
  const table = diffusersWeightTable(cfg);
  const names = matchTable(header, table);
  const params: Params = {};
  try {
    for (const e of table) {
      const fileName = names.get(e) as string;
      const { data } = decodeTensor(bytes, header, fileName);
      const bad = (data as Float32Array).findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw fail(
          'non-finite',
          `'${fileName}' holds ${data[bad]} at flat index ${bad}: every weight must be finite`,
          fileName,
          String(data[bad]),
        );
      }
      params[e.name] = tf.tensor(toOurLayout(data as Float32Array, e), e.shape, 'float32');
    }
  } catch (err) {
    tf.dispose(Object.values(params));
    throw err;
  }
  return params;
}
