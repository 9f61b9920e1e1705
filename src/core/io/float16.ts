/**
 * IEEE 754 half and bfloat16 <-> float32, by hand: Node 20 has no Float16Array.
 * Encoding rounds to nearest, ties to even (what numpy and PyTorch do), overflows to +-Inf,
 * keeps NaN a (quiet) NaN and produces subnormals below 2^-14.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The 16 bits of the half nearest to `x` (ties to even). */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Half subnormal: value = m * 2^-24. Below half the smallest subnormal everything rounds to 0.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is exactly right (up to Inf).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let decodeTable: Float32Array | undefined;

/** Decode halves through a 65536-entry table (256 KB, built on first use): shards hold millions of them. */
export function float16ToFloat32Array(halves: Uint16Array): Float32Array {
  if (!decodeTable) {
    decodeTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) decodeTable[h] = float16BitsToFloat32(h);
  }
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = decodeTable[halves[i]];
  return out;
}

export function float32ToFloat16Array(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

/** bfloat16 is the top half of a float32, so decoding is exact. */
export function bfloat16ToFloat32Array(bf: Uint16Array): Float32Array {
  const out = new Uint32Array(bf.length);
  for (let i = 0; i < bf.length; i++) out[i] = bf[i] << 16;
  return new Float32Array(out.buffer);
}
