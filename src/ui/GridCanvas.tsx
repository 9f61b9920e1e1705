import { useEffect, useRef } from 'react';
import type { GridImage } from '../worker/protocol';

/** Screen pixels per image pixel: 28x28 digits are unreadable at their own size. */
const DEFAULT_ZOOM = 3;

/** Draws a GridImage at integer zoom with crisp pixels; `data-iteration` lets tests see it update. */
export function GridCanvas({
  image,
  label,
  zoom = DEFAULT_ZOOM,
  testId,
  stamp,
}: {
  image: GridImage;
  label: string;
  zoom?: number;
  testId?: string;
  stamp?: string | number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(image.rgba), image.width, image.height), 0, 0);
  }, [image]);
  return (
    <canvas
      ref={canvas}
      width={image.width}
      height={image.height}
      style={{ width: image.width * zoom, maxWidth: '100%', height: 'auto' }}
      role="img"
      aria-label={label}
      data-testid={testId}
      data-stamp={stamp}
    />
  );
}
