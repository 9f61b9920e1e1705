import { downloadBlob, downloadBytes } from './download';
import { shortRunName } from './format';
import { gridsToPng } from './grid-png';
import { metricsCsv } from './metrics-csv';
import { useStudio } from './store';
import { exportStudent, runMetrics } from './studio-actions';

type StudentForm = 'lora' | 'merged' | 'diffusers' | 'peft';

async function saveStudent(form: StudentForm, checkpoint: 'latest' | 'best' = 'latest'): Promise<void> {
  const file = await exportStudent(form, checkpoint);
  const run = useStudio.getState().run;
  if (!file || !run) return;
  // The worker names the file by teacher, form and iteration; the run's short name tells runs apart.
  const name = file.fileName.replace(/(\.safetensors|\.zip)?$/, `-run-${shortRunName(run.id)}$1`);
  downloadBytes(file.bytes, name, name.endsWith('.zip') ? 'application/zip' : 'application/octet-stream');
}

async function saveMetrics(kind: 'csv' | 'json'): Promise<void> {
  const got = await runMetrics();
  if (!got) return;
  const name = `rapm-${shortRunName(got.run.id)}-metrics.${kind}`;
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
    const name = shortRunName(run.id);
    const png = await gridsToPng(
      [
        { image: samples.student, caption: `Student, ${samples.steps} steps` },
        { image: samples.teacher, caption: 'Teacher (its end points from the shards)' },
      ],
      samples.rows,
      `RAPM Studio · run ${name} · iteration ${samples.iteration} · rows are classes, same seeds in both grids`,
    );
    downloadBlob(png, `rapm-${name}-samples-it${samples.iteration}.png`);
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

/**
 * Downloads of the current run: the student (LoRA-only or merged) as it is now and as it was at its
 * best validation score, its metric history, its sample grid.
 */
export function ExportPanel() {
  const run = useStudio((s) => s.run);
  const hasSamples = useStudio((s) => s.samples !== null);
  const error = useStudio((s) => s.exportError);
  const trainedScores = useStudio((s) => s.validation.points.some((p) => p.iteration > 0));
  const noRun = !run;
  const scored = run?.validation?.best ?? null;
  // Iteration 0 is the untrained student (the teacher's own weights): until a later validation
  // exists it is no "best" to offer, and once one exists and has not beaten it, it is named so.
  const best = scored && (scored.iteration > 0 || trainedScores) ? scored : null;
  const bestLabel = best && (best.iteration > 0 ? `iteration ${best.iteration}` : 'iteration 0, untrained');
  const noLora = noRun || run.config.student.mode !== 'lora';
  // a diffusers UNet2DModel teacher's student also exports as diffusers loads it (zipped folders)
  const diffusers = useStudio((s) => s.teacher?.config.architecture === 'diffusers-unet2d');
  return (
    <section aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p id="export-hint" className="hint">
        {noRun
          ? 'Start or resume a run to export it.'
          : `Run ${shortRunName(run.id)}, iteration ${run.iteration} of ${run.iterations}.`}
      </p>
      <p className="hint" data-testid="export-checkpoints">
        {noRun
          ? ''
          : `Latest: iteration ${run.iteration}. ` +
            (best
              ? `Best validation: iteration ${best.iteration} (RMSE ${best.rmse.toFixed(4)})` +
                (best.iteration === 0 ? ', the untrained student: no later score has beaten it.' : '.')
              : scored
                ? "Best validation: none yet after training (the score at iteration 0 is the untrained student's)."
                : run.validation
                  ? 'Best validation: none yet.'
                  : 'Best validation: this run holds out no trajectories.')}
      </p>
      <div className="controls wrap">
        <ExportButton off={noLora} onClick={() => void saveStudent('lora')}>
          Student LoRA (.safetensors)
        </ExportButton>
        <ExportButton off={noRun} onClick={() => void saveStudent('merged')}>
          Student merged (.safetensors)
        </ExportButton>
        <ExportButton off={noLora || !best} onClick={() => void saveStudent('lora', 'best')}>
          {bestLabel ? `Best student LoRA (${bestLabel})` : 'Best student LoRA'}
        </ExportButton>
        <ExportButton off={!best} onClick={() => void saveStudent('merged', 'best')}>
          {bestLabel ? `Best student merged (${bestLabel})` : 'Best student merged'}
        </ExportButton>
        {diffusers && (
          <ExportButton off={noRun} onClick={() => void saveStudent('diffusers')}>
            Student diffusers folder (.zip)
          </ExportButton>
        )}
        {diffusers && (
          <ExportButton off={noLora} onClick={() => void saveStudent('peft')}>
            Student peft LoRA (.zip)
          </ExportButton>
        )}
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
