import { describe, expect, it } from 'vitest';
import { transferablesOf } from './events';

describe('transferablesOf', () => {
  it('finds the buffers of grids, file bytes and nested images, and nothing in arrays of metrics', () => {
    const a = new Uint8ClampedArray(4);
    const b = new Uint8ClampedArray(4);
    const bytes = new ArrayBuffer(8);
    expect(transferablesOf({ runId: 'r', iteration: 1, student: { rgba: a }, teacher: { rgba: b } })).toEqual([
      a.buffer,
      b.buffer,
    ]);
    expect(transferablesOf({ fileName: 'x', bytes })).toEqual([bytes]);
    expect(transferablesOf({ image: { width: 1, height: 1, rgba: a }, msPerImage: 1 })).toEqual([a.buffer]);
    expect(transferablesOf({ runId: 'r', events: [{ iteration: 1 }] })).toEqual([]);
  });
});
