import { describe, expect, it } from 'vitest';
import { alphasCumprod, betas, SD_SCHEDULE } from './schedule';

function expectRel(actual: number, expected: number, tol = 1e-4) {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(tol);
}

describe('noise schedules', () => {
  it('scaled_linear(0.00085, 0.012) matches diffusers / Stable Diffusion', () => {
    const a = alphasCumprod(SD_SCHEDULE);
    expectRel(a[0], 0.99915);
    expectRel(a[249], 0.675432);
    expectRel(a[499], 0.27767);
    expectRel(a[749], 0.0566235);
    expectRel(a[999], 0.0046601);
  });

  it('linear(1e-4, 0.02) matches DDPM', () => {
    const a = alphasCumprod({ kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 });
    expectRel(a[0], 0.9999);
    expectRel(a[999], 4.0358e-5);
  });

  it('squaredcos_cap_v2 telescopes to f(t+1)/f(0) (Nichol & Dhariwal eq. 17) until the 0.999 cap', () => {
    const T = 1000;
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    const cfg = { kind: 'squaredcos_cap_v2' as const, betaStart: 0, betaEnd: 0, trainSteps: T };
    const a = alphasCumprod(cfg);
    for (const t of [0, 249, 499, 749, 998]) expectRel(a[t], f(t + 1) / f(0), 1e-9);
    // The last beta is 1 - f(T)/f(T-1) = 1, capped at 0.999.
    expect(betas(cfg)[999]).toBe(0.999);
    expectRel(a[999], (f(999) / f(0)) * 0.001, 1e-9);
    expectRel(a[499], 0.4938435904406382, 1e-9);
  });
});
