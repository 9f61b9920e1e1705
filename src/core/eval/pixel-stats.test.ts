import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../node/mnist';
import { MNIST_PIXEL_STATS, pixelStats, pixelStatsByClass } from './pixel-stats';

const blank = (n: number) => new Float32Array(n * 28 * 28).fill(-1);

describe('pixelStats', () => {
  it('reads a blank image as all background and counts single border and interior pixels exactly', () => {
    const img = blank(1);
    expect(pixelStats(img, MNIST_PIXEL_STATS)).toMatchObject({
      meanIntensity: -1,
      inkShare: 0,
      borderBright: 0,
      borderEnergy: 0,
    });
    img[0] = 1; // corner: border, ink, bright
    img[14 * 28 + 14] = 0.5; // centre: ink, not border
    img[2 * 28 + 14] = -0.6; // top band: border, neither ink nor bright
    const s = pixelStats(img, MNIST_PIXEL_STATS);
    const borderPixels = 28 * 28 - 20 * 20;
    expect(s.inkShare).toBeCloseTo(2 / 784, 10);
    expect(s.borderBright).toBeCloseTo(1 / borderPixels, 10);
    expect(s.borderEnergy).toBeCloseTo((4 + 0.16) / borderPixels, 6);
    expect(s.meanIntensity).toBeCloseTo((-784 + 2 + 1.5 + 0.4) / 784, 6);
    expect([s.min, s.max]).toEqual([-1, 1]);
  });

  it('splits by class and refuses mismatched inputs', () => {
    const imgs = blank(3);
    imgs.fill(1, 784, 2 * 784); // image 1 all white
    const { all, perClass } = pixelStatsByClass(imgs, [0, 1, 0], 3, MNIST_PIXEL_STATS);
    expect(all.count).toBe(3);
    expect(perClass.map((p) => p.count)).toEqual([2, 1, 0]);
    expect(perClass[1].inkShare).toBe(1);
    expect(perClass[0].inkShare).toBe(0);
    expect(perClass[2].meanIntensity).toBeNaN();
    expect(() => pixelStatsByClass(imgs, [0, 1], 3, MNIST_PIXEL_STATS)).toThrow(/2 labels for 3 images/);
    expect(() => pixelStats(new Float32Array(100), MNIST_PIXEL_STATS)).toThrow(/whole 28x28/);
  });

  it('describes the real MNIST test digits: dark background, about 13% ink, about 1% bright border pixels', () => {
    const test = loadMnist('test');
    const { all, perClass } = pixelStatsByClass(test.images, test.labels, 10, MNIST_PIXEL_STATS);
    expect(all.count).toBe(test.count);
    expect(all.meanIntensity).toBeGreaterThan(-0.76);
    expect(all.meanIntensity).toBeLessThan(-0.71);
    expect(all.inkShare).toBeGreaterThan(0.12);
    expect(all.inkShare).toBeLessThan(0.15);
    expect(all.borderBright).toBeGreaterThan(0.005);
    expect(all.borderBright).toBeLessThan(0.02);
    expect([all.min, all.max]).toEqual([-1, 1]);
    // Ones are the thinnest digits and zeros the widest.
    const ink = perClass.map((p) => p.inkShare);
    expect(Math.min(...ink)).toBe(ink[1]);
    expect(Math.max(...ink)).toBe(ink[0]);
  });
});
