import { useStudio } from './store';
import { dismissFault } from './studio-actions';

const TITLES = {
  quota: 'Storage is full',
  'device-lost': 'The GPU device was lost',
  worker: 'The studio worker reported a problem',
  storage: 'Storage failed',
  'another-tab': 'Another tab took this run over',
} as const;

/** Faults the worker reports (quota, lost device, storage) and worker crashes, until dismissed. */
export function FaultBanner() {
  const faults = useStudio((s) => s.faults);
  if (faults.length === 0) return null;
  return (
    <div role="alert" className="fault-banner" data-testid="fault-banner">
      {faults.map((f, i) => (
        <p key={`${f.kind}-${i}`} data-kind={f.kind}>
          <strong>{TITLES[f.kind]}.</strong> {f.message}{' '}
          <button type="button" className="secondary" onClick={() => dismissFault(i)}>
            Dismiss
          </button>
        </p>
      ))}
    </div>
  );
}
