import { useEffect, useId, useState } from 'react';
import { formatDuration, shortRunName } from './format';
import { ProgressBar } from './ProgressBar';
import { useStudio } from './store';
import { useRunListState } from './use-run-list-state';
import { otherTabRuns, resumableRuns } from './run-lists';
import { continueTraining, pauseTraining, resumeRun, runLists, startTraining, stopTraining } from './studio-actions';

/** Seconds since `since` (a Date.now() stamp), re-rendered every second while `since` is set. */
function useElapsed(since: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (since === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [since]);
  return since === null ? 0 : Math.max(0, (now - since) / 1000);
}

/**
 * The run's controls, progress and what the loop is busy with, in the page's sticky header so
 * they stay in view wherever the page is scrolled. A click is acknowledged at once (the button
 * says "Pausing…"), the worker's phase line then says what the run waits for and since when.
 */
export function RunBar() {
  const run = useStudio((s) => s.run);
  const state = useStudio((s) => s.trainingState);
  const phase = useStudio((s) => s.trainingPhase);
  const pending = useStudio((s) => s.controlPending);
  const itPerSec = useStudio((s) => s.itPerSec);
  const teacher = useStudio((s) => s.teacher);
  const usable = useStudio((s) => s.shards.some((x) => x.teacherMatch));
  const elapsed = useElapsed(phase?.since ?? null);
  const locked = state !== 'idle';
  const lists = useRunListState();
  // While a run can go on, going on is the first action; a new run leaves it stored.
  const [resumable] = locked ? [] : resumableRuns(runLists(lists));
  const others = otherTabRuns(lists);
  const startHint = useId();
  const startNote = resumable
    ? `Start training starts a new run; run ${shortRunName(resumable.id)} stays stored and can be resumed later.`
    : others.length > 0
      ? `Run ${shortRunName(others[0].run.id)} trains in another tab; Start training here starts a separate run.`
      : null;

  const remaining = run ? run.iterations - run.iteration : 0;
  // Before two iterations have been timed there is no rate: say so rather than "0.00 it/s".
  const rate = itPerSec > 0 ? `${itPerSec.toFixed(2)} it/s` : '— it/s';
  const progressText = run
    ? `Iteration ${run.iteration} / ${run.iterations} · ${rate} · ETA ${
        state === 'running' && itPerSec > 0 ? formatDuration(remaining / itPerSec) : '—'
      }`
    : undefined;

  return (
    <div className="run-bar" data-testid="run-bar">
      <div className="controls">
        {resumable && (
          <button type="button" data-testid="resume-primary" onClick={() => void resumeRun(resumable)}>
            Resume run {shortRunName(resumable.id)}
          </button>
        )}
        <button
          type="button"
          className={resumable ? 'secondary' : undefined}
          aria-describedby={startNote ? startHint : undefined}
          onClick={() => void startTraining()}
          disabled={locked || !teacher || !usable}
        >
          Start training
        </button>
        <button type="button" onClick={() => void pauseTraining()} disabled={state !== 'running' || pending !== null}>
          {pending === 'pause' ? 'Pausing…' : 'Pause'}
        </button>
        <button type="button" onClick={() => void continueTraining()} disabled={state !== 'paused' || pending !== null}>
          Continue
        </button>
        <button
          type="button"
          onClick={() => void stopTraining()}
          disabled={(state !== 'running' && state !== 'paused') || pending === 'stop'}
        >
          {pending === 'stop' || state === 'stopping' ? 'Stopping…' : 'Stop'}
        </button>
        {run && (
          <span className="hint" data-testid="run-state">
            Run <span data-testid="run-name">{shortRunName(run.id)}</span> ·{' '}
            <span data-testid="training-state">{state}</span> · status {run.status} · checkpoint at iteration{' '}
            <span data-testid="checkpoint-iteration">{run.checkpointIteration}</span>
          </span>
        )}
      </div>
      {run && <ProgressBar label="Training" done={run.iteration} total={run.iterations} text={progressText} />}
      {phase && (
        <p className="phase" role="status" aria-label="Training phase" data-testid="training-phase">
          {phase.label[0].toUpperCase() + phase.label.slice(1)}…{' '}
          {phase.measured && (
            <span data-testid="phase-measured">
              {phase.measured.done} of {phase.measured.total} trajectories measured ·{' '}
            </span>
          )}
          {formatDuration(elapsed)}
        </p>
      )}
      {startNote && (
        <p className="hint" id={startHint} data-testid="start-note">
          {startNote}
        </p>
      )}
      {!locked && (!teacher || !usable) ? (
        <p className="hint">Training needs a teacher and at least one stored shard made by it.</p>
      ) : null}
    </div>
  );
}
