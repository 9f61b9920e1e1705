import { useId } from 'react';
import { GridCanvas } from './GridCanvas';
import { NumberField } from './NumberField';
import { ProgressBar } from './ProgressBar';
import { useStudio, type PreviewSettings } from './store';
import { guidanceOf, runPreview } from './studio-actions';

function set(patch: Partial<PreviewSettings>): void {
  useStudio.setState((s) => ({ previewSettings: { ...s.previewSettings, ...patch } }));
}

/** Samples on demand: the student on the grid it was trained on, or the teacher at any step count and guidance, timed per image. */
export function PreviewPanel() {
  const p = useStudio((s) => s.previewSettings);
  const preview = useStudio((s) => s.preview);
  const busy = useStudio((s) => s.previewBusy);
  const error = useStudio((s) => s.previewError);
  const progress = useStudio((s) => s.progress.preview);
  const teacher = useStudio((s) => s.teacher);
  const run = useStudio((s) => s.run);
  const whoId = useId();
  const student = p.who === 'student';
  // an unconditional teacher samples class 0 at guidance 1
  const classes = Math.max(1, teacher?.config.numClasses ?? 10);
  const unconditional = teacher?.config.numClasses === 0;

  return (
    <section aria-labelledby="preview-heading">
      <h2 id="preview-heading">Preview</h2>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={whoId}>Model</label>
          <select
            id={whoId}
            value={p.who}
            onChange={(e) => set({ who: e.target.value as PreviewSettings['who'] })}
            aria-describedby={`${whoId}-hint`}
          >
            <option value="student">student (its own steps)</option>
            <option value="teacher">teacher</option>
          </select>
          <small id={`${whoId}-hint`} className="hint">
            The student samples on the coarse steps it was trained on (its shards' N), with guidance distilled in; the
            teacher takes any step count.
          </small>
        </div>
        <NumberField
          label="Class"
          value={p.classLabel}
          min={0}
          max={classes - 1}
          integer
          hint={`0 to ${classes - 1}`}
          onChange={(classLabel) => set({ classLabel })}
        />
        <NumberField label="Seed" value={p.seed} min={0} integer onChange={(seed) => set({ seed })} />
        <NumberField label="Count" value={p.count} min={1} max={64} integer onChange={(count) => set({ count })} />
        <NumberField
          label="Teacher steps"
          value={p.steps}
          min={1}
          max={1000}
          integer
          disabled={student}
          onChange={(steps) => set({ steps })}
        />
        <NumberField
          label="Teacher guidance"
          value={guidanceOf(teacher, p.guidance)}
          min={0}
          disabled={student || unconditional}
          hint={
            unconditional
              ? 'The teacher is unconditional: no classifier-free guidance (1).'
              : 'Classifier-free guidance scale (1 = none; the built-in teacher: 1.5).'
          }
          onChange={(guidance) => set({ guidance })}
        />
      </div>
      <div className="controls">
        <button type="button" onClick={() => void runPreview()} disabled={busy || !teacher || (student && !run)}>
          Generate preview
        </button>
        {student && !run && <span className="hint">Start or resume a run to preview its student.</span>}
      </div>
      {busy && (
        <ProgressBar
          label="Preview"
          done={progress?.done ?? 0}
          total={progress?.total ?? 0}
          text={progress?.message ?? 'Sampling…'}
        />
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {preview && (
        <figure>
          <GridCanvas
            image={preview.image}
            label={`${preview.who} preview, ${preview.steps} steps`}
            testId="preview-grid"
            zoom={4}
          />
          <figcaption data-testid="preview-timing">
            {preview.who}, {preview.steps} steps: {preview.msPerImage.toFixed(1)} ms/image
          </figcaption>
        </figure>
      )}
    </section>
  );
}
