import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../core/model-config';
import { gridImage } from './images';

const model = (channels: number) =>
  ({ data: { channels, height: 2, width: 2, range: [-1, 1] } }) as unknown as ModelConfig;

describe('gridImage', () => {
  it('tiles samples row by row with a 1-px gap and maps the data range to grey', () => {
    // 4 samples of 2x2, 2 per row: rows = classes.
    const samples = Float32Array.from([-1, -1, -1, -1, 1, 1, 1, 1, 0, 0, 0, 0, 2, -2, 1, -1]);
    const img = gridImage(samples, model(1), 2);
    expect([img.width, img.height]).toEqual([5, 5]);
    expect(img.rgba.length).toBe(5 * 5 * 4);
    const at = (x: number, y: number) => Array.from(img.rgba.subarray((y * 5 + x) * 4, (y * 5 + x) * 4 + 4));
    expect(at(0, 0)).toEqual([0, 0, 0, 255]);
    expect(at(3, 0)).toEqual([255, 255, 255, 255]);
    expect(at(2, 0)).toEqual([128, 128, 128, 255]); // gap
    expect(at(0, 3)).toEqual([128, 128, 128, 255]); // 0 -> mid grey
    expect(at(3, 3)).toEqual([255, 255, 255, 255]); // 2 clamps to white
    expect(at(4, 3)).toEqual([0, 0, 0, 255]); // -2 clamps to black
  });

  it('keeps RGB samples in colour', () => {
    const img = gridImage(
      Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 1 : -1)),
      model(3),
      1,
    );
    expect(Array.from(img.rgba.subarray(0, 4))).toEqual([255, 0, 0, 255]);
  });
});
