/**
 * The held-out validation trajectories of a run: a fixed, seeded choice among the stored
 * trajectories that training never visits. The run records the chosen indices (and how many
 * trajectories there were), so a resumed run validates on, and keeps away from, the same ones.
 */
import { mulberry32 } from '../random';

export interface ValidationSplit {
  /** Seed of the choice (the run's seed). */
  seed: number;
  /** Stored trajectories when the split was made: the indices below point into that set. */
  trajectories: number;
  /** Held-out trajectory indices, ascending. */
  indices: number[];
}

/** A split that cannot be made or no longer fits the stored trajectories; the message says what to do. */
export class ValidationSplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationSplitError';
  }
}

/**
 * Holds out `count` of `trajectories` by a seeded partial Fisher-Yates shuffle. At least one
 * trajectory must stay for training.
 */
export function makeValidationSplit(trajectories: number, count: number, seed: number): ValidationSplit {
  if (!Number.isInteger(count) || count < 0) {
    throw new ValidationSplitError(`The validation set size must be a whole number >= 0, got ${count}.`);
  }
  if (count >= trajectories) {
    throw new ValidationSplitError(
      `Cannot hold out ${count} of ${trajectories} trajectories for validation: training needs at least one. ` +
        `Hold out fewer, or import or generate more shards.`,
    );
  }
  const order = Array.from({ length: trajectories }, (_, i) => i);
  // A seed distinct from the trajectory order's, so the two draws do not correlate.
  const random = mulberry32((seed * 2_246_822_519 + 0x5eed) >>> 0);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (trajectories - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { seed, trajectories, indices: order.slice(0, count).sort((a, b) => a - b) };
}

/** Checks a recorded split against the trajectories stored now (a resumed run must find the same set). */
export function checkValidationSplit(split: ValidationSplit, trajectories: number): void {
  if (split.trajectories !== trajectories) {
    throw new ValidationSplitError(
      `This run held out validation trajectories from a set of ${split.trajectories}, but ${trajectories} are ` +
        `stored now: the held-out ones would be others. Restore the run's shards (add or remove shards until the ` +
        `set is the one it started from) to resume it.`,
    );
  }
}

/** The trajectory indices training may draw from: all but the held-out ones, ascending. */
export function trainingIndices(split: ValidationSplit): Int32Array {
  const held = new Set(split.indices);
  const out = new Int32Array(split.trajectories - split.indices.length);
  let k = 0;
  for (let i = 0; i < split.trajectories; i++) if (!held.has(i)) out[k++] = i;
  return out;
}
