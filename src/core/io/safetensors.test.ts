import { describe, expect, it } from 'vitest';
import { FormatError, SafetensorsError } from './errors';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';
import {
  parseSafetensors,
  parseSafetensorsHeader,
  safetensorsHeaderEnd,
  writeSafetensors,
  type TensorToWrite,
} from './safetensors';

/** Build a file from a header object and raw data, the way a foreign writer might. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function expectCode(f: () => unknown, code: string, tensor?: string): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).code).toBe(code);
    if (tensor !== undefined) {
      expect((e as SafetensorsError).tensor).toBe(tensor);
      expect((e as Error).message).toContain(tensor);
    }
    return e as SafetensorsError;
  }
  throw new Error(`expected a SafetensorsError with code ${code}`);
}

/** mulberry32: a tiny seeded PRNG so the fuzz cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('float16 conversion', () => {
  it('encodes edge values exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // largest finite half
      [65520, 0x7c00], // halfway to 2^16 rounds (to even) up to Inf
      [65519.99, 0x7bff],
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [Infinity, 0x7c00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // exactly half of it: ties to even -> 0
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: ties to even -> 2
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: even is 1
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9: even is the upper
      [1e-10, 0x0000],
    ];
    for (const [x, bits] of cases) expect(float32ToFloat16Bits(x), `encode ${x}`).toBe(bits);
    const nan = float32ToFloat16Bits(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
  });

  it('round-trips every half and rounds every midpoint to even', () => {
    // Collect failures instead of 200k expect() calls: same check, a fraction of the time.
    const failures: string[] = [];
    const check = (x: number, want: number) => {
      const got = float32ToFloat16Bits(x);
      if (got !== want) failures.push(`${x} -> 0x${got.toString(16)}, want 0x${want.toString(16)}`);
    };
    const f = new Float32Array(3);
    const u = new Uint32Array(f.buffer);
    for (let h = 0; h < 0x7c00; h++) {
      check(float16BitsToFloat32(h), h);
      check(float16BitsToFloat32(h | 0x8000), h | 0x8000);
      // h = 0x7bff: the next "half" is Inf, and the tie point is 65520.
      const mid = h === 0x7bff ? 65520 : (float16BitsToFloat32(h) + float16BitsToFloat32(h + 1)) / 2;
      f[0] = mid;
      if (f[0] !== mid) failures.push(`midpoint ${mid} not exact in float32`);
      check(mid, (h & 1) === 0 ? h : h + 1);
      // The next float32 either side of the tie rounds away from it.
      u[1] = u[0] + 1;
      u[2] = u[0] - 1;
      check(f[1], h + 1);
      if (h > 0) check(f[2], h);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});

describe('safetensors', () => {
  it('reads bytes written by hand', () => {
    const data = new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const file = rawFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'I64', shape: [1, 1], data_offsets: [8, 16] },
        __metadata__: { k: 'v' },
      },
      data,
    );
    const { tensors, metadata } = parseSafetensors(file);
    expect([...tensors.keys()]).toEqual(['a', 'b']);
    expect(tensors.get('a')).toEqual({ dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) });
    expect(tensors.get('b')).toEqual({ dtype: 'I64', shape: [1, 1], data: new Int32Array([-2]) });
    expect({ ...metadata }).toEqual({ k: 'v' });
  });

  it('writes exactly the expected bytes', () => {
    const bytes = writeSafetensors(
      {
        a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) },
        b: { dtype: 'I64', shape: [1], data: new Int32Array([-2]) },
      },
      { k: 'v' },
    );
    const header =
      '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}   '; // 133 bytes padded to 136
    const expected = [
      ...[136, 0, 0, 0, 0, 0, 0, 0],
      ...new TextEncoder().encode(header),
      ...[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0],
      ...[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ];
    expect([...bytes]).toEqual(expected);
  });

  it('round-trips every dtype', () => {
    const f = new Float32Array([0, -0, 1.5, -3.25, 1e-3, 65504, 7e-8, 1e30, Infinity, -Infinity, NaN, 0.1]);
    const tensors: Record<string, TensorToWrite> = {
      f32: { dtype: 'F32', shape: [3, 4], data: f },
      f16: { dtype: 'F16', shape: [12], data: f },
      i32: { dtype: 'I32', shape: [2, 2], data: new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31)]) },
      i64: { dtype: 'I64', shape: [3], data: new Int32Array([5, -(2 ** 31), 2 ** 31 - 1]) },
      i64big: { dtype: 'I64', shape: [2], data: new BigInt64Array([7n, -9n]) },
      empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
    };
    const { tensors: back, metadata } = parseSafetensors(writeSafetensors(tensors, { a: 'b', ü: '{"x":1}' }));
    expect({ ...metadata }).toEqual({ a: 'b', ü: '{"x":1}' });
    expect(back.get('f32')!.data).toEqual(f);
    const f16 = back.get('f16')!.data;
    const expected16 = [
      0,
      -0,
      1.5,
      -3.25,
      float16BitsToFloat32(float32ToFloat16Bits(1e-3)),
      65504,
      2 ** -24 /* 7e-8 */,
    ];
    for (let i = 0; i < expected16.length; i++) expect(Object.is(f16[i], expected16[i]), `f16[${i}]`).toBe(true);
    expect([...f16.slice(7, 10)]).toEqual([Infinity, Infinity, -Infinity]);
    expect(f16[10]).toBeNaN();
    expect(Math.abs(f16[11] - 0.1)).toBeLessThan(1e-4);
    expect(back.get('i32')!.data).toEqual(new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31)]));
    expect(back.get('i64')!.data).toEqual(new Int32Array([5, -(2 ** 31), 2 ** 31 - 1]));
    expect(back.get('i64big')!.data).toEqual(new Int32Array([7, -9]));
    expect(back.get('empty')!.shape).toEqual([0, 3]);
    expect(back.get('scalar')!.data).toEqual(new Float32Array([42]));
  });

  it('reads BF16 and works from an ArrayBuffer and an unaligned view', () => {
    const data = new Uint8Array([0x80, 0x3f, 0xc0, 0xbf]); // 1.0, -1.5
    const file = rawFile({ x: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, data);
    const padded = new Uint8Array(file.byteLength + 3);
    padded.set(file, 3);
    for (const input of [file.buffer, padded.subarray(3)]) {
      expect(parseSafetensors(input as ArrayBuffer | Uint8Array).tensors.get('x')!.data).toEqual(
        new Float32Array([1, -1.5]),
      );
    }
  });

  it('validates a big file from its header alone', () => {
    const file = writeSafetensors({ w: { dtype: 'F32', shape: [1000], data: new Float32Array(1000) } });
    const end = safetensorsHeaderEnd(file.subarray(0, 8), file.byteLength);
    const header = parseSafetensorsHeader(file.subarray(0, end), file.byteLength);
    expect(header.tensors.get('w')).toEqual({ dtype: 'F32', shape: [1000], dataOffsets: [0, 4000] });
    expect(header.dataLength).toBe(4000);
    expectCode(() => parseSafetensorsHeader(file.subarray(0, end), file.byteLength - 4), 'bad-offsets', 'w');
  });

  it('rejects each kind of malformed file with its own code', () => {
    const t = (over: object = {}) => ({ dtype: 'F32', shape: [2], data_offsets: [0, 8], ...over });
    const d8 = new Uint8Array(8);
    expectCode(() => parseSafetensors(new Uint8Array(5)), 'truncated');
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 200_000_000n, true);
    expectCode(() => parseSafetensors(huge), 'header-too-large');
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    expectCode(() => parseSafetensors(huge), 'header-too-large');
    new DataView(huge.buffer).setBigUint64(0, 9n, true);
    expectCode(() => parseSafetensors(huge), 'truncated');
    expectCode(() => parseSafetensors(rawFile(null, d8, '{"a": ')), 'header-not-json');
    const badUtf8 = rawFile(null, new Uint8Array(0), '{"a":"xx"}');
    badUtf8[14] = 0xff;
    expectCode(() => parseSafetensors(badUtf8), 'header-not-json');
    expectCode(() => parseSafetensors(rawFile([1, 2])), 'header-not-object');
    expectCode(() => parseSafetensors(rawFile(null, d8, 'null')), 'header-not-object');
    expectCode(() => parseSafetensors(rawFile({ a: 3 }, d8)), 'bad-entry', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ extra: 1 }) }, d8)), 'bad-entry', 'a');
    expect(
      expectCode(() => parseSafetensors(rawFile({ a: t({ dtype: 'F64' }) }, d8)), 'unknown-dtype', 'a').message,
    ).toContain('not supported');
    expectCode(() => parseSafetensors(rawFile({ a: t({ dtype: 'Q4' }) }, d8)), 'unknown-dtype', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ shape: [-2] }) }, d8)), 'bad-shape', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ shape: [1.5] }) }, d8)), 'bad-shape', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ shape: '2' }) }, d8)), 'bad-shape', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ shape: [2 ** 40, 2 ** 40] }) }, d8)), 'bad-shape', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ data_offsets: [8, 0] }) }, d8)), 'bad-offsets', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ data_offsets: [0, 8, 9] }) }, d8)), 'bad-offsets', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ data_offsets: [8, 16] }) }, d8)), 'bad-offsets', 'a');
    expectCode(() => parseSafetensors(rawFile({ a: t({ shape: [3] }) }, d8)), 'size-mismatch', 'a');
    const two = { a: t(), b: t({ data_offsets: [4, 12] }) };
    expectCode(() => parseSafetensors(rawFile(two, new Uint8Array(12))), 'overlap', 'b');
    const gap = { a: t(), b: t({ data_offsets: [12, 20] }) };
    expectCode(() => parseSafetensors(rawFile(gap, new Uint8Array(20))), 'unexplained-bytes', 'b');
    expectCode(() => parseSafetensors(rawFile({ a: t() }, new Uint8Array(9))), 'unexplained-bytes');
    expectCode(() => parseSafetensors(rawFile({ __metadata__: { n: 1 } })), 'bad-metadata');
    expectCode(() => parseSafetensors(rawFile({ __metadata__: ['x'] })), 'bad-metadata');
    const big = new Uint8Array(8);
    new DataView(big.buffer).setBigInt64(0, 2n ** 40n, true);
    expectCode(
      () => parseSafetensors(rawFile({ i: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big)),
      'int64-out-of-range',
      'i',
    );
  });

  it('refuses to write what it cannot represent', () => {
    expectCode(
      () => writeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }),
      'bad-input',
      'a',
    );
    expectCode(
      () => writeSafetensors({ a: { dtype: 'I32', shape: [2], data: new Float32Array(2) as unknown as Int32Array } }),
      'bad-input',
      'a',
    );
    expectCode(
      () => writeSafetensors({ __metadata__: { dtype: 'F32', shape: [0], data: new Float32Array(0) } }),
      'bad-input',
    );
    expectCode(() => writeSafetensors({}, { n: 3 as unknown as string }), 'bad-input');
  });

  it('keeps a tensor named __proto__ an ordinary tensor', () => {
    const back = parseSafetensors(
      writeSafetensors({ ['__proto__']: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } }),
    );
    expect(back.tensors.get('__proto__')!.data).toEqual(new Float32Array([3]));
  });

  it('fuzz: truncated and mutated files only ever raise SafetensorsError', () => {
    const random = rng(12345);
    const base = writeSafetensors(
      {
        w: { dtype: 'F32', shape: [4, 3], data: new Float32Array(12).map((_, i) => i - 5) },
        h: { dtype: 'F16', shape: [5], data: new Float32Array([1, 2, 3, 4, 5]) },
        l: { dtype: 'I64', shape: [3], data: new Int32Array([1, 2, 3]) },
        s: { dtype: 'I32', shape: [2, 1], data: new Int32Array([7, 8]) },
      },
      { format: 'fuzz', config: '{"a":[1,2,3]}' },
    );
    const headerEnd = safetensorsHeaderEnd(base);
    const int = (n: number) => Math.floor(random() * n);
    const outcomes = { ok: 0, failed: 0 };
    const codes = new Set<string>();
    for (let i = 0; i < 800; i++) {
      let file = base.slice();
      switch (i % 5) {
        case 0: // truncation
          file = file.slice(0, int(file.byteLength));
          break;
        case 1: // a few bytes of the header changed
          for (let k = 0; k < 1 + int(3); k++) file[8 + int(headerEnd - 8)] = int(256);
          break;
        case 2: // a few bytes of the data changed
          for (let k = 0; k < 1 + int(4); k++) file[headerEnd + int(file.byteLength - headerEnd)] = int(256);
          break;
        case 3: {
          // header length changed: small shifts and arbitrary values
          const view = new DataView(file.buffer);
          if (random() < 0.5) view.setUint32(0, headerEnd - 8 + int(21) - 10, true);
          else file[int(8)] = int(256);
          break;
        }
        case 4: {
          // bytes inserted or deleted anywhere
          const at = int(file.byteLength);
          const n = 1 + int(8);
          file =
            random() < 0.5
              ? new Uint8Array([
                  ...file.subarray(0, at),
                  ...new Uint8Array(n).map(() => int(256)),
                  ...file.subarray(at),
                ])
              : new Uint8Array([...file.subarray(0, at), ...file.subarray(at + n)]);
          break;
        }
      }
      try {
        parseSafetensors(file);
        outcomes.ok++;
      } catch (e) {
        if (!(e instanceof FormatError))
          throw new Error(`fuzz case ${i} raised a non-format error: ${String(e)}`, { cause: e });
        outcomes.failed++;
        codes.add(e.code);
      }
    }
    expect(outcomes.failed).toBeGreaterThan(400);
    expect(outcomes.ok).toBeGreaterThan(0); // data-only mutations leave valid files
    expect(codes.size).toBeGreaterThan(5);
  });
});
