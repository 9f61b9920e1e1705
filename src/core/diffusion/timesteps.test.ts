import { describe, expect, it } from 'vitest';
import { rapmGrids, TimestepGridError, timesteps } from './timesteps';

// Expected grids were produced with diffusers' own numpy expressions (numpy 2.4); an exhaustive
// comparison over T in {50, 1000, 1024} and every step count matched.
describe('timesteps (diffusers timestep_spacing)', () => {
  it('trailing', () => {
    expect(timesteps(1000, 4, 'trailing')).toEqual([999, 749, 499, 249]);
    expect(timesteps(1000, 3, 'trailing')).toEqual([999, 666, 332]);
    expect(timesteps(1000, 7, 'trailing')).toEqual([999, 856, 713, 570, 428, 285, 142]);
    const t32 = timesteps(1000, 32, 'trailing');
    expect(t32.slice(0, 12)).toEqual([999, 968, 937, 905, 874, 843, 811, 780, 749, 718, 687, 655]);
    expect(t32).toHaveLength(32);
    expect(t32[31]).toBe(30);
    for (const t of [749, 499, 249]) expect(t32).toContain(t);
  });

  it('trailing keeps exactly n steps where np.arange would append a spurious -1', () => {
    const t = timesteps(1000, 61, 'trailing');
    expect(t).toHaveLength(61);
    expect(t[0]).toBe(999);
    expect(Math.min(...t)).toBeGreaterThanOrEqual(0);
  });

  it('leading, with and without steps_offset', () => {
    expect(timesteps(1000, 10, 'leading')).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(timesteps(1000, 10, 'leading', 1)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(timesteps(1000, 7, 'leading')).toEqual([852, 710, 568, 426, 284, 142, 0]);
  });

  it('linspace', () => {
    expect(timesteps(1000, 10, 'linspace')).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    expect(timesteps(1000, 7, 'linspace')).toEqual([999, 832, 666, 500, 333, 166, 0]);
    expect(timesteps(1000, 1, 'linspace')).toEqual([0]);
  });

  it('rejects impossible requests with a typed error', () => {
    expect(() => timesteps(1000, 0, 'trailing')).toThrow(TimestepGridError);
    expect(() => timesteps(1000, 1001, 'trailing')).toThrow(TimestepGridError);
    expect(() => timesteps(1000, 10, 'leading', 100)).toThrow(TimestepGridError);
  });
});

describe('rapmGrids', () => {
  it('N=4, M=8: coarse trailing grid sits inside the 32-step fine grid', () => {
    const g = rapmGrids(1000, 4, 8);
    expect(g.coarse).toEqual([999, 749, 499, 249]);
    expect(g.fine).toHaveLength(32);
    expect(g.coarseIndex).toEqual([0, 8, 16, 24]);
    expect(g.coarseIndex.map((i) => g.fine[i])).toEqual(g.coarse);
    expect(g.coarseIndex.map((i) => g.fine[i + 1])).toEqual([968, 718, 468, 218]);
  });

  it('throws when rounding puts a coarse boundary off the fine grid', () => {
    // 1000/16 = 62.5 rounds to 938 - 1 = 937 on the coarse grid but 936 on the 48-step grid.
    expect(() => rapmGrids(1000, 16, 3)).toThrow(TimestepGridError);
    expect(() => rapmGrids(1000, 4, 0)).toThrow(TimestepGridError);
  });
});
