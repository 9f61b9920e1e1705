import type { QualityScore } from '../worker/protocol';
import { useStudio } from './store';

function Cells({ score }: { score: QualityScore }) {
  return (
    <>
      <td>{score.rmse.toFixed(4)}</td>
      <td>{score.fid === null ? '—' : score.fid.toFixed(1)}</td>
      <td>{score.accuracy === null ? '—' : `${(100 * score.accuracy).toFixed(1)}%`}</td>
    </>
  );
}

/**
 * The run's held-out scores as numbers: the EMA student now and at its best beside the teacher's
 * own lines, and what validating costs. (The curves panel draws the same points over time.)
 */
export function ValidationPanel() {
  const run = useStudio((s) => s.run);
  const { points, references, best } = useStudio((s) => s.validation);
  const itPerSec = useStudio((s) => s.itPerSec);
  const settings = run?.validation ?? null;
  const latest = points.length > 0 ? points[points.length - 1] : null;
  const bestPoint = best ? points.find((p) => p.iteration === best.iteration) : undefined;
  // Share of training time: one validation per `every` iterations at the current rate.
  const share =
    latest && settings && settings.every > 0 && itPerSec > 0 ? latest.ms / 1000 / (settings.every / itPerSec) : null;
  return (
    <section aria-labelledby="validation-heading">
      <h2 id="validation-heading">Validation</h2>
      <p className="hint">
        {!run
          ? 'Start or resume a run to validate it.'
          : !settings
            ? 'This run holds out no trajectories.'
            : `${settings.count} held-out trajectories, never trained on; the EMA student is scored every ` +
              `${settings.every} iterations: pixel RMSE to the teacher's end point from the same noise, and, ` +
              `where the evaluator fits the teacher, FID to real digits (on ${settings.count} samples: compare ` +
              `rows, not with FIDs on thousands) and class accuracy.`}
      </p>
      {settings && (
        <table data-testid="validation-table">
          <thead>
            <tr>
              <th scope="col">sampler</th>
              <th scope="col">RMSE</th>
              <th scope="col">FID</th>
              <th scope="col">accuracy</th>
            </tr>
          </thead>
          <tbody>
            {latest && (
              <tr>
                <th scope="row">student, iteration {latest.iteration}</th>
                <Cells score={latest} />
              </tr>
            )}
            {bestPoint && bestPoint !== latest && (
              <tr>
                <th scope="row">
                  student, best (iteration {bestPoint.iteration}
                  {bestPoint.iteration === 0 && ', untrained'})
                </th>
                <Cells score={bestPoint} />
              </tr>
            )}
            {references.map((r) => (
              <tr key={r.label}>
                <th scope="row">{r.label}</th>
                <Cells score={r} />
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {settings && (
        <p className="hint" data-testid="validation-cost">
          <span data-testid="validation-points">{points.length}</span> validation points
          {latest &&
            `; the last took ${(latest.ms / 1000).toFixed(1)} s` +
              (share === null ? '' : `, about ${(100 * share).toFixed(1)}% of training time at this cadence`)}
          .
        </p>
      )}
    </section>
  );
}
