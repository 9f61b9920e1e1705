import { useId } from 'react';
import { BACKENDS, type BackendAttempt, type BackendReport } from '../worker/protocol';
import { adapterName, seconds } from './backend-text';
import { IterationCosts } from './IterationCosts';
import { useStudio } from './store';
import { chooseBackend, pinnedBackend } from './studio-actions';

function threadsText(report: BackendReport): string | null {
  if (!report.wasm) return null;
  const { threads, isolated, singleThreadAsked } = report.wasm;
  if (threads > 1) return `${threads} threads`;
  if (singleThreadAsked) return '1 thread: the single-thread build, as ?threads=1 asks';
  return isolated
    ? '1 thread'
    : '1 thread: the page is not cross-origin isolated, so the threaded build cannot run (see the README)';
}

function candidateText(a: BackendAttempt): string {
  const parts: string[] = [];
  if (a.adapter) parts.push(`on ${adapterName(a.adapter)}`);
  if (a.startMs !== undefined) parts.push(`started in ${seconds(a.startMs)}`);
  if (a.stepMs !== undefined) parts.push(`${Math.round(a.stepMs)} ms per step`);
  if (a.reason) parts.push(a.ok ? a.reason : `not used: ${a.reason}`);
  return parts.join(', ');
}

/** The backend in use, every candidate's calibration, why this one, and a control to override it. */
export function BackendPanel() {
  const report = useStudio((s) => s.backend);
  const selectId = useId();
  const pinned = pinnedBackend();
  const threads = report ? threadsText(report) : null;
  return (
    <section aria-label="Backend" className="backend-panel">
      <p>
        Backend{' '}
        <strong data-testid="backend" data-choice={report?.choice}>
          {report?.backend ?? '…'}
        </strong>
        {report?.adapter && (
          <>
            {' '}
            on <span data-testid="adapter">{adapterName(report.adapter)}</span>
          </>
        )}
        {threads && (
          <>
            {' '}
            · <span data-testid="wasm-threads">{threads}</span>
          </>
        )}
        <label htmlFor={selectId} className="backend-choice">
          Backend to use
        </label>{' '}
        <select
          id={selectId}
          value={pinned ?? 'auto'}
          onChange={(e) => chooseBackend(e.target.value as (typeof BACKENDS)[number] | 'auto')}
        >
          <option value="auto">the fastest measured</option>
          {BACKENDS.map((b) => (
            <option key={b} value={b}>
              {b} only
            </option>
          ))}
        </select>
      </p>
      {report && (
        <>
          <p className="hint" data-testid="backend-why">
            {report.why}
            {report.calibration &&
              ` Each backend that starts runs one UNet forward+backward to warm up and one timed (${report.calibration.model} architecture, random weights, batch ${report.calibration.batch}).`}
            {report.choice === 'stored' && report.measuredAt !== null && (
              <>
                {' '}
                Measured {new Date(report.measuredAt).toLocaleString()} and stored for this browser and machine.{' '}
                <button type="button" className="secondary" onClick={() => chooseBackend('auto', true)}>
                  Measure again
                </button>
              </>
            )}
          </p>
          <ul className="hint candidates" data-testid="backend-candidates">
            {report.attempts.map((a) => (
              <li key={a.backend} data-backend={a.backend} data-chosen={a.backend === report.backend}>
                <strong>{a.backend}</strong>: {candidateText(a)}
              </li>
            ))}
          </ul>
        </>
      )}
      <IterationCosts />
    </section>
  );
}
