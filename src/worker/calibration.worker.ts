/**
 * A throwaway worker that starts one GPU backend and times one calibration step on it. It runs
 * apart from the studio worker so that it can be terminated at its deadline: WebGL compiles its
 * shaders synchronously, and on a software adapter that blocks its thread for a minute or more,
 * where no timer inside the same worker could stop it. Terminating the worker also frees its
 * context or device, and with it the work still queued there.
 */
import { reasonOf, startBackend } from './backend-start';
import { calibrate } from './calibration';
import type { BackendName } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

export interface CalibrationJob {
  backend: BackendName;
  batch: number;
  /** Do not time a software adapter (wasm already works on the same CPU). */
  skipSoftware: boolean;
}

export type CalibrationMessage =
  | { type: 'started'; adapter: Awaited<ReturnType<typeof startBackend>>; startMs: number }
  | { type: 'timed'; stepMs: number }
  | { type: 'skipped' }
  | { type: 'failed'; reason: string; started: boolean };

function post(message: CalibrationMessage): void {
  self.postMessage(message);
}

self.addEventListener('message', (e: MessageEvent<CalibrationJob>) => {
  const { backend, batch, skipSoftware } = e.data;
  const begun = performance.now();
  let started = false;
  void (async () => {
    try {
      const adapter = await startBackend(backend);
      started = true;
      post({ type: 'started', adapter, startMs: performance.now() - begun });
      if (adapter?.software && skipSoftware) {
        post({ type: 'skipped' });
        return;
      }
      post({ type: 'timed', stepMs: await calibrate(batch) });
    } catch (err) {
      post({ type: 'failed', reason: reasonOf(err), started });
    }
  })();
});
