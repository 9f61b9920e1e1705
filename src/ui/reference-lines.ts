/**
 * Horizontal reference lines on a uPlot chart (chance levels, the teacher's scores), each
 * labelled at the plot's right edge, and a y range that keeps them in view.
 */
import type uPlot from 'uplot';

export interface ReferenceLine {
  value: number;
  label: string;
}

/** Draws the lines after the series, dashed and in the axis colour, so they read as guides. */
export function drawReferenceLines(u: uPlot, lines: readonly ReferenceLine[], scale = 'y'): void {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  const ink = getComputedStyle(u.root).color || '#666';
  // Labels sit on a patch of the panel's colour so that noisy curves behind them do not hide them.
  const paper = getComputedStyle(document.documentElement).getPropertyValue('--panel').trim() || '#fff';
  const px = devicePixelRatio;
  ctx.lineWidth = px;
  ctx.font = `${11 * px}px system-ui, sans-serif`;
  ctx.textAlign = 'right';
  for (const line of lines) {
    const y = Math.round(u.valToPos(line.value, scale, true));
    ctx.strokeStyle = ink;
    ctx.setLineDash([6 * px, 4 * px]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    // Above the line, or below it where it runs along the top of the plot.
    const textHeight = 13 * px;
    const below = y - textHeight < top;
    const textTop = below ? y + 2 * px : y - textHeight - 2 * px;
    const textWidth = ctx.measureText(line.label).width;
    const right = left + width - 4 * px;
    ctx.fillStyle = paper;
    ctx.globalAlpha = 0.85;
    ctx.fillRect(right - textWidth - 3 * px, textTop, textWidth + 6 * px, textHeight);
    ctx.globalAlpha = 1;
    ctx.fillStyle = ink;
    ctx.textBaseline = 'top';
    ctx.fillText(line.label, right, textTop + px);
  }
  ctx.restore();
}

/** A y range over the data and the lines, padded by 5% so neither sits on the frame. */
export function rangeWithLines(lines: readonly ReferenceLine[]): uPlot.Range.Function {
  return (_u, dataMin, dataMax) => {
    const values = [dataMin, dataMax, ...lines.map((l) => l.value)].filter((v) => v != null && Number.isFinite(v));
    if (values.length === 0) return [0, 1];
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi === lo) {
      lo -= Math.abs(lo) * 0.1 || 1;
      hi += Math.abs(hi) * 0.1 || 1;
    }
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  };
}
