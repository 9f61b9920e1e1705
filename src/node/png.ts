/**
 * 8-bit greyscale or RGB PNG encoding (PNG spec, ISO/IEC 15948) with node:zlib: signature, IHDR,
 * one IDAT of deflated scanlines (filter type 0), IEND. Enough for sample grids; no dependency.
 */
import { deflateSync } from 'node:zlib';
import type { RasterImage } from '../core/grid';
import { crc32 } from '../core/io/crc32';

export { crc32 };

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG colour types: 0 = greyscale, 2 = truecolour. */
const COLOR_TYPE: Record<number, number> = { 1: 0, 3: 2 };

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function encodePng(image: RasterImage): Uint8Array {
  const { width, height, channels, pixels } = image;
  const colorType = COLOR_TYPE[channels];
  if (colorType === undefined) throw new RangeError(`PNG encoding needs 1 (grey) or 3 (RGB) channels, got ${channels}`);
  if (!(width > 0 && height > 0) || pixels.length !== width * height * channels) {
    throw new RangeError(`${pixels.length} bytes for a ${width}x${height}x${channels} image`);
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, colorType, 0, 0, 0], 8); // bit depth, colour type, compression, filter, interlace
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
