/** The sample grids as one PNG: the student's grid, a gap, then the teacher's, via a canvas. */
import type { GridImage } from '../worker/protocol';

const GAP = 4;

export function gridsToPng(images: readonly GridImage[]): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = images.reduce((w, im) => w + im.width, 0) + GAP * (images.length - 1);
  canvas.height = Math.max(...images.map((im) => im.height));
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('this browser gives no 2D canvas to draw the PNG with'));
  let x = 0;
  for (const im of images) {
    ctx.putImageData(new ImageData(new Uint8ClampedArray(im.rgba), im.width, im.height), x, 0);
    x += im.width + GAP;
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('the canvas could not be encoded as PNG'))),
      'image/png',
    ),
  );
}
