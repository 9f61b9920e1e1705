/**
 * Which stored runs the page offers to resume, and which it shows as training in another tab:
 * plain functions of the run list, the other tabs' live progress and this tab's own live run.
 */
import type { RunInfo, StudioEvents } from '../worker/protocol';

export type OtherTabRun = StudioEvents['otherTab'];

export interface RunLists {
  /** Stored runs, as the worker last listed them. */
  runs: RunInfo[];
  /** Runs other tabs train now, by id, as their last progress said. */
  elsewhere: Record<string, OtherTabRun>;
  /** The run this tab trains now (running, paused or stopping), if any. */
  liveHere: string | null;
  /** Runs the user put off ("Not now"). */
  dismissed: readonly string[];
}

/**
 * Runs that can go on from their checkpoint here: cut short by a reload or crash, paused,
 * stopped, or failed (an error keeps its checkpoint), newest first; not one another tab trains.
 */
export function resumableRuns({ runs, elsewhere, liveHere, dismissed }: RunLists): RunInfo[] {
  return runs
    .filter(
      (r) =>
        r.status !== 'finished' &&
        r.iteration < r.iterations &&
        !r.inAnotherTab &&
        !(r.id in elsewhere) &&
        r.id !== liveHere &&
        !dismissed.includes(r.id),
    )
    .sort((a, b) => b.createdAt - a.createdAt);
}

/** Runs other tabs train now, with their live progress where it has come (else as stored), oldest first. */
export function otherTabRuns({ runs, elsewhere }: Pick<RunLists, 'runs' | 'elsewhere'>): OtherTabRun[] {
  const listed = runs
    .filter((r) => r.inAnotherTab && !(r.id in elsewhere))
    .map((run): OtherTabRun => ({
      run,
      state: run.status === 'paused' ? 'paused' : 'running',
      itPerSec: 0,
      phase: null,
    }));
  return [...Object.values(elsewhere), ...listed].sort((a, b) => a.run.createdAt - b.run.createdAt);
}
