/**
 * Collects per-iteration metrics and hands them on in batches, at most one batch per `intervalMs`:
 * a fast tiny model can run hundreds of iterations a second, and one message each would flood
 * the page. `now` is injectable so the timing is testable without waiting.
 */
import type { RapmMetrics } from '../core/rapm/metrics';

export class MetricsBatcher {
  private pending: RapmMetrics[] = [];
  private lastFlush: number;

  constructor(
    private readonly send: (events: RapmMetrics[]) => void,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastFlush = now();
  }

  /** Queues one event; sends the batch when the interval has passed. Returns true if it sent. */
  push(m: RapmMetrics): boolean {
    this.pending.push(m);
    if (this.now() - this.lastFlush < this.intervalMs) return false;
    this.flush();
    return true;
  }

  /** Sends whatever is queued (at a pause, stop or the end of a run). */
  flush(): void {
    this.lastFlush = this.now();
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.send(batch);
  }
}

/** Iterations per second over a sliding window of recent iteration end times. */
export class RateMeter {
  private times: number[] = [];

  constructor(
    private readonly window = 20,
    private readonly now: () => number = () => performance.now(),
  ) {}

  tick(): void {
    this.times.push(this.now());
    if (this.times.length > this.window + 1) this.times.shift();
  }

  /** Forget the history (after a pause, so the idle time does not count). */
  reset(): void {
    this.times = [];
  }

  perSecond(): number {
    const n = this.times.length;
    if (n < 2) return 0;
    const span = this.times[n - 1] - this.times[0];
    return span > 0 ? ((n - 1) * 1000) / span : 0;
  }
}
