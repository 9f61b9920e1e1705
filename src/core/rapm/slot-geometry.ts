/**
 * Where each of the N*B slot rows sits on the time axis (docs/method.md, "One iteration"): rows
 * are slot-major, slot j's B samples at rows j*B .. j*B + B - 1, slot 0 starting from pure noise.
 */
import type { TrajectoryGeometry } from './trainer';

/** Per-row times of the N*B slot rows. */
export interface SlotTimes {
  /** tau_{n+1}: where each slot's student step starts. */
  start: Float32Array;
  /** tau_{n+1} - Delta: the time of the Delta point z^d. */
  delta: Float32Array;
  /** tau_n: where the slot ends (-1 past the last slot: the DDIM step to the clean sample). */
  end: Float32Array;
  /** The time the discriminators see each end point at (the clean end at t = 0). */
  encoder: Float32Array;
}

export function slotTimes(geometry: TrajectoryGeometry, b: number): SlotTimes {
  const { coarseTimesteps: tau, deltaTimesteps } = geometry;
  const n = tau.length;
  const rows = (f: (j: number) => number) => Float32Array.from({ length: n * b }, (_, r) => f(Math.floor(r / b)));
  const end = (j: number) => (j + 1 < n ? tau[j + 1] : -1);
  return {
    start: rows((j) => tau[j]),
    delta: rows((j) => deltaTimesteps[j]),
    end: rows(end),
    encoder: rows((j) => Math.max(end(j), 0)),
  };
}

/** The mean over the batch of each slot's values (N*B slot-major values -> N). */
export function slotMeans(values: ArrayLike<number>, n: number, b: number): number[] {
  return Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < b; i++) s += values[j * b + i];
    return s / b;
  });
}
