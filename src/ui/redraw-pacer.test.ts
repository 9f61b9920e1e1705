import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedrawPacer } from './redraw-pacer';

/** Animation frames every `frameMs` on fake timers (Node has no requestAnimationFrame). */
let frameMs = 16;

describe('RedrawPacer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    frameMs = 16;
    vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) =>
      setTimeout(() => cb(performance.now()), frameMs),
    );
    vi.stubGlobal('cancelAnimationFrame', (id: number) => clearTimeout(id));
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('coalesces requests into one redraw in the next frame', () => {
    const draw = vi.fn();
    const pacer = new RedrawPacer(draw);
    pacer.request();
    pacer.request();
    pacer.request();
    expect(draw).not.toHaveBeenCalled();
    vi.advanceTimersByTime(16);
    expect(draw).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(draw).toHaveBeenCalledTimes(1);
  });

  it('after a slow redraw, waits as long as it took before the next one', () => {
    // Frames 250 ms apart, as when a software rasteriser draws the curves.
    frameMs = 250;
    const draw = vi.fn();
    const pacer = new RedrawPacer(draw);
    pacer.request();
    vi.advanceTimersByTime(250);
    expect(draw).toHaveBeenCalledTimes(1);
    // The redraw at 250 reached the screen by the frame at 750: 500 ms, so nothing before 1250.
    vi.advanceTimersByTime(50);
    pacer.request();
    vi.advanceTimersByTime(1100);
    expect(draw).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(200);
    expect(draw).toHaveBeenCalledTimes(2);
  });

  it('with fast frames keeps up with 10 requests a second', () => {
    const draw = vi.fn();
    const pacer = new RedrawPacer(draw);
    for (let i = 0; i < 10; i++) {
      pacer.request();
      vi.advanceTimersByTime(100);
    }
    expect(draw).toHaveBeenCalledTimes(10);
  });

  it('draws nothing after dispose', () => {
    const draw = vi.fn();
    const pacer = new RedrawPacer(draw);
    pacer.request();
    pacer.dispose();
    pacer.request();
    vi.advanceTimersByTime(1000);
    expect(draw).not.toHaveBeenCalled();
  });
});
