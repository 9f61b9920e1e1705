/**
 * Picks the tfjs backend by measured speed. wasm starts here, in the studio worker, and times
 * one UNet forward+backward (calibration.ts); WebGL and WebGPU each start and time the same step
 * in a throwaway worker (calibration.worker.ts). The fastest is used. The answer is stored
 * (calibration-store.ts), so a reload on the same machine starts it without measuring again.
 *
 * wasm goes first and has no deadline: its cost is known and bounded. A GPU backend on a
 * software adapter (SwiftShader compiles every shader on first use, for minutes) could hold up
 * the page, so each GPU candidate is stopped at a deadline relative to wasm's whole calibration;
 * a hardware adapter gets a longer one, since its first step compiles every kernel. The two GPU
 * candidates run side by side, which costs a deadline once instead of twice.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { NoBackendError, reasonOf, singleThreadWasm, startBackend, useSingleThreadWasm } from './backend-start';
import { calibrate, CALIBRATION_MODEL } from './calibration';
import { storeCalibration, storedCalibration } from './calibration-store';
import type { CalibrationJob, CalibrationMessage } from './calibration.worker';
import type { BackendAttempt, BackendName, BackendReport, InitRequest, WasmInfo } from './protocol';

const GPU_BACKENDS = ['webgl', 'webgpu'] as const;

/** A GPU candidate may take this many times wasm's whole calibration (start included)... */
const DEADLINE_FACTOR = 1.5;
/** ...but never less than this, since its first step compiles every kernel. */
const MIN_DEADLINE_MS = 15_000;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function wasmInfo(): WasmInfo {
  const isolated = self.crossOriginIsolated === true;
  return { threads: getThreadsCount(), isolated, singleThreadAsked: isolated && singleThreadWasm() };
}

async function pinned(backend: BackendName, onStatus: (message: string) => void): Promise<BackendReport> {
  onStatus(`Starting ${backend}…`);
  const started = performance.now();
  try {
    const adapter = await startBackend(backend);
    return {
      backend,
      adapter,
      attempts: [{ backend, ok: true, adapter, startMs: performance.now() - started }],
      choice: 'pinned',
      why: `${backend} was asked for (?backend=${backend}), so nothing was timed.`,
      calibration: null,
      measuredAt: null,
      wasm: backend === 'wasm' ? wasmInfo() : null,
    };
  } catch (err) {
    throw new NoBackendError([{ backend, ok: false, reason: reasonOf(err) }]);
  }
}

/** Starts `backend` in a calibration worker and times it, terminating the worker at its deadline. */
function timeInWorker(
  backend: BackendName,
  batch: number,
  reference: { backend: BackendName; totalMs: number } | null,
): Promise<BackendAttempt> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./calibration.worker.ts', import.meta.url), {
      type: 'module',
      name: `calibrate-${backend}`,
    });
    const begun = performance.now();
    const attempt: BackendAttempt = { backend, ok: false };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      worker.terminate();
      resolve(attempt);
    };
    const arm = (minimum: number) => {
      if (!reference) return;
      const limit = Math.max(minimum, DEADLINE_FACTOR * reference.totalMs);
      clearTimeout(timer);
      timer = setTimeout(
        () => {
          attempt.stoppedAfterMs = performance.now() - begun;
          attempt.reason = `slower than ${reference.backend}: stopped after ${seconds(attempt.stoppedAfterMs)}`;
          finish();
        },
        Math.max(0, limit - (performance.now() - begun)),
      );
    };
    arm(MIN_DEADLINE_MS);
    worker.addEventListener('message', (e: MessageEvent<CalibrationMessage>) => {
      const message = e.data;
      if (message.type === 'started') {
        attempt.adapter = message.adapter;
        attempt.startMs = message.startMs;
      } else if (message.type === 'skipped') {
        attempt.reason =
          `a software adapter (a CPU rasteriser): not timed, since wasm runs on the same CPU without ` +
          `translating every kernel, and its first step alone compiles shaders for minutes (use the control to try it)`;
        finish();
      } else if (message.type === 'timed') {
        attempt.ok = true;
        attempt.stepMs = message.stepMs;
        finish();
      } else {
        attempt.reason = message.started ? `calibration failed: ${message.reason}` : message.reason;
        finish();
      }
    });
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      attempt.reason = `its calibration worker failed: ${e.message || 'it did not load'}`;
      finish();
    });
    const job: CalibrationJob = { backend, batch, skipSoftware: reference !== null };
    worker.postMessage(job);
  });
}

function describeWinner(best: BackendAttempt, attempts: BackendAttempt[], batch: number): string {
  const others = attempts.filter((a) => a !== best);
  const skipped = others.filter((a) => !a.ok && a.startMs !== undefined && a.adapter?.software);
  const slower = others.filter((a) => a.ok || a.stoppedAfterMs !== undefined).map((a) => a.backend);
  const failed = others
    .filter((a) => !a.ok && a.stoppedAfterMs === undefined && !skipped.includes(a))
    .map((a) => a.backend);
  let why =
    `${best.backend} is the fastest measured: ${Math.round(best.stepMs ?? 0)} ms per UNet ` +
    `forward+backward at batch ${batch}`;
  if (slower.length) why += `; ${slower.join(' and ')} ${slower.length > 1 ? 'were' : 'was'} slower`;
  if (skipped.length) {
    why += `; ${skipped.map((a) => a.backend).join(' and ')} run on a software adapter (no GPU) and were not timed`;
  }
  if (failed.length) why += `; ${failed.join(' and ')} could not be timed`;
  return `${why}.`;
}

/** Starts wasm in this worker: the candidate whose cost is known and bounded, and the first one the page gets. */
async function startWasm(onStatus: (message: string) => void): Promise<BackendAttempt> {
  onStatus('Starting wasm…');
  const begun = performance.now();
  const wasm: BackendAttempt = { backend: 'wasm', ok: false, adapter: null };
  try {
    await startBackend('wasm');
    wasm.startMs = performance.now() - begun;
  } catch (err) {
    wasm.reason = reasonOf(err);
  }
  return wasm;
}

/**
 * Times wasm here (when it started) and the GPU backends in their throwaway workers, then makes
 * the fastest one the global backend. Tensors made before the switch (the teacher) move to the
 * new backend on first use, tfjs's own data mover; wasm is therefore kept, not removed, when it
 * loses after tensors exist (`keepWasm`).
 */
async function measure(
  onStatus: (message: string) => void,
  batch: number,
  wasm: BackendAttempt,
  keepWasm: boolean,
): Promise<BackendReport> {
  let reference: { backend: BackendName; totalMs: number } | null = null;
  if (wasm.startMs !== undefined) {
    const begun = performance.now();
    try {
      onStatus(`Timing wasm: one UNet forward+backward at batch ${batch}…`);
      wasm.stepMs = await calibrate(batch);
      wasm.ok = true;
      reference = { backend: 'wasm', totalMs: wasm.startMs + performance.now() - begun };
    } catch (err) {
      wasm.reason = reasonOf(err);
    }
  }
  onStatus(`Timing ${GPU_BACKENDS.join(' and ')}${reference ? ' (stopped if they lag well behind wasm)' : ''}…`);
  const gpu = await Promise.all(GPU_BACKENDS.map((b) => timeInWorker(b, batch, reference)));
  const attempts = [wasm, ...gpu];
  const timed = attempts.filter((a) => a.ok).sort((a, b) => (a.stepMs ?? 0) - (b.stepMs ?? 0));
  for (const winner of timed) {
    if (winner.backend !== 'wasm') {
      onStatus(`Starting ${winner.backend}, the fastest measured…`);
      try {
        await startBackend(winner.backend);
      } catch (err) {
        winner.ok = false;
        winner.reason = `timed, then failed to start here: ${reasonOf(err)}`;
        continue;
      }
    }
    for (const a of attempts) if (a !== winner && a.ok) a.reason = `slower than ${winner.backend}`;
    const wasmUsed = winner.backend === 'wasm';
    // The loser's memory and threads are freed, unless tensors may still live there.
    if (!wasmUsed && !keepWasm && tf.findBackend('wasm')) tf.removeBackend('wasm');
    return {
      backend: winner.backend,
      adapter: winner.adapter ?? null,
      attempts,
      choice: 'calibrated',
      why: describeWinner(winner, attempts, batch),
      calibration: { model: CALIBRATION_MODEL.name, batch },
      measuredAt: Date.now(),
      wasm: wasmUsed ? wasmInfo() : null,
    };
  }
  throw new NoBackendError(attempts);
}

/**
 * The backend the page starts on, and the one it trains on. `settle` is called (by the page once
 * the teacher is loaded, and by anything that trains or samples) to learn the latter: on a first
 * visit it times every backend then, in the background, and switches to the fastest; otherwise it
 * is `started` at once.
 */
export interface BackendChoice {
  started: BackendReport;
  settle: () => Promise<BackendReport>;
}

const settled = (report: BackendReport): BackendChoice => ({ started: report, settle: () => Promise.resolve(report) });

/**
 * Starts the backend this machine runs fastest, measuring it unless a stored calibration for
 * the same browser, core count, isolation, model and batch exists (`remeasure` ignores it; the
 * adapters are not part of the key because asking for one can take seconds where WebGPU runs
 * on the CPU). `backend` pins one instead, as `?backend=` does.
 *
 * Without a stored answer the page does not wait for the measurement: wasm starts at once (it is
 * timed first anyway, and runs everywhere), the page loads its teacher on it and is ready, and the
 * timing runs afterwards (`settle`), before anything trains. Only where wasm cannot start does the
 * page wait for the GPU backends' calibration.
 */
export async function selectBackend(
  onStatus: (message: string) => void,
  { backend, batch, remeasure, singleThread }: InitRequest,
): Promise<BackendChoice> {
  if (singleThread) useSingleThreadWasm();
  if (backend) return settled(await pinned(backend, onStatus));
  const key = JSON.stringify({
    browser: navigator.userAgent,
    cores: navigator.hardwareConcurrency,
    isolated: self.crossOriginIsolated === true,
    // Absent (so older stored entries still match) unless the single-thread build was asked for.
    threads: singleThread ? 1 : undefined,
    model: CALIBRATION_MODEL.name,
    batch,
  });
  const stored = remeasure ? null : await storedCalibration(key);
  if (stored) {
    const { report } = stored;
    onStatus(`Starting ${report.backend} (the fastest when last measured)…`);
    try {
      await startBackend(report.backend);
      return settled({ ...report, choice: 'stored', wasm: report.backend === 'wasm' ? wasmInfo() : null });
    } catch {
      // The stored winner no longer starts (a driver changed under the same name): measure again.
    }
  }
  const wasm = await startWasm(onStatus);
  const measured = async (keepWasm: boolean) => {
    const report = await measure(onStatus, batch, wasm, keepWasm);
    await storeCalibration({ key, report });
    return report;
  };
  if (wasm.startMs === undefined) return settled(await measured(false));
  const started: BackendReport = {
    backend: 'wasm',
    adapter: null,
    attempts: [{ ...wasm }],
    choice: 'provisional',
    why:
      'wasm started at once, so the page is ready; every backend is being timed now, and the fastest ' +
      'takes over before anything trains.',
    calibration: null,
    measuredAt: null,
    wasm: wasmInfo(),
  };
  let settling: Promise<BackendReport> | null = null;
  const settle = () =>
    (settling ??= measured(true).catch((err: unknown) => ({
      ...started,
      choice: 'calibrated' as const,
      why: `wasm is kept: timing the backends failed (${reasonOf(err)}).`,
    })));
  return { started, settle };
}
