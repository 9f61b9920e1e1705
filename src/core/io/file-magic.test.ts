import { describe, expect, it } from 'vitest';
import { readModelConfig } from './bundle';
import { ForeignFileError, ShardNotSafetensorsError } from './errors';
import { identifyFile, type ForeignKind } from './file-magic';
import { parseSafetensors, writeSafetensors } from './safetensors';
import { validateShard } from './shards';

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

/** A zip's first local file header naming `entry`, as torch.save writes it. */
function zipWith(entry: string): Uint8Array {
  const header = new Uint8Array(30);
  header.set([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]);
  new DataView(header.buffer).setUint16(26, entry.length, true);
  return new Uint8Array([...header, ...bytes(entry), ...new Uint8Array(64)]);
}

const SAMPLES: [ForeignKind, Uint8Array][] = [
  ['png', bytes([0x89], 'PNG\r\n', [0x1a, 0x0a, 0, 0, 0, 13], 'IHDR')],
  ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', [0])],
  ['gif', bytes('GIF89a', [1, 0, 1, 0, 0x80, 0, 0])],
  ['pytorch-zip', zipWith('archive/data.pkl')],
  ['zip', zipWith('readme.txt')],
  ['pytorch-legacy', bytes([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e])],
  ['pickle', bytes([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94])],
  ['gzip', bytes([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03])],
  ['numpy', bytes([0x93], 'NUMPY', [1, 0, 0x76, 0], "{'descr': '<f4'}")],
  ['json', bytes('\n  {"format": "rapm-studio/shard", "count": 3}\n')],
  ['json', bytes('[1, 2, 3]')],
];

describe('file magic', () => {
  it.each(SAMPLES)('knows %s by its first bytes', (kind, file) => {
    expect(identifyFile(file)?.kind).toBe(kind);
  });

  it('says what the file is and what to do, in every reader of a user file', () => {
    const png = SAMPLES[0][1];
    // A PNG renamed .safetensors used to read "header length field says 727905341920923785 bytes".
    expect(() => parseSafetensors(png)).toThrow(ForeignFileError);
    expect(() => parseSafetensors(png)).toThrow(/^this is a PNG image, not a safetensors file: pick the .safetensors/);
    try {
      validateShard(png);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ShardNotSafetensorsError);
      expect((e as ShardNotSafetensorsError).code).toBe('not-safetensors');
      expect((e as Error).message).toMatch(/^this is a PNG image, not a safetensors file/);
      expect((e as Error).cause).toBeInstanceOf(ForeignFileError);
    }
    const torch = zipWith('archive/data.pkl');
    expect(() => readModelConfig(torch)).toThrow(/^this is a PyTorch checkpoint .*save_file\(/);
    expect(() => readModelConfig(torch)).toThrow(/from safetensors\.torch import save_file/);
  });

  it('never refuses a readable safetensors file, whatever its first byte', () => {
    // A header padded to 123 bytes: the file starts with '{' (0x7b) then seven zero bytes.
    const file = writeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    const header = new TextDecoder().decode(
      file.subarray(8, 8 + Number(new DataView(file.buffer).getBigUint64(0, true))),
    );
    const padded = header.trimEnd().padEnd(123, ' ');
    const out = new Uint8Array(8 + 123 + 4);
    new DataView(out.buffer).setBigUint64(0, 123n, true);
    out.set(new TextEncoder().encode(padded), 8);
    out.set(file.subarray(file.byteLength - 4), 8 + 123);
    expect(out[0]).toBe(0x7b);
    expect(identifyFile(out)).toBeNull();
    expect(parseSafetensors(out).tensors.get('x')?.data).toEqual(new Float32Array([1]));
  });

  it('leaves unknown damage to the safetensors reader', () => {
    const junk = new Uint8Array(64).fill(0xee);
    expect(identifyFile(junk)).toBeNull();
    expect(() => parseSafetensors(junk)).toThrow(/header length field says/);
  });
});
