import { useEffect, useId, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { plotColumns, type XRange } from './decimate';
import { CURVES, metricSeries } from './metric-series';
import { RedrawPacer } from './redraw-pacer';
import { useStudio } from './store';

// One colour per curve, so that the accuracies need no dash pattern: dashes multiply the cost of
// rasterising a noisy line (measured in docs/benchmarks.md, "Live curves").
const COLORS = [
  '#2451c7',
  '#c7243a',
  '#d68a00',
  '#1f9e6e',
  '#7a3fc7',
  '#0b8fb3',
  '#b3478f',
  '#5d8c00',
  '#a65d00',
  '#6b7280',
  '#0f766e',
];
const HEIGHT = 260;

/** The rows the plot draws: the history (or the zoomed part of it) decimated to the plot's pixel columns. */
function plotData(pixelColumns: number, smoothed: boolean, view: XRange | null): Float64Array[] {
  return plotColumns(metricSeries.columns(smoothed), view, Math.max(1, Math.round(pixelColumns)));
}

function plotOptions(width: number, logScale: boolean, onZoom: (u: uPlot) => void): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    // Tens of thousands of points: no per-point markers, and redraws only when data or size change.
    cursor: { points: { show: false }, drag: { x: true, y: false } },
    scales: {
      x: { time: false },
      // asinh behaves like log10 away from zero but also shows the adversarial terms, which go negative.
      loss: logScale ? { distr: 4, asinh: 1e-3 } : {},
      accuracy: { range: [0, 1] },
    },
    axes: [
      { label: 'iteration', stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } },
      { scale: 'loss', label: 'loss', stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } },
      { scale: 'accuracy', label: 'accuracy', side: 1, stroke: 'currentColor', grid: { show: false } },
    ],
    series: [
      { label: 'iteration' },
      ...CURVES.map((c, i) => ({
        label: c.label,
        scale: c.axis,
        stroke: COLORS[i % COLORS.length],
        width: 1.25,
        points: { show: false },
      })),
    ],
    legend: { live: false },
    hooks: { setScale: [(u, key) => key === 'x' && onZoom(u)] },
  };
}

/** Every loss term and the discriminators' accuracies, raw or EMA-smoothed, linear or log-like. */
export function CurvesPanel() {
  const rows = useStudio((s) => s.metricRows);
  const [smoothed, setSmoothed] = useState(true);
  const [logScale, setLogScale] = useState(false);
  const host = useRef<HTMLDivElement>(null);
  const smoothedNow = useRef(smoothed);
  smoothedNow.current = smoothed;
  /** The x range the user zoomed to by dragging; null follows the whole run. */
  const view = useRef<XRange | null>(null);
  const ids = { smooth: useId(), log: useId() };

  /** Hands uPlot the rows for the current view; the work and the drawing scale with the plot's width, not the run's length. */
  const redraw = (u: uPlot) => {
    // How many rows the chart last drew: the benchmark (scripts/bench-curves.ts) tells redraws apart by it.
    if (host.current) host.current.dataset.drawnRows = String(metricSeries.length);
    const zoom = view.current;
    // bbox is the plotting area in canvas pixels: one decimation column per pixel column.
    const data = plotData(u.bbox.width, smoothedNow.current, zoom);
    if (!zoom) return u.setData(data);
    // Keep the zoom while rows stream in; setScale redraws and re-fits the y axes to the view.
    u.setData(data, false);
    u.setScale('x', zoom);
  };
  const pacer = useRef<RedrawPacer | null>(null);
  const scheduleRedraw = () => pacer.current?.request();

  // The plot is rebuilt only when the scale type changes; data updates go through setData.
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
      scheduleRedraw();
    };
    const width = el.clientWidth || 600;
    view.current = null;
    const initial = plotData(width * devicePixelRatio, smoothedNow.current, null);
    const u = new uPlot(plotOptions(width, logScale, onZoom), initial, el);
    pacer.current = new RedrawPacer(() => redraw(u));
    const resize = new ResizeObserver(() => {
      u.setSize({ width: el.clientWidth, height: HEIGHT });
      scheduleRedraw();
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      pacer.current?.dispose();
      pacer.current = null;
      u.destroy();
    };
  }, [logScale]);

  // Metric batches arrive up to ~10 times a second: the pacer coalesces them into redraws.
  useEffect(scheduleRedraw, [rows, smoothed]);

  return (
    <section aria-labelledby="curves-heading" className="curves">
      <h2 id="curves-heading">Curves</h2>
      <div className="controls">
        <label htmlFor={ids.smooth}>
          <input id={ids.smooth} type="checkbox" checked={smoothed} onChange={(e) => setSmoothed(e.target.checked)} />{' '}
          Smoothed (EMA)
        </label>
        <label htmlFor={ids.log}>
          <input id={ids.log} type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> Log
          scale (losses)
        </label>
        <span className="hint">
          <span data-testid="metric-rows">{rows}</span> points
        </span>
      </div>
      <div
        ref={host}
        className="plot"
        role="img"
        aria-label={`Training curves: losses and discriminator accuracies over ${rows} iterations`}
        data-rows={rows}
      />
    </section>
  );
}
