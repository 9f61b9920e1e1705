/** Metric history as CSV: one row per iteration, columns from flattenMetrics (per-slot terms spread out). */
import { flattenMetrics, type RapmMetrics } from '../core/rapm/metrics';

export function metricsCsv(history: readonly RapmMetrics[]): string {
  const rows = history.map(flattenMetrics);
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => (c in row ? String(row[c]) : '')).join(','));
  return lines.join('\n') + '\n';
}
