import { useEffect, useId, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { CURVES, metricSeries } from './metric-series';
import { useStudio } from './store';

const COLORS = ['#2451c7', '#c7243a', '#d68a00', '#1f9e6e', '#7a3fc7', '#0b8fb3', '#b3478f', '#5d8c00', '#a65d00'];
const HEIGHT = 260;

function plotOptions(width: number, logScale: boolean): uPlot.Options {
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
        dash: c.axis === 'accuracy' ? [4, 3] : undefined,
        points: { show: false },
      })),
    ],
    legend: { live: false },
  };
}

/** Every loss term and the discriminators' accuracies, raw or EMA-smoothed, linear or log-like. */
export function CurvesPanel() {
  const rows = useStudio((s) => s.metricRows);
  const [smoothed, setSmoothed] = useState(true);
  const [logScale, setLogScale] = useState(false);
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const frame = useRef(0);
  const smoothedNow = useRef(smoothed);
  smoothedNow.current = smoothed;
  const ids = { smooth: useId(), log: useId() };

  // The plot is rebuilt only when the scale type changes; data updates go through setData.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const u = new uPlot(plotOptions(el.clientWidth || 600, logScale), metricSeries.columns(smoothedNow.current), el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      cancelAnimationFrame(frame.current);
      frame.current = 0;
      u.destroy();
      plot.current = null;
    };
  }, [logScale]);

  // Metric batches arrive up to ~10 times a second: coalesce them into one redraw per animation frame.
  useEffect(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      plot.current?.setData(metricSeries.columns(smoothedNow.current));
    });
  }, [rows, smoothed]);

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
