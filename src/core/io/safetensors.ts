/**
 * safetensors (https://github.com/huggingface/safetensors), read and written on plain Uint8Arrays
 * so the same code runs in the browser and in Node.
 *
 * Layout: u64 little-endian header length n | n bytes of UTF-8 JSON | raw little-endian tensor data.
 * The JSON maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative
 * to the start of the data) and may hold "__metadata__": {string: string}.
 *
 * Reading is strict, like the reference Rust implementation: every byte of the data section must
 * belong to exactly one tensor; the header JSON has no duplicate key and no byte order mark, and
 * shapes and offsets are integers written as integers (strict-json.ts); every problem is a
 * SafetensorsError with a `code`. Parsing allocates in proportion to the file, never to the
 * sizes its header claims (tensor data is only sliced from the bytes that are there).
 *
 * Loaded values: F32, F16 and BF16 become Float32Array. I32 becomes Int32Array. I64 also becomes
 * Int32Array, after checking every value fits in 32 bits (error 'int64-out-of-range' otherwise):
 * in this project I64 only carries labels and seeds, and tfjs has no int64 dtype anyway.
 */
import { ForeignFileError, SafetensorsError } from './errors';
import { identifyFile } from './file-magic';
import { bfloat16ToFloat32Array, float16ToFloat32Array, float32ToFloat16Array } from './float16';
import { describeJson, JsonNumberLiteral, JsonSyntaxError, parseStrictJson } from './strict-json';

export type Dtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';
export type WritableDtype = 'F32' | 'F16' | 'I32' | 'I64';

export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** Dtypes of the safetensors spec that are valid but that this reader does not load. */
const UNSUPPORTED_DTYPES = ['F64', 'F8_E4M3', 'F8_E5M2', 'I8', 'U8', 'I16', 'U16', 'U32', 'U64', 'BOOL'];

/** The reference implementation's bound: a larger header is almost surely a corrupt length field. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  /** [begin, end) in bytes, relative to `dataStart`. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensors in the order the header lists them. */
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
  dataLength: number;
}

export type LoadedTensor =
  | { dtype: 'F32' | 'F16' | 'BF16'; shape: number[]; data: Float32Array }
  | { dtype: 'I32' | 'I64'; shape: number[]; data: Int32Array };

export interface Safetensors {
  tensors: Map<string, LoadedTensor>;
  metadata: Record<string, string>;
}

export type TensorToWrite =
  | { dtype: 'F32' | 'F16'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'I64'; shape: number[]; data: Int32Array | BigInt64Array };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function asBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  // Normalise Node Buffers to plain Uint8Arrays: Buffer#slice does not copy.
  return input instanceof ArrayBuffer
    ? new Uint8Array(input)
    : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
}

/** Copy [begin, end) into a fresh, 0-aligned buffer so typed views of it are always legal. */
function copyRange(bytes: Uint8Array, begin: number, end: number): ArrayBuffer {
  const out = new Uint8Array(end - begin);
  out.set(bytes.subarray(begin, end));
  return out.buffer;
}

/**
 * The number of bytes to read from the start of a file to have its whole header (8 + n).
 * Needs only the first 8 bytes: lets a caller validate a large file from a small slice.
 */
export function safetensorsHeaderEnd(first8: Uint8Array | ArrayBuffer, fileSize?: number): number {
  const bytes = asBytes(first8);
  if (bytes.byteLength < 8) {
    throw refused(
      bytes,
      new SafetensorsError('truncated', `file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`),
    );
  }
  // BigInt: a corrupt length can exceed 2^53, and the message must quote it exactly.
  const field = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (field > BigInt(MAX_HEADER_BYTES)) {
    throw refused(
      bytes,
      new SafetensorsError(
        'header-too-large',
        `header length field says ${field} bytes, over the ${MAX_HEADER_BYTES}-byte bound: the file is corrupt or not safetensors`,
      ),
    );
  }
  const n = Number(field);
  const size = fileSize ?? bytes.byteLength;
  if (8 + n > size) {
    throw refused(
      bytes,
      new SafetensorsError(
        'truncated',
        `header length field says ${n} bytes but the file has only ${size - 8} after it: the file is truncated or not safetensors`,
      ),
    );
  }
  return 8 + n;
}

/** A refused file that is another kind of file altogether says what it is instead (file-magic.ts). */
function refused(bytes: Uint8Array, error: SafetensorsError): SafetensorsError {
  const foreign = identifyFile(bytes);
  return foreign ? new ForeignFileError(foreign, { cause: error }) : error;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumberLiteral);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(name: string, raw: unknown, dataLength: number): TensorEntry {
  if (!isPlainObject(raw)) {
    throw new SafetensorsError('bad-entry', `tensor '${name}': header entry is not an object`, name);
  }
  const keys = Object.keys(raw).sort().join(',');
  if (keys !== 'data_offsets,dtype,shape') {
    throw new SafetensorsError(
      'bad-entry',
      `tensor '${name}': header entry must have exactly dtype, shape, data_offsets (has ${keys || 'nothing'})`,
      name,
    );
  }
  const dtype = raw.dtype;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) {
    const why = UNSUPPORTED_DTYPES.includes(dtype as string) ? 'is valid safetensors but not supported' : 'is unknown';
    throw new SafetensorsError(
      'unknown-dtype',
      `tensor '${name}': dtype ${describeJson(dtype)} ${why}; supported: ${Object.keys(DTYPE_SIZE).join(', ')}`,
      name,
    );
  }
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SafetensorsError(
      'bad-shape',
      `tensor '${name}': shape ${describeJson(shape)} is not a list of non-negative integers (written without fraction or exponent, below 2^53)`,
      name,
    );
  }
  let elements = 1;
  for (const d of shape) elements *= d;
  if (!Number.isSafeInteger(elements * DTYPE_SIZE[dtype as Dtype])) {
    throw new SafetensorsError(
      'bad-shape',
      `tensor '${name}': shape ${JSON.stringify(shape)} is impossibly large`,
      name,
    );
  }
  const offsets = raw.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new SafetensorsError(
      'bad-offsets',
      `tensor '${name}': data_offsets ${describeJson(offsets)} is not [begin, end] of integers with 0 <= begin <= end`,
      name,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw new SafetensorsError(
      'bad-offsets',
      `tensor '${name}': data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes): file truncated?`,
      name,
    );
  }
  const expected = elements * DTYPE_SIZE[dtype as Dtype];
  if (end - begin !== expected) {
    throw new SafetensorsError(
      'size-mismatch',
      `tensor '${name}': ${end - begin} bytes of data but shape ${JSON.stringify(shape)} x ${dtype} needs ${expected}`,
      name,
    );
  }
  return { dtype: dtype as Dtype, shape: [...shape], dataOffsets: [begin, end] };
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (!isPlainObject(raw)) throw new SafetensorsError('bad-metadata', '__metadata__ is not an object of strings');
  // Null prototype: a key named __proto__ must stay an ordinary key.
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        'bad-metadata',
        `__metadata__.${k} is ${typeof v}, but metadata values must be strings`,
      );
    }
    out[k] = v;
  }
  return out;
}

/**
 * Validate the header against a file of `fileSize` bytes without touching the tensor data.
 * `bytes` needs to hold the file's first `safetensorsHeaderEnd(...)` bytes, no more.
 */
export function parseSafetensorsHeader(input: Uint8Array | ArrayBuffer, fileSize?: number): SafetensorsHeader {
  const bytes = asBytes(input);
  const size = fileSize ?? bytes.byteLength;
  const dataStart = safetensorsHeaderEnd(bytes, size);
  if (bytes.byteLength < dataStart) {
    throw new SafetensorsError(
      'truncated',
      `need the first ${dataStart} bytes to read the header, got ${bytes.byteLength}`,
    );
  }
  const dataLength = size - dataStart;
  let json: unknown;
  try {
    // ignoreBOM keeps a byte order mark in the text, where the strict parser refuses it
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
    json = parseStrictJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError || e instanceof TypeError)) throw e;
    throw refused(
      bytes,
      new SafetensorsError(
        'header-not-json',
        `header is not strict UTF-8 JSON (${(e as Error).message}): the file is corrupt`,
        undefined,
        { cause: e },
      ),
    );
  }
  if (!isPlainObject(json)) {
    throw new SafetensorsError(
      'header-not-object',
      `header JSON is ${Array.isArray(json) ? 'an array' : typeof json}, not an object`,
    );
  }
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(raw);
    else tensors.set(name, parseEntry(name, raw, dataLength));
  }
  // Every data byte must belong to exactly one tensor: sort by range and walk it.
  const ranges = [...tensors].sort(
    ([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let cursor = 0;
  let previous = '';
  for (const [name, { dataOffsets }] of ranges) {
    const [begin, end] = dataOffsets;
    if (begin < cursor) {
      throw new SafetensorsError(
        'overlap',
        `tensor '${name}' (bytes ${begin}..${end}) overlaps tensor '${previous}' (ends at ${cursor})`,
        name,
      );
    }
    if (begin > cursor) {
      throw new SafetensorsError(
        'unexplained-bytes',
        `data bytes ${cursor}..${begin} belong to no tensor (gap before tensor '${name}')`,
        name,
      );
    }
    cursor = end;
    previous = name;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(
      'unexplained-bytes',
      `data bytes ${cursor}..${dataLength} belong to no tensor (trailing bytes after the last tensor)`,
    );
  }
  return { tensors, metadata, dataStart, dataLength };
}

/** Decode one tensor of a file whose header has been parsed. */
export function decodeTensor(input: Uint8Array | ArrayBuffer, header: SafetensorsHeader, name: string): LoadedTensor {
  const bytes = asBytes(input);
  const entry = header.tensors.get(name);
  if (!entry) throw new SafetensorsError('bad-input', `no tensor '${name}' in this file`, name);
  const begin = header.dataStart + entry.dataOffsets[0];
  const end = header.dataStart + entry.dataOffsets[1];
  if (end > bytes.byteLength) {
    throw new SafetensorsError(
      'truncated',
      `tensor '${name}' ends at byte ${end} but only ${bytes.byteLength} were given`,
      name,
    );
  }
  const n = (end - begin) / DTYPE_SIZE[entry.dtype];
  const shape = [...entry.shape];
  const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
  switch (entry.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN_HOST) return { dtype: 'F32', shape, data: new Float32Array(copyRange(bytes, begin, end)) };
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
      return { dtype: 'F32', shape, data };
    }
    case 'F16':
    case 'BF16': {
      const halves = new Uint16Array(n);
      if (LITTLE_ENDIAN_HOST) halves.set(new Uint16Array(copyRange(bytes, begin, end)));
      else for (let i = 0; i < n; i++) halves[i] = view.getUint16(2 * i, true);
      const data = entry.dtype === 'F16' ? float16ToFloat32Array(halves) : bfloat16ToFloat32Array(halves);
      return { dtype: entry.dtype, shape, data };
    }
    case 'I32': {
      if (LITTLE_ENDIAN_HOST) return { dtype: 'I32', shape, data: new Int32Array(copyRange(bytes, begin, end)) };
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getInt32(4 * i, true);
      return { dtype: 'I32', shape, data };
    }
    case 'I64': {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const low = view.getInt32(8 * i, true);
        const high = view.getInt32(8 * i + 4, true);
        // Fits in int32 exactly when the high word is the sign extension of the low word.
        if (high !== low >> 31) {
          throw new SafetensorsError(
            'int64-out-of-range',
            `tensor '${name}': element ${i} (${view.getBigInt64(8 * i, true)}) does not fit in 32 bits; only int32-range I64 values can be loaded`,
            name,
          );
        }
        data[i] = low;
      }
      return { dtype: 'I64', shape, data };
    }
  }
}

/** Parse and decode a whole file. Throws SafetensorsError on any malformation. */
export function parseSafetensors(input: Uint8Array | ArrayBuffer): Safetensors {
  const bytes = asBytes(input);
  const header = parseSafetensorsHeader(bytes);
  const tensors = new Map<string, LoadedTensor>();
  for (const name of header.tensors.keys()) tensors.set(name, decodeTensor(bytes, header, name));
  return { tensors, metadata: header.metadata };
}

function checkTensorToWrite(name: string, t: TensorToWrite): number {
  const fail = (msg: string) => new SafetensorsError('bad-input', `cannot write tensor '${name}': ${msg}`, name);
  if (name === '__metadata__') throw fail('the name __metadata__ is reserved');
  if (!['F32', 'F16', 'I32', 'I64'].includes(t.dtype)) throw fail(`cannot write dtype ${String(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) throw fail(`bad shape ${JSON.stringify(t.shape)}`);
  const elements = t.shape.reduce((a, b) => a * b, 1);
  const okType =
    t.dtype === 'F32' || t.dtype === 'F16'
      ? t.data instanceof Float32Array
      : t.dtype === 'I32'
        ? t.data instanceof Int32Array
        : t.data instanceof Int32Array || t.data instanceof BigInt64Array;
  if (!okType) throw fail(`dtype ${t.dtype} cannot be written from a ${t.data?.constructor?.name ?? typeof t.data}`);
  if (t.data.length !== elements) {
    throw fail(`shape ${JSON.stringify(t.shape)} has ${elements} elements but the data has ${t.data.length}`);
  }
  return elements * DTYPE_SIZE[t.dtype];
}

function encodeTensor(t: TensorToWrite, out: DataView, at: number): void {
  const d = t.data;
  switch (t.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST)
        new Uint8Array(out.buffer, at, d.byteLength).set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      else for (let i = 0; i < d.length; i++) out.setFloat32(at + 4 * i, (d as Float32Array)[i], true);
      return;
    case 'F16': {
      const halves = float32ToFloat16Array(t.data);
      for (let i = 0; i < halves.length; i++) out.setUint16(at + 2 * i, halves[i], true);
      return;
    }
    case 'I32':
      for (let i = 0; i < d.length; i++) out.setInt32(at + 4 * i, (d as Int32Array)[i], true);
      return;
    case 'I64':
      if (d instanceof BigInt64Array) for (let i = 0; i < d.length; i++) out.setBigInt64(at + 8 * i, d[i], true);
      else for (let i = 0; i < d.length; i++) out.setBigInt64(at + 8 * i, BigInt((d as Int32Array)[i]), true);
      return;
  }
}

/**
 * Serialize tensors (in the given order) and string metadata. F16 is rounded to nearest even.
 * The header is padded with spaces to a multiple of 8 bytes so the data section starts aligned.
 */
export function writeSafetensors(
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        'bad-input',
        `cannot write __metadata__.${k}: value is ${typeof v}, metadata values must be strings`,
      );
    }
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of list) {
    const size = checkTensorToWrite(name, t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const [, t] of list) {
    encodeTensor(t, view, at);
    at += t.data.length * DTYPE_SIZE[t.dtype];
  }
  return out;
}
