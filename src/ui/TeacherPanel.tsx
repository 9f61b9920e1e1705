import { useId, useState } from 'react';
import type { TeacherInfo } from '../worker/protocol';
import { formatBytes, formatCount } from './format';
import { ProgressBar } from './ProgressBar';
import { useStudio } from './store';
import { pickedOfDrop, pickedOfInput, type PickedFile } from './picked-files';
import { loadTeacherFile, loadTeacherPicked } from './studio-actions';

/** The teacher every shard and student is tied to: the built-in one by default, or one loaded from a file. */
/** The network's shape: this studio's UNet, or a diffusers UNet2DModel's config.json and its scheduler. */
function Architecture({ teacher }: { teacher: TeacherInfo }) {
  const { config } = teacher;
  if (config.architecture === 'unet') {
    return (
      <>
        <dt>UNet</dt>
        <dd>
          base {config.unet.baseChannels}, mults [{config.unet.channelMults.join(', ')}],{' '}
          {config.unet.resBlocksPerLevel} res/level, attention [{config.unet.attentionLevels.join(', ')}]
        </dd>
      </>
    );
  }
  const d = config.diffusers;
  const heads = d.attentionHeadDim === null ? 'one head' : `${d.attentionHeadDim} channels per head`;
  const attention = [
    d.downBlockTypes.some((b) => b.startsWith('Attn')) && 'in the Attn blocks',
    d.addAttention && 'in the mid block',
  ].filter(Boolean);
  const scheduler = teacher.scheduler;
  return (
    <>
      <dt>Architecture</dt>
      <dd data-testid="teacher-architecture">diffusers-unet2d (UNet2DModel)</dd>
      <dt>Down blocks</dt>
      <dd data-testid="teacher-down-blocks">{d.downBlockTypes.join(', ')}</dd>
      <dt>Up blocks</dt>
      <dd data-testid="teacher-up-blocks">{d.upBlockTypes.join(', ')}</dd>
      <dt>Channels</dt>
      <dd data-testid="teacher-channels">
        block_out_channels [{d.blockOutChannels.join(', ')}], layers_per_block {d.layersPerBlock}
      </dd>
      <dt>Attention</dt>
      <dd data-testid="teacher-attention">{attention.length ? `${attention.join(' and ')}, ${heads}` : 'none'}</dd>
      <dt>Classes</dt>
      <dd data-testid="teacher-classes">
        {d.numClassEmbeds === null ? 'unconditional' : `${d.numClassEmbeds} (class embedding)`}
      </dd>
      {scheduler && (
        <>
          <dt>Scheduler</dt>
          <dd data-testid="teacher-scheduler">
            {scheduler.className ?? 'unnamed'} ({scheduler.spacing} spacing, offset {scheduler.stepsOffset}), sampled
            with DDIM
          </dd>
        </>
      )}
    </>
  );
}

/** Hands a drop or a pick to the loader (the input is cleared so the same files can be picked again). */
function picked(files: PickedFile[]): void {
  if (files.length > 0) void loadTeacherPicked(files);
}

export function TeacherPanel() {
  const teacher = useStudio((s) => s.teacher);
  const busy = useStudio((s) => s.teacherBusy);
  const error = useStudio((s) => s.teacherError);
  const missing = useStudio((s) => s.teacherMissing);
  const progress = useStudio((s) => s.progress.teacher);
  const inputId = useId();
  const filesId = useId();
  const folderId = useId();
  const [dragging, setDragging] = useState(false);

  return (
    <section
      aria-labelledby="teacher-heading"
      className={dragging ? 'drop-target' : undefined}
      data-testid="teacher-panel"
      onDragOver={(e) => {
        if (busy || !e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        setDragging(false);
        if (busy) return;
        e.preventDefault();
        void pickedOfDrop(e.dataTransfer).then(picked);
      }}
    >
      <h2 id="teacher-heading">Teacher</h2>
      {teacher ? (
        <dl className="facts" aria-label="Loaded teacher">
          <dt>Name</dt>
          <dd data-testid="teacher-name">{teacher.name}</dd>
          <dt>Source</dt>
          <dd>{teacher.builtin ? 'built-in' : teacher.config.architecture === 'unet' ? 'file' : 'diffusers folder'}</dd>
          <dt>Size</dt>
          <dd>
            {formatBytes(teacher.bytes)}, {formatCount(teacher.params)} parameters
          </dd>
          <dt>Data</dt>
          <dd>
            {teacher.config.data.channels}×{teacher.config.data.height}×{teacher.config.data.width},{' '}
            {teacher.config.numClasses === 0 ? 'unconditional' : `${teacher.config.numClasses} classes`}
          </dd>
          <Architecture teacher={teacher} />
          <dt>Prediction</dt>
          <dd data-testid="teacher-prediction">
            {teacher.config.prediction}, {teacher.config.schedule.kind} schedule, {teacher.config.schedule.trainSteps}{' '}
            steps
          </dd>
          <dt>SHA-256</dt>
          <dd title={teacher.sha256} data-testid="teacher-sha256">
            {teacher.sha256.slice(0, 16)}…
          </dd>
        </dl>
      ) : busy ? (
        <p>Loading the teacher…</p>
      ) : (
        <p data-testid="no-teacher">
          {missing ?? 'No teacher loaded. Load a teacher bundle or a diffusers model folder below.'}
        </p>
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
      <div className="controls">
        <label htmlFor={filesId}>Load a diffusers UNet's three files</label>
        <input
          id={filesId}
          aria-describedby={`${filesId}-hint`}
          type="file"
          multiple
          accept=".json,.safetensors"
          disabled={busy}
          onChange={(e) => {
            const files = pickedOfInput(e.target.files);
            e.target.value = '';
            picked(files);
          }}
        />
        <small id={`${filesId}-hint`} className="hint">
          config.json, scheduler_config.json and diffusion_pytorch_model.safetensors
        </small>
      </div>
      <div className="controls">
        <label htmlFor={folderId}>Load a diffusers folder (a UNet folder or a saved pipeline)</label>
        <input
          id={folderId}
          type="file"
          // not in React's types: the folder picker of every current browser
          {...{ webkitdirectory: '' }}
          disabled={busy}
          onChange={(e) => {
            const files = pickedOfInput(e.target.files);
            e.target.value = '';
            picked(files);
          }}
        />
      </div>
      <p className="hint">Or drop a teacher bundle or a diffusers model folder onto this panel.</p>
    </section>
  );
}
