import { shortRunName } from './format';
import { useStudio } from './store';
import { dismissResume, resumeRun } from './studio-actions';

/** On load: runs cut short (tab closed, reloaded, stopped) that can continue from their last checkpoint. */
export function ResumeOffer() {
  const runs = useStudio((s) => s.resumable);
  if (runs.length === 0) return null;
  return (
    <aside aria-labelledby="resume-heading" className="resume-offer" data-testid="resume-offer">
      <h2 id="resume-heading">Resume an interrupted run?</h2>
      <ul>
        {runs.map((r) => (
          <li key={r.id}>
            Run {shortRunName(r.id)} from {new Date(r.createdAt).toLocaleString()}: {r.status}, checkpoint at iteration{' '}
            {r.checkpointIteration} of {r.iterations}.{' '}
            <button type="button" onClick={() => void resumeRun(r)}>
              Resume run {shortRunName(r.id)} from iteration {r.checkpointIteration}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="secondary" onClick={dismissResume}>
        Not now
      </button>
    </aside>
  );
}
