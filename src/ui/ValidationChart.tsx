import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { QualityScore, TeacherReference, ValidationPoint } from '../worker/protocol';
import { CHART_HEIGHT } from './LiveChart';
import { drawReferenceLines, rangeWithLines, type ReferenceLine } from './reference-lines';

export type QualityKey = keyof QualityScore;

/** The teacher's scores on the same held-out noise, as labelled lines (scores it has not got are left out). */
export function teacherLines(references: readonly TeacherReference[], metric: QualityKey): ReferenceLine[] {
  return references.flatMap((r) => {
    const value = r[metric];
    return value == null || !Number.isFinite(value) ? [] : [{ value, label: `${r.label} ${value.toFixed(3)}` }];
  });
}

/**
 * A validation score of the EMA student against the iteration, with the teacher's reference
 * lines. A few dozen points at most, so no decimation: each new point redraws it.
 */
export function ValidationChart({
  title,
  metric,
  points,
  references,
  color,
}: {
  title: string;
  metric: QualityKey;
  points: readonly ValidationPoint[];
  references: readonly TeacherReference[];
  color: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const lines = teacherLines(references, metric);
  const linesKey = JSON.stringify(lines);
  const data = (): uPlot.AlignedData => [points.map((p) => p.iteration), points.map((p) => p[metric] ?? NaN)];

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: el.clientWidth || 320,
      height: CHART_HEIGHT,
      cursor: { points: { show: false } },
      scales: { x: { time: false }, y: { range: rangeWithLines(lines) } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 30 },
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 52 },
      ],
      series: [
        { label: 'iteration' },
        { label: `student (EMA), ${metric}`, stroke: color, width: 1.5, points: { show: true, size: 5 } },
      ],
      legend: { live: false },
      hooks: { draw: lines.length ? [(u) => drawReferenceLines(u, lines)] : [] },
    };
    const u = new uPlot(opts, data(), el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: CHART_HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current = null;
      u.destroy();
    };
    // Rebuilt when the teacher's lines arrive (once per run); points go through setData.
  }, [linesKey, metric, color]);

  useEffect(() => plot.current?.setData(data()), [points, metric]);

  return (
    <figure className="multiple">
      <figcaption>{title}</figcaption>
      <div
        ref={host}
        className="plot validation-plot"
        role="img"
        aria-label={`${title}: ${points.length} validation points${
          lines.length ? `; teacher lines: ${lines.map((l) => l.label).join(', ')}` : ''
        }`}
        data-points={points.length}
      />
    </figure>
  );
}
