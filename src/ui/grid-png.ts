/**
 * The sample grids as one PNG worth sharing: each grid scaled up with crisp pixels, side by
 * side under a caption, the class of each row written in a margin on the left, on white.
 */
import type { GridImage } from '../worker/protocol';

/** Output pixels per image pixel: a 28 px MNIST digit becomes 112 px. */
export const PNG_SCALE = 4;
const GAP = 24;
const MARGIN = 16;
const LABEL_WIDTH = 28;
const CAPTION_HEIGHT = 28;

export interface GridPanel {
  image: GridImage;
  caption: string;
}

export function gridsToPng(panels: readonly GridPanel[], rows: readonly number[], footer: string): Promise<Blob> {
  const height = Math.max(...panels.map((p) => p.image.height)) * PNG_SCALE;
  const canvas = document.createElement('canvas');
  canvas.width =
    MARGIN * 2 + LABEL_WIDTH + panels.reduce((w, p) => w + p.image.width * PNG_SCALE, 0) + GAP * (panels.length - 1);
  canvas.height = MARGIN * 2 + CAPTION_HEIGHT * 2 + height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('this browser gives no 2D canvas to draw the PNG with'));
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#1b1b1f';
  ctx.font = '16px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.imageSmoothingEnabled = false;

  const top = MARGIN + CAPTION_HEIGHT;
  ctx.textAlign = 'right';
  const rowHeight = height / Math.max(1, rows.length);
  rows.forEach((label, i) => ctx.fillText(String(label), MARGIN + LABEL_WIDTH - 8, top + (i + 0.5) * rowHeight));

  let x = MARGIN + LABEL_WIDTH;
  ctx.textAlign = 'left';
  for (const { image, caption } of panels) {
    // putImageData ignores scaling: draw the grid at its own size first, then scale it over.
    const source = document.createElement('canvas');
    source.width = image.width;
    source.height = image.height;
    source
      .getContext('2d')
      ?.putImageData(new ImageData(new Uint8ClampedArray(image.rgba), image.width, image.height), 0, 0);
    ctx.drawImage(source, x, top, image.width * PNG_SCALE, image.height * PNG_SCALE);
    ctx.fillText(caption, x, MARGIN + CAPTION_HEIGHT / 2);
    x += image.width * PNG_SCALE + GAP;
  }
  ctx.fillStyle = '#5d5d66';
  ctx.font = '13px system-ui, sans-serif';
  ctx.fillText(footer, MARGIN, top + height + CAPTION_HEIGHT / 2);

  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('the canvas could not be encoded as PNG'))),
      'image/png',
    ),
  );
}
