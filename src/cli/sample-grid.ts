/** Writes sample panels side by side (left to right) as one PNG; each panel one row per class. */
import { writeFile } from 'node:fs/promises';
import { tileGrid, type RasterImage } from '../core/grid';
import type { SamplingConfig } from '../core/model-config';
import { encodePng } from '../node/png';

export interface Panel {
  /** For the console; PNGs carry no text. */
  title: string;
  /** NHWC samples in the data range, ordered class by class. */
  data: Float32Array;
  count: number;
}

const PANEL_GAP = 6;

export async function writeSampleGrid(
  path: string,
  model: SamplingConfig,
  panels: Panel[],
  perClass: number,
): Promise<void> {
  const { height, width, channels, range } = model.data;
  const images = panels.map((p) => tileGrid(p.data, { height, width, channels, columns: perClass, range }));
  await writeFile(path, encodePng(sideBySide(images)));
  console.error(`${path}: ${panels.map((p) => p.title).join(' | ')}`);
}

function sideBySide(images: RasterImage[]): RasterImage {
  const channels = images[0].channels;
  const height = Math.max(...images.map((i) => i.height));
  const width = images.reduce((a, i) => a + i.width, 0) + PANEL_GAP * (images.length - 1);
  const pixels = new Uint8Array(width * height * channels).fill(255);
  let x0 = 0;
  for (const img of images) {
    for (let y = 0; y < img.height; y++) {
      const row = img.pixels.subarray(y * img.width * channels, (y + 1) * img.width * channels);
      pixels.set(row, (y * width + x0) * channels);
    }
    x0 += img.width + PANEL_GAP;
  }
  return { width, height, channels, pixels };
}
