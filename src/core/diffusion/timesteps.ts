/**
 * Inference timesteps with the exact semantics of diffusers' `timestep_spacing` (DDIMScheduler.set_timesteps),
 * including numpy's round-half-to-even and np.arange/np.linspace float arithmetic, so a grid here is the grid
 * diffusers builds for the same settings. Grids are descending integers in [0, trainSteps).
 */
export type TimestepSpacing = 'trailing' | 'leading' | 'linspace';

/** A grid request the spacing cannot satisfy (too many steps, N*M grid missing a coarse boundary, ...). */
export class TimestepGridError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimestepGridError';
  }
}

/** numpy's np.round: ties go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The first n values of np.arange(start, stop, step) for floats: start + i*((start+step)-start). */
function npArange(start: number, step: number, n: number): number[] {
  const delta = start + step - start;
  return Array.from({ length: n }, (_, i) => (i === 0 ? start : start + i * delta));
}

/** np.linspace(start, stop, n) with endpoint: i*step + start, last value exactly stop; n = 1 gives [start]. */
function npLinspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start));
}

/**
 * Descending timesteps for `steps` inference steps out of `trainSteps`.
 * - trailing: round(arange(T, 0, -T/n)) - 1, always starts at T-1 (the RAPM/PCM choice). For some n
 *   (61, 103, ... of 1000) np.arange's length rounds up and diffusers gets a spurious (n+1)-th timestep -1;
 *   we keep exactly n, which equal diffusers' first n.
 * - leading: arange(n) * (T // n), reversed, + stepsOffset (SD 1.5 uses stepsOffset = 1).
 * - linspace: round(linspace(0, T-1, n)), reversed.
 */
export function timesteps(trainSteps: number, steps: number, spacing: TimestepSpacing, stepsOffset = 0): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
    throw new TimestepGridError(`steps must be an integer in 1..${trainSteps} (the training steps), got ${steps}`);
  }
  let out: number[];
  switch (spacing) {
    case 'trailing':
      out = npArange(trainSteps, -trainSteps / steps, steps).map((v) => roundHalfEven(v) - 1);
      break;
    case 'leading': {
      const ratio = Math.floor(trainSteps / steps);
      out = Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
      break;
    }
    case 'linspace':
      out = npLinspace(0, trainSteps - 1, steps)
        .map(roundHalfEven)
        .reverse();
      break;
    default:
      throw new TimestepGridError(`unknown timestep spacing '${spacing as string}': use trailing, leading or linspace`);
  }
  if (out.some((t) => t < 0 || t >= trainSteps)) {
    throw new TimestepGridError(`${spacing} spacing with offset ${stepsOffset} leaves 0..${trainSteps - 1}: ${out}`);
  }
  return out;
}

/**
 * RAPM's two grids: N coarse slots (trailing, tau_N .. tau_1; tau_0 = -1 is the final point) and the fine
 * trailing grid of N*M teacher steps. `coarseIndex[k]` is where coarse[k] sits in `fine` (always k*M), so the
 * trajectory generator can keep the points at the slot boundaries and the first fine step out of each.
 */
export interface RapmGrids {
  coarse: number[];
  fine: number[];
  coarseIndex: number[];
}

export function rapmGrids(trainSteps: number, slots: number, stepsPerSlot: number): RapmGrids {
  if (!Number.isInteger(stepsPerSlot) || stepsPerSlot < 1) {
    throw new TimestepGridError(`steps per slot (M) must be a positive integer, got ${stepsPerSlot}`);
  }
  const coarse = timesteps(trainSteps, slots, 'trailing');
  const fine = timesteps(trainSteps, slots * stepsPerSlot, 'trailing');
  const coarseIndex = coarse.map((_, k) => k * stepsPerSlot);
  const missing = coarse.filter((t, k) => fine[coarseIndex[k]] !== t);
  if (missing.length > 0) {
    throw new TimestepGridError(
      `the ${slots * stepsPerSlot}-step fine grid misses coarse boundaries ${missing} of ${trainSteps} train steps; ` +
        `choose N and M so that ${trainSteps} / (N*M) rounds consistently (e.g. N=4, M=8)`,
    );
  }
  return { coarse, fine, coarseIndex };
}
