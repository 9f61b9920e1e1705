/**
 * Seeded randomness that is identical in Node and the browser on any tfjs backend: plain integer
 * arithmetic (mulberry32) and Box-Muller in float64, rounded once to float32. tf.randomNormal's seed is
 * not used for anything that must reproduce, since each backend draws differently.
 * (Math.log/cos/sin are V8's fdlibm ports in both Node and Chromium, so the normals match bit for bit there.)
 */

/** mulberry32: a tiny 32-bit PRNG, uniform output in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normals from one seed (Box-Muller, both outputs of each pair used). */
export function gaussian(seed: number, n: number): Float32Array {
  const uniform = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform())); // 1 - u is in (0, 1]: log stays finite
    const phi = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(phi);
    if (i + 1 < n) out[i + 1] = r * Math.sin(phi);
  }
  return out;
}

/**
 * Normals for a batch, sample i drawn from seeds[i] alone: a sample's noise does not depend on the
 * batch size or its position in the batch, so any sample can be regenerated from its seed.
 */
export function gaussianBatch(seeds: ArrayLike<number>, perSample: number): Float32Array {
  const out = new Float32Array(seeds.length * perSample);
  for (let i = 0; i < seeds.length; i++) out.set(gaussian(seeds[i], perSample), i * perSample);
  return out;
}
