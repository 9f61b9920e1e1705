/** A one-line progress bar on stderr: step / total, rate, ETA and caller-supplied fields. */
export class Progress {
  private readonly start = performance.now();
  private startStep: number;
  private lastDraw = 0;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    from = 0,
    private readonly perStep = 1,
  ) {
    this.startStep = from;
  }

  update(step: number, fields: Record<string, string | number> = {}, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastDraw < 500) return;
    this.lastDraw = now;
    const secs = (now - this.start) / 1000;
    const rate = ((step - this.startStep) * this.perStep) / Math.max(secs, 1e-9);
    const stepsPerSec = (step - this.startStep) / Math.max(secs, 1e-9);
    const eta = stepsPerSec > 0 ? (this.total - step) / stepsPerSec : NaN;
    const width = 24;
    const filled = Math.round((width * step) / this.total);
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join('  ');
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${this.total}  ${extra}  ${rate.toFixed(1)} ${this.unit}/s  ETA ${formatDuration(eta)}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
    else process.stderr.write(`${line}\n`);
  }

  done(): void {
    if (process.stderr.isTTY) process.stderr.write('\n');
  }
}

export function formatNumber(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}
