/**
 * How a long run's stored metric history stays bounded (db.ts `compactRunMetrics` applies it):
 * the most recent `recentIterations` stay at full resolution; older iterations are thinned to
 * those whose number is a multiple of a power-of-two stride, the smallest stride that leaves at
 * most `olderPoints` of them. Thinning by multiples of 2^k keeps what an earlier compaction kept
 * whenever it keeps anything (a multiple of 2s is a multiple of s), so repeated compactions never
 * shift or smear the old curve, and every stored event is a real iteration's (no averages). The
 * curves are drawn decimated to the chart's width anyway (src/ui/decimate.ts), so a long run's
 * old history loses detail only below the chart's resolution; the metrics CSV of a compacted run
 * has the thinned rows.
 *
 * Checkpoints need no pruning: a run stores only its latest and its best (db.ts), each
 * overwritten in place; sample grids are never stored.
 */
import type { RapmMetrics } from '../core/rapm/metrics';

export interface CompactionPolicy {
  /** The newest iterations kept at full resolution. */
  recentIterations: number;
  /** At most this many events of the iterations before them. */
  olderPoints: number;
  /** Compaction is due once a run has more stored chunks (one per checkpoint) than this. */
  maxChunks: number;
}

/**
 * After a reload the curves hold at most about 1 000 points (plus the chunks since the last
 * compaction), about as many as the chart has pixel columns and some 400 kB of IndexedDB; at one
 * chunk per 15 s checkpoint a run is compacted about every 8 minutes. The page's live curves keep
 * every point of the session.
 */
export const METRICS_COMPACTION: Readonly<CompactionPolicy> = {
  recentIterations: 500,
  olderPoints: 500,
  maxChunks: 32,
};

/** The events to keep of `events` (ascending by iteration), in order; `events` itself when nothing goes. */
export function compactMetrics(events: readonly RapmMetrics[], policy: CompactionPolicy): readonly RapmMetrics[] {
  if (events.length === 0) return events;
  const newest = events[events.length - 1].iteration;
  const cut = newest - policy.recentIterations;
  const older = events.filter((m) => m.iteration <= cut);
  let stride = 1;
  const kept = () => older.filter((m) => m.iteration % stride === 0).length;
  while (kept() > policy.olderPoints) stride *= 2;
  if (stride === 1) return events;
  return events.filter((m) => m.iteration > cut || m.iteration % stride === 0);
}
