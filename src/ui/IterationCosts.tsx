import { useStudio } from './store';

/** Rows kept on screen; the benchmarks read them as they come. */
const SHOWN = 50;

/**
 * `?diagnostics` only: each training iteration's wall time and, on webgpu, the GPU dispatches the
 * worker issued for it and the host time of a replayed step, and the worker's live tensors after
 * it (scripts/bench-dispatches.ts, bench-threads.ts and soak.ts read this table).
 */
export function IterationCosts() {
  const costs = useStudio((s) => s.iterationCosts);
  if (costs.length === 0) return null;
  return (
    <details className="hint" data-testid="iteration-costs">
      <summary>Diagnostics: the last {Math.min(SHOWN, costs.length)} iterations</summary>
      <table>
        <thead>
          <tr>
            <th scope="col">iteration</th>
            <th scope="col">ms</th>
            <th scope="col">GPU dispatches</th>
            <th scope="col">host ms (replayed step)</th>
          </tr>
        </thead>
        <tbody>
          {costs.slice(-SHOWN).map((c) => (
            <tr
              key={c.iteration}
              data-iteration={c.iteration}
              data-ms={c.ms}
              data-dispatches={c.dispatches ?? ''}
              data-host-ms={c.hostMs ?? ''}
              data-tensors={c.tensors}
              data-tensor-bytes={c.tensorBytes}
            >
              <td>{c.iteration}</td>
              <td>{Math.round(c.ms)}</td>
              <td>{c.dispatches ?? '—'}</td>
              <td>{c.hostMs === null ? '—' : c.hostMs.toFixed(1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
