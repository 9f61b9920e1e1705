import { describe, expect, it } from 'vitest';
import { GridError, tileGrid } from './grid';

describe('tileGrid', () => {
  it('tiles row by row with a 1-px gap, mapping the data range to 0..255 and clamping', () => {
    // Three 2x2 grey samples of constant value, 2 columns: 2 rows, the last tile left as gap colour.
    const values = [-1, 0, 1];
    const samples = Float32Array.from(values.flatMap((v) => [v, v, v, v]));
    samples[8] = 7; // out of range: clamps to 255
    const img = tileGrid(samples, { height: 2, width: 2, channels: 1, columns: 2, range: [-1, 1] });
    expect([img.width, img.height, img.channels]).toEqual([5, 5, 1]);
    const at = (x: number, y: number) => img.pixels[y * img.width + x];
    expect([at(0, 0), at(1, 1), at(3, 0), at(4, 1), at(0, 3), at(1, 4)]).toEqual([0, 0, 128, 128, 255, 255]);
    expect([at(2, 0), at(0, 2), at(4, 2), at(3, 3), at(4, 4)]).toEqual([128, 128, 128, 128, 128]);
  });

  it('keeps RGB channels interleaved', () => {
    const samples = Float32Array.from([0, 0.5, 1, 1, 0.5, 0]); // one 1x2 RGB sample
    const img = tileGrid(samples, { height: 1, width: 2, channels: 3, columns: 1, range: [0, 1] });
    expect(Array.from(img.pixels)).toEqual([0, 128, 255, 255, 128, 0]);
  });

  it('rejects data that is not whole samples', () => {
    expect(() =>
      tileGrid(new Float32Array(5), { height: 2, width: 2, channels: 1, columns: 1, range: [0, 1] }),
    ).toThrow(GridError);
  });
});
