import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { plotColumns, type XRange } from './decimate';
import { CURVES, metricSeries } from './metric-series';
import { RedrawPacer } from './redraw-pacer';
import { drawReferenceLines, rangeWithLines, type ReferenceLine } from './reference-lines';

export const CHART_HEIGHT = 180;

export interface LiveChartProps {
  title: string;
  /** Curve keys (metric-series CURVES) drawn in this chart, with their colours. */
  curves: readonly { key: string; color: string }[];
  /** Fixed y range (accuracies: [0, 1]); else fitted to the data and the lines. */
  range?: [number, number];
  /** asinh y scale: like log10 away from zero, but shows the adversarial terms, which go negative. */
  logScale?: boolean;
  lines?: readonly ReferenceLine[];
  smoothed: boolean;
  /** Rows in the series: a change asks for a redraw. */
  rows: number;
}

const label = (key: string) => CURVES.find((c) => c.key === key)?.label ?? key;

/**
 * One small multiple of the training history. Its rows are the history (or the zoomed part of
 * it) decimated to the plot's pixel columns, and redraws go through a RedrawPacer, so its cost
 * follows the chart's width, not the run's length.
 */
export function LiveChart({ title, curves, range, logScale = false, lines = [], smoothed, rows }: LiveChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const smoothedNow = useRef(smoothed);
  smoothedNow.current = smoothed;
  /** The x range the user zoomed to by dragging; null follows the whole run. */
  const view = useRef<XRange | null>(null);
  const pacer = useRef<RedrawPacer | null>(null);
  const keys = curves.map((c) => c.key);
  const shape = JSON.stringify({ curves, range, logScale, lines });

  const data = (pixelColumns: number, zoom: XRange | null) =>
    plotColumns(metricSeries.columnsOf(keys, smoothedNow.current), zoom, Math.max(1, Math.round(pixelColumns)));

  // The plot is rebuilt only when its shape changes; data updates go through setData.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    // A drag-zoom (or the double click that zooms out) sets the x scale: decimate again for the
    // new range. Scales that span everything the plot holds mean "follow the whole run".
    const onZoom = (u: uPlot) => {
      const x = u.data[0];
      const { min, max } = u.scales.x;
      if (min == null || max == null || x.length === 0) return;
      const whole = min <= x[0] && max >= x[x.length - 1];
      const next = whole ? null : { min, max };
      const prev = view.current;
      if (next?.min === prev?.min && next?.max === prev?.max) return;
      view.current = next;
      pacer.current?.request();
    };
    const width = el.clientWidth || 320;
    view.current = null;
    const opts: uPlot.Options = {
      width,
      height: CHART_HEIGHT,
      // Tens of thousands of points: no per-point markers, and redraws only when data or size change.
      cursor: { points: { show: false }, drag: { x: true, y: false } },
      scales: {
        x: { time: false },
        y: logScale ? { distr: 4, asinh: 1e-3 } : { range: range ?? rangeWithLines(lines) },
      },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 30 },
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 52 },
      ],
      series: [
        { label: 'iteration' },
        ...curves.map((c) => ({ label: label(c.key), stroke: c.color, width: 1.25, points: { show: false } })),
      ],
      legend: { live: false },
      hooks: {
        setScale: [(u, key) => key === 'x' && onZoom(u)],
        draw: lines.length ? [(u) => drawReferenceLines(u, lines)] : [],
      },
    };
    const u = new uPlot(opts, data(width * devicePixelRatio, null), el);
    /** Hands uPlot the rows for the current view. */
    const redraw = () => {
      // How many rows the chart last drew: the benchmark (scripts/bench-curves.ts) tells redraws apart by it.
      el.dataset.drawnRows = String(metricSeries.length);
      const zoom = view.current;
      // bbox is the plotting area in canvas pixels: one decimation column per pixel column.
      const next = data(u.bbox.width, zoom);
      if (!zoom) return u.setData(next);
      // Keep the zoom while rows stream in; setScale redraws and re-fits the y axis to the view.
      u.setData(next, false);
      u.setScale('x', zoom);
    };
    pacer.current = new RedrawPacer(redraw);
    const resize = new ResizeObserver(() => {
      u.setSize({ width: el.clientWidth, height: CHART_HEIGHT });
      pacer.current?.request();
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      pacer.current?.dispose();
      pacer.current = null;
      u.destroy();
    };
    // `shape` stands for curves, range, logScale and lines, which arrive as fresh objects each render.
  }, [shape]);

  // Metric batches arrive up to ~10 times a second: the pacer coalesces them into redraws.
  useEffect(() => pacer.current?.request(), [rows, smoothed]);

  return (
    <figure className="multiple">
      <figcaption>{title}</figcaption>
      <div
        ref={host}
        className="plot"
        role="img"
        aria-label={`${title}: ${curves.map((c) => label(c.key)).join(', ')} over ${rows} iterations${
          lines.length ? `; reference lines: ${lines.map((l) => l.label).join(', ')}` : ''
        }`}
        data-rows={rows}
      />
    </figure>
  );
}
