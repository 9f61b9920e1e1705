import { useEffect, useRef } from 'react';
import { useStudio } from './store';
import { runForward } from './studio-actions';

/** Pixels shown per model pixel: a 28x28 output is unreadable at its own size. */
const ZOOM = 8;

/** The default UNet's output for a random input and random weights, and how long it took. */
export function ForwardPanel() {
  const forward = useStudio((s) => s.forward);
  const phase = useStudio((s) => s.phase);
  const seed = useStudio((s) => s.seed);
  const setSeed = useStudio((s) => s.setSeed);
  const canvas = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!forward || !ctx) return;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(forward.rgba), forward.width, forward.height), 0, 0);
  }, [forward]);

  return (
    <section aria-labelledby="forward-heading">
      <h2 id="forward-heading">UNet forward pass</h2>
      <p>Default MNIST UNet, random weights, random input, timestep 500.</p>
      <div className="controls">
        <label>
          Seed{' '}
          <input
            type="number"
            value={seed}
            min={0}
            step={1}
            onChange={(e) => setSeed(Math.max(0, Math.floor(Number(e.target.value) || 0)))}
          />
        </label>
        <button type="button" onClick={() => void runForward()} disabled={phase !== 'ready'}>
          Run forward pass
        </button>
      </div>
      <figure>
        <canvas
          ref={canvas}
          width={forward?.width ?? 28}
          height={forward?.height ?? 28}
          style={{ width: (forward?.width ?? 28) * ZOOM, height: (forward?.height ?? 28) * ZOOM }}
          role="img"
          aria-label="UNet output, first channel, stretched to its min–max range"
          data-rendered={forward ? 'true' : 'false'}
        />
        <figcaption aria-label="Forward pass timing">
          {forward
            ? `${forward.ms.toFixed(0)} ms, output range [${forward.min.toFixed(3)}, ${forward.max.toFixed(3)}]`
            : phase === 'failed'
              ? 'No output.'
              : 'Waiting for the first forward pass…'}
        </figcaption>
      </figure>
    </section>
  );
}
