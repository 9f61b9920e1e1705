/**
 * Sample grids as GridImages for the page: tiles from core/grid (rows = classes, 1-px gap, the
 * data range mapped to 0..255) expanded to RGBA, ready for ImageData.
 */
import { tileGrid } from '../core/grid';
import type { AnyModelConfig } from '../core/model-config';
import type { GridImage } from './protocol';

/** `samples` NHWC floats in the model's data range, ordered class by class, `columns` per class. */
export function gridImage(samples: Float32Array, model: AnyModelConfig, columns: number): GridImage {
  const { height, width, channels, range } = model.data;
  const raster = tileGrid(samples, { height, width, channels, columns, range });
  const n = raster.width * raster.height;
  const rgba = new Uint8ClampedArray(n * 4);
  const px = raster.pixels;
  for (let i = 0; i < n; i++) {
    if (raster.channels === 1) {
      rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = px[i];
    } else {
      // RGB data as is; any other channel count shows its first channel as grey.
      const c = raster.channels;
      rgba[4 * i] = px[c * i];
      rgba[4 * i + 1] = px[c * i + (c >= 3 ? 1 : 0)];
      rgba[4 * i + 2] = px[c * i + (c >= 3 ? 2 : 0)];
    }
    rgba[4 * i + 3] = 255;
  }
  return { width: raster.width, height: raster.height, rgba };
}
