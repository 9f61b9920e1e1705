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

/** Downloads of the current run: the student (LoRA-only or merged), its metric history, its sample grid. */
export function ExportPanel() {
  const run = useStudio((s) => s.run);
  const hasSamples = useStudio((s) => s.samples !== null);
  const error = useStudio((s) => s.exportError);
  const noRun = !run;
  return (
    <section aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p className="hint">
        {noRun
          ? 'Start or resume a run to export it.'
          : `Run ${run.id}, iteration ${run.iteration} of ${run.iterations}.`}
      </p>
      <div className="controls wrap">
        <button
          type="button"
          onClick={() => void saveStudent('lora')}
          disabled={noRun || run.config.student.mode !== 'lora'}
        >
          Student LoRA (.safetensors)
        </button>
        <button type="button" onClick={() => void saveStudent('merged')} disabled={noRun}>
          Student merged (.safetensors)
        </button>
        <button type="button" onClick={() => void saveMetrics('csv')} disabled={noRun}>
          Metrics CSV
        </button>
        <button type="button" onClick={() => void saveMetrics('json')} disabled={noRun}>
          Metrics JSON
        </button>
        <button type="button" onClick={() => void saveGrid()} disabled={!hasSamples}>
          Sample grid PNG
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
