/**
 * Pixel statistics of a set of images, beside FID and class accuracy: FID says how far samples
 * are from real digits, these say in which way (too bright, too much ink, a speckled background).
 * Images are single-channel, row-major, with the data range's low end (-1) as background.
 */

export interface PixelStats {
  count: number;
  /** Mean pixel value. */
  meanIntensity: number;
  /** Share of pixels above the middle of the range (0): the strokes. */
  inkShare: number;
  /** Share of the pixels within `border` px of the edge brighter than -0.5: speckle where digits rarely reach. */
  borderBright: number;
  /** Mean of (x - background)^2 over the border pixels: how much signal sits off the background there. */
  borderEnergy: number;
  min: number;
  max: number;
}

export interface PixelStatsOptions {
  /** Image side in pixels (square images). */
  size: number;
  /** Width of the edge band, in pixels. */
  border: number;
  /** The background level (the data range's low end). */
  background: number;
}

export const MNIST_PIXEL_STATS: PixelStatsOptions = { size: 28, border: 4, background: -1 };

const INK = 0;
const BRIGHT = -0.5;

/** Statistics over the images whose index passes `keep` (all by default). */
export function pixelStats(
  images: Float32Array,
  opts: PixelStatsOptions,
  keep: (index: number) => boolean = () => true,
): PixelStats {
  const { size, border, background } = opts;
  const px = size * size;
  if (images.length % px !== 0)
    throw new Error(`pixelStats: ${images.length} values are not whole ${size}x${size} images`);
  if (2 * border >= size) throw new Error(`pixelStats: a ${border}-px border leaves no interior in ${size}x${size}`);
  let count = 0;
  let sum = 0;
  let ink = 0;
  let bright = 0;
  let energy = 0;
  let borderPixels = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < images.length / px; k++) {
    if (!keep(k)) continue;
    count++;
    for (let y = 0; y < size; y++) {
      const edgeRow = y < border || y >= size - border;
      for (let x = 0; x < size; x++) {
        const v = images[k * px + y * size + x];
        sum += v;
        if (v > INK) ink++;
        if (v < min) min = v;
        if (v > max) max = v;
        if (edgeRow || x < border || x >= size - border) {
          borderPixels++;
          if (v > BRIGHT) bright++;
          energy += (v - background) ** 2;
        }
      }
    }
  }
  const n = count * px;
  return {
    count,
    meanIntensity: n ? sum / n : NaN,
    inkShare: n ? ink / n : NaN,
    borderBright: borderPixels ? bright / borderPixels : NaN,
    borderEnergy: borderPixels ? energy / borderPixels : NaN,
    min,
    max,
  };
}

/** Statistics of all images, then of each class 0..numClasses-1. */
export function pixelStatsByClass(
  images: Float32Array,
  labels: ArrayLike<number>,
  numClasses: number,
  opts: PixelStatsOptions,
): { all: PixelStats; perClass: PixelStats[] } {
  const n = images.length / (opts.size * opts.size);
  if (labels.length !== n) throw new Error(`pixelStatsByClass: ${labels.length} labels for ${n} images`);
  return {
    all: pixelStats(images, opts),
    perClass: Array.from({ length: numClasses }, (_, c) => pixelStats(images, opts, (k) => labels[k] === c)),
  };
}
