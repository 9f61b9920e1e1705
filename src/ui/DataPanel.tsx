import { useRef, useState } from 'react';
import { BUILTIN_SHARD_STEPS, type BuiltinShardSteps } from '../worker/protocol';
import { formatBytes, formatCount } from './format';
import { ProgressBar } from './ProgressBar';
import { SelectField } from './SelectField';
import { useStudio } from './store';
import { importBuiltinShards, importShardFiles, removeShard, saveShard } from './studio-actions';

/** Trajectory shards: import (drop, pick, or the built-in set), each validated before it is stored; list; remove. */
export function DataPanel() {
  const shards = useStudio((s) => s.shards);
  const rejections = useStudio((s) => s.rejections);
  const busy = useStudio((s) => s.shardsBusy);
  const error = useStudio((s) => s.shardsError);
  const storage = useStudio((s) => s.storage);
  const teacher = useStudio((s) => s.teacher);
  const progress = useStudio((s) => s.progress.import);
  const input = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [builtinSteps, setBuiltinSteps] = useState<BuiltinShardSteps>(4);
  const total = shards.reduce((n, s) => n + s.count, 0);

  return (
    <section aria-labelledby="data-heading">
      <h2 id="data-heading">Data</h2>
      <p id="drop-help" className="hint">
        Trajectory shards (.safetensors) made by this teacher: <code>npm run trajectories</code> or the Generate
        section. Each file is checked before it is stored.
      </p>
      <button
        type="button"
        className={`drop-zone${dragging ? ' dragging' : ''}`}
        aria-describedby="drop-help"
        disabled={busy || !teacher}
        onClick={() => input.current?.click()}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          void importShardFiles([...e.dataTransfer.files]);
        }}
      >
        {teacher ? 'Drop shard files here, or choose files…' : 'Load a teacher before importing shards'}
      </button>
      <input
        ref={input}
        type="file"
        accept=".safetensors"
        multiple
        hidden
        aria-label="Shard files"
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = '';
          void importShardFiles(files);
        }}
      />
      <div className="controls">
        <SelectField
          label="Built-in set"
          value={String(builtinSteps)}
          options={BUILTIN_SHARD_STEPS.map((n) => [String(n), `${n}-step student`] as const)}
          hint="The built-in teacher's 1,024 trajectories (32 teacher steps, CFG 1.5) on the student's grid. One grid at a time: remove the other set's shards before training."
          onChange={(v) => setBuiltinSteps(Number(v) as BuiltinShardSteps)}
        />
        <button type="button" onClick={() => void importBuiltinShards(builtinSteps)} disabled={busy || !teacher}>
          Use built-in shards
        </button>
      </div>
      {busy && (
        <ProgressBar
          label="Shard import"
          done={progress?.done ?? 0}
          total={progress?.total ?? 0}
          text={progress?.message ?? 'Checking files…'}
        />
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {rejections.length > 0 && (
        <div role="alert" className="error" data-testid="shard-rejections">
          <p>Not imported (nothing of these files was stored):</p>
          <ul>
            {rejections.map((r, i) => (
              <li key={`${r.fileName}-${i}`} data-code={r.code}>
                <strong>{r.fileName}</strong>: {r.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {shards.length === 0 ? (
        <p data-testid="no-shards">No shards stored.</p>
      ) : (
        <table aria-label="Stored shards" data-testid="shard-table">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Trajectories</th>
              <th scope="col">Slots</th>
              <th scope="col">Size</th>
              <th scope="col">Teacher</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shards.map((s) => (
              <tr key={s.id}>
                <td>{s.fileName}</td>
                <td>{formatCount(s.count)}</td>
                <td>
                  {s.slots} {s.dtype}
                  {s.hasDelta ? ' +Δ' : ''}
                </td>
                <td>{formatBytes(s.bytes)}</td>
                <td className={s.teacherMatch ? '' : 'error'}>
                  {s.teacherMatch ? 'matches' : `other (${s.teacherName})`}
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Download ${s.fileName}`}
                    onClick={() => void saveShard(s.id, 'shardsError')}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Remove ${s.fileName}`}
                    onClick={() => void removeShard(s.id)}
                  >
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td>{shards.length} shards</td>
              <td data-testid="trajectory-total">{formatCount(total)}</td>
              <td colSpan={4} />
            </tr>
          </tfoot>
        </table>
      )}
      <p className="hint" data-testid="storage">
        {storage
          ? `Storage: ${formatBytes(storage.usage)} used of ${formatBytes(storage.quota)} available to this site.`
          : 'Storage use unknown.'}
      </p>
    </section>
  );
}
