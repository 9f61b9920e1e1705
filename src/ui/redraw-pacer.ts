/**
 * Runs a redraw in an animation frame, coalescing the requests that arrive meanwhile, and keeps
 * redraws from taking every frame: it times each redraw up to the start of the second frame
 * after it (by then the browser has drawn and composited it) and waits that long again before
 * the next one. With a GPU that is a frame or two, below the ~10 metric batches a second; where
 * the browser rasterises in software (SwiftShader) one redraw of the curves takes hundreds of
 * milliseconds, and the pause leaves the page frames to scroll and type in between.
 */
export class RedrawPacer {
  private wanted = false;
  private busy = false;
  private notBefore = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private frame = 0;

  constructor(private readonly draw: () => void) {}

  request(): void {
    this.wanted = true;
    this.pump();
  }

  dispose(): void {
    clearTimeout(this.timer);
    cancelAnimationFrame(this.frame);
    this.wanted = false;
    this.busy = true;
  }

  private pump(): void {
    if (!this.wanted || this.busy) return;
    this.busy = true;
    const inFrame = () => (this.frame = requestAnimationFrame(() => this.run()));
    const wait = this.notBefore - performance.now();
    if (wait > 0) this.timer = setTimeout(inFrame, wait);
    else inFrame();
  }

  private run(): void {
    this.wanted = false;
    const start = performance.now();
    this.draw();
    this.frame = requestAnimationFrame(() => {
      this.frame = requestAnimationFrame(() => {
        const now = performance.now();
        this.notBefore = now + (now - start);
        this.busy = false;
        this.pump();
      });
    });
  }
}
