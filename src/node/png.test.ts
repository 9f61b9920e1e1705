import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng } from './png';

interface Chunk {
  type: string;
  data: Uint8Array;
}

/** Splits a PNG into chunks, checking each CRC. */
function chunks(png: Uint8Array): Chunk[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    expect(view.getUint32(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    out.push({ type, data });
    at += 12 + length;
  }
  return out;
}

describe('encodePng', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  for (const [channels, colorType] of [
    [1, 0],
    [3, 2],
  ]) {
    it(`round-trips a ${channels}-channel image through IHDR and inflated IDAT`, () => {
      const [width, height] = [5, 3];
      const pixels = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37) % 256);
      const png = encodePng({ width, height, channels, pixels });
      expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const parts = chunks(png);
      expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
      const ihdr = new DataView(parts[0].data.buffer, parts[0].data.byteOffset, 13);
      expect([ihdr.getUint32(0), ihdr.getUint32(4)]).toEqual([width, height]);
      expect(Array.from(parts[0].data.subarray(8))).toEqual([8, colorType, 0, 0, 0]);
      const raw = inflateSync(parts[1].data);
      const stride = width * channels;
      expect(raw.length).toBe(height * (stride + 1));
      for (let y = 0; y < height; y++) {
        expect(raw[y * (stride + 1)]).toBe(0);
        expect(Array.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)))).toEqual(
          Array.from(pixels.subarray(y * stride, (y + 1) * stride)),
        );
      }
    });
  }

  it('rejects channel counts PNG cannot hold and mismatched sizes', () => {
    expect(() => encodePng({ width: 1, height: 1, channels: 2, pixels: new Uint8Array(2) })).toThrow(RangeError);
    expect(() => encodePng({ width: 2, height: 2, channels: 1, pixels: new Uint8Array(3) })).toThrow(RangeError);
  });
});
