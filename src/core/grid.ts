/**
 * Sample grids: K images (NHWC floats in the model's data range) tiled row by row into one 8-bit
 * image with a `gap`-pixel separator between tiles. Callers order samples class by class and set
 * `columns` to the samples per class, so each row shows one class.
 */

/** An 8-bit image, row-major, channels interleaved (1 = grey, 3 = RGB). */
export interface RasterImage {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

export interface GridOptions {
  /** Size of one sample. */
  height: number;
  width: number;
  channels: number;
  /** Tiles per row. */
  columns: number;
  /** The data range [low, high], mapped to 0..255 (values outside are clamped). */
  range: readonly [number, number];
  /** Separator width in pixels (default 1). */
  gap?: number;
  /** Separator value 0..255 (default 128: visible beside both black and white digits). */
  gapValue?: number;
}

/** A grid request that does not fit its data. */
export class GridError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GridError';
  }
}

export function tileGrid(samples: Float32Array, opts: GridOptions): RasterImage {
  const { height: h, width: w, channels: c, columns } = opts;
  const gap = opts.gap ?? 1;
  const perImage = h * w * c;
  if (perImage === 0 || samples.length % perImage !== 0) {
    throw new GridError(`${samples.length} values are not a whole number of ${h}x${w}x${c} samples`);
  }
  if (!Number.isInteger(columns) || columns < 1) throw new GridError(`columns must be a positive integer: ${columns}`);
  const [lo, hi] = opts.range;
  if (!(hi > lo)) throw new GridError(`data range [${lo}, ${hi}] must have low < high`);
  const count = samples.length / perImage;
  const rows = Math.max(1, Math.ceil(count / columns));
  const width = columns * w + (columns - 1) * gap;
  const height = rows * h + (rows - 1) * gap;
  const pixels = new Uint8Array(width * height * c).fill(opts.gapValue ?? 128);
  const scale = 255 / (hi - lo);
  for (let k = 0; k < count; k++) {
    const x0 = (k % columns) * (w + gap);
    const y0 = Math.floor(k / columns) * (h + gap);
    for (let y = 0; y < h; y++) {
      const src = k * perImage + y * w * c;
      const dst = ((y0 + y) * width + x0) * c;
      for (let i = 0; i < w * c; i++) {
        pixels[dst + i] = Math.min(255, Math.max(0, Math.round((samples[src + i] - lo) * scale)));
      }
    }
  }
  return { width, height, channels: c, pixels };
}
