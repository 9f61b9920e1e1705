import { formatDuration, shortRunName } from './format';
import { otherTabRuns, resumableRuns, type OtherTabRun } from './run-lists';
import { useRunListState } from './use-run-list-state';
import { dismissResume, resumeRun, runLists } from './studio-actions';

/** What a run that can go on is, in a few words: why it stopped and where it resumes. */
function why(r: { status: string; error?: string }): string {
  if (r.status === 'error') return `failed${r.error ? ` (${r.error})` : ''}`;
  return r.status;
}

function OtherTab({ live }: { live: OtherTabRun }) {
  const { run, state, itPerSec } = live;
  const rate =
    itPerSec > 0
      ? ` · ${itPerSec.toFixed(2)} it/s · ETA ${formatDuration((run.iterations - run.iteration) / itPerSec)}`
      : '';
  return (
    <li data-testid="other-tab-run" data-run={run.id}>
      Run {shortRunName(run.id)}: {state === 'paused' ? 'paused' : 'training'} in another tab, iteration{' '}
      <span data-testid="other-tab-iteration">{run.iteration}</span> of {run.iterations}
      {rate}, checkpoint at iteration {run.checkpointIteration}. That tab owns it: resume it here once that tab stops it
      or closes.
    </li>
  );
}

/**
 * Runs that can go on from their last checkpoint (cut short by a reload or crash, paused,
 * stopped, failed), and the runs other tabs of this browser train now, with their live progress.
 */
export function ResumeOffer() {
  const state = useRunListState();
  const runs = resumableRuns(runLists(state));
  const others = otherTabRuns(state);
  const busy = state.trainingState !== 'idle';
  if (runs.length === 0 && others.length === 0) return null;
  return (
    <>
      {others.length > 0 && (
        <aside aria-labelledby="other-tabs-heading" className="resume-offer" data-testid="other-tabs">
          <h2 id="other-tabs-heading">Training in another tab</h2>
          <ul>
            {others.map((live) => (
              <OtherTab key={live.run.id} live={live} />
            ))}
          </ul>
          <p className="hint">Start training here to train a separate run beside it.</p>
        </aside>
      )}
      {runs.length > 0 && (
        <aside aria-labelledby="resume-heading" className="resume-offer" data-testid="resume-offer">
          <h2 id="resume-heading">Resume an interrupted run?</h2>
          <ul>
            {runs.map((r) => (
              <li key={r.id}>
                Run {shortRunName(r.id)} from {new Date(r.createdAt).toLocaleString()}: {why(r)}, checkpoint at
                iteration {r.checkpointIteration} of {r.iterations}.{' '}
                <button type="button" disabled={busy} onClick={() => void resumeRun(r)}>
                  Resume run {shortRunName(r.id)} from iteration {r.checkpointIteration}
                </button>
              </li>
            ))}
          </ul>
          <p className="hint">
            {busy
              ? 'These runs stay stored while this one trains: resume one once this run stops.'
              : 'Starting a new run keeps these stored: resume them later.'}
          </p>
          <button type="button" className="secondary" onClick={dismissResume}>
            Not now
          </button>
        </aside>
      )}
    </>
  );
}
