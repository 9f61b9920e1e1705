import { useStudio } from './store';

/** Which tfjs backend runs, on which adapter, and why the faster ones were passed over. */
export function BackendPanel() {
  const report = useStudio((s) => s.backend);
  return (
    <section aria-labelledby="backend-heading">
      <h2 id="backend-heading">Backend</h2>
      {!report ? (
        <p>Selecting a backend…</p>
      ) : (
        <>
          <dl className="facts">
            <dt>In use</dt>
            <dd aria-label="Backend in use" data-testid="backend">
              {report.backend}
            </dd>
            {report.adapter && (
              <>
                <dt>Vendor</dt>
                <dd aria-label="Adapter vendor">{report.adapter.vendor || '—'}</dd>
                <dt>Architecture</dt>
                <dd aria-label="Adapter architecture">{report.adapter.architecture || '—'}</dd>
                <dt>Device</dt>
                <dd aria-label="Adapter device">{report.adapter.device || '—'}</dd>
                <dt>Description</dt>
                <dd aria-label="Adapter description">{report.adapter.description || '—'}</dd>
              </>
            )}
          </dl>
          {report.attempts.some((a) => !a.ok) && (
            <>
              <h3>Fallbacks</h3>
              <ul aria-label="Backends that could not be used">
                {report.attempts
                  .filter((a) => !a.ok)
                  .map((a) => (
                    <li key={a.backend}>
                      <strong>{a.backend}</strong>: {a.reason}
                    </li>
                  ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}
