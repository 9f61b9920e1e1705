import { useId } from 'react';
import { formatBytes, formatCount } from './format';
import { ProgressBar } from './ProgressBar';
import { useStudio } from './store';
import { loadTeacherFile } from './studio-actions';

/** The teacher every shard and student is tied to: the built-in one by default, or one loaded from a file. */
export function TeacherPanel() {
  const teacher = useStudio((s) => s.teacher);
  const busy = useStudio((s) => s.teacherBusy);
  const error = useStudio((s) => s.teacherError);
  const missing = useStudio((s) => s.teacherMissing);
  const progress = useStudio((s) => s.progress.teacher);
  const inputId = useId();

  return (
    <section aria-labelledby="teacher-heading">
      <h2 id="teacher-heading">Teacher</h2>
      {teacher ? (
        <dl className="facts" aria-label="Loaded teacher">
          <dt>Name</dt>
          <dd data-testid="teacher-name">{teacher.name}</dd>
          <dt>Source</dt>
          <dd>{teacher.builtin ? 'built-in' : 'file'}</dd>
          <dt>Size</dt>
          <dd>
            {formatBytes(teacher.bytes)}, {formatCount(teacher.params)} parameters
          </dd>
          <dt>Data</dt>
          <dd>
            {teacher.config.data.channels}×{teacher.config.data.height}×{teacher.config.data.width},{' '}
            {teacher.config.numClasses} classes
          </dd>
          <dt>UNet</dt>
          <dd>
            base {teacher.config.unet.baseChannels}, mults [{teacher.config.unet.channelMults.join(', ')}],{' '}
            {teacher.config.unet.resBlocksPerLevel} res/level, attention [
            {teacher.config.unet.attentionLevels.join(', ')}]
          </dd>
          <dt>Prediction</dt>
          <dd>
            {teacher.config.prediction}, {teacher.config.schedule.kind} schedule, {teacher.config.schedule.trainSteps}{' '}
            steps
          </dd>
          <dt>SHA-256</dt>
          <dd title={teacher.sha256}>{teacher.sha256.slice(0, 16)}…</dd>
        </dl>
      ) : busy ? (
        <p>Loading the teacher…</p>
      ) : (
        <p data-testid="no-teacher">{missing ?? 'No teacher loaded. Load a teacher bundle below.'}</p>
      )}
      {error && (
        <p role="alert" className="error" data-testid="teacher-error">
          {error}
        </p>
      )}
      {busy && progress && (
        <ProgressBar label="Teacher loading" done={progress.done} total={progress.total} text={progress.message} />
      )}
      <div className="controls">
        <label htmlFor={inputId}>Load a teacher bundle (.safetensors)</label>
        <input
          id={inputId}
          type="file"
          accept=".safetensors"
          disabled={busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) void loadTeacherFile(file);
          }}
        />
      </div>
    </section>
  );
}
