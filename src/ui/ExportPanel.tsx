import { downloadBlob, downloadBytes } from './download';
import { gridsToPng } from './grid-png';
import { metricsCsv } from './metrics-csv';
import { useStudio } from './store';
import { exportStudent, runMetrics } from './studio-actions';

async function saveStudent(form: 'lora' | 'merged'): Promise<void> {
  const file = await exportStudent(form);
  if (file) downloadBytes(file.bytes, file.fileName, 'application/octet-stream');
}

async function saveMetrics(kind: 'csv' | 'json'): Promise<void> {
  const got = await runMetrics();
  if (!got) return;
  const name = `rapm-${got.run.id}-metrics.${kind}`;
  if (kind === 'csv') downloadBlob(new Blob([metricsCsv(got.metrics)], { type: 'text/csv' }), name);
  else
    downloadBlob(
      new Blob([JSON.stringify({ run: got.run, metrics: got.metrics }, null, 1)], { type: 'application/json' }),
      name,
    );
}

async function saveGrid(): Promise<void> {
  const { samples, run } = useStudio.getState();
  if (!samples || !run) return;
  try {
    const png = await gridsToPng([samples.student, samples.teacher]);
    downloadBlob(png, `rapm-${run.id}-samples-it${samples.iteration}.png`);
  } catch (err) {
    useStudio.setState({ exportError: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * A download button that stays in the Tab order while it has nothing to download (aria-disabled
 * rather than disabled), so a keyboard user finds it and hears the hint that says why it is off.
 */
function ExportButton({ off, onClick, children }: { off: boolean; onClick: () => void; children: string }) {
  return (
    <button
      type="button"
      aria-disabled={off}
      aria-describedby="export-hint"
      onClick={() => {
        if (!off) onClick();
      }}
    >
      {children}
    </button>
  );
}

/** Downloads of the current run: the student (LoRA-only or merged), its metric history, its sample grid. */
export function ExportPanel() {
  const run = useStudio((s) => s.run);
  const hasSamples = useStudio((s) => s.samples !== null);
  const error = useStudio((s) => s.exportError);
  const noRun = !run;
  return (
    <section aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p id="export-hint" className="hint">
        {noRun
          ? 'Start or resume a run to export it.'
          : `Run ${run.id}, iteration ${run.iteration} of ${run.iterations}.`}
      </p>
      <div className="controls wrap">
        <ExportButton off={noRun || run.config.student.mode !== 'lora'} onClick={() => void saveStudent('lora')}>
          Student LoRA (.safetensors)
        </ExportButton>
        <ExportButton off={noRun} onClick={() => void saveStudent('merged')}>
          Student merged (.safetensors)
        </ExportButton>
        <ExportButton off={noRun} onClick={() => void saveMetrics('csv')}>
          Metrics CSV
        </ExportButton>
        <ExportButton off={noRun} onClick={() => void saveMetrics('json')}>
          Metrics JSON
        </ExportButton>
        <ExportButton off={!hasSamples} onClick={() => void saveGrid()}>
          Sample grid PNG
        </ExportButton>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
