import { useId } from 'react';
import { formatBytes } from './format';
import { NumberField } from './NumberField';
import { ProgressBar } from './ProgressBar';
import { SelectField } from './SelectField';
import { useStudio, type GenerateSettings } from './store';
import { generateShards, guidanceOf, saveShard } from './studio-actions';

function set(patch: Partial<GenerateSettings>): void {
  useStudio.setState((s) => ({ generateSettings: { ...s.generateSettings, ...patch } }));
}

/** Teacher steps per trajectory of the built-in shards (N x M): every student grid below keeps them. */
const TEACHER_STEPS = 32;

/**
 * The student grids the studio offers: N coarse steps of M = 32 / N teacher steps each, so every
 * choice stores the same 32-step teacher trajectories (the built-in public/shards, -2step, -1step).
 */
const GRIDS = [
  ['4', '4 steps (N = 4, M = 8)'],
  ['2', '2 steps (N = 2, M = 16)'],
  ['1', '1 step (N = 1, M = 32)'],
  ['custom', 'Other: N and M below'],
] as const;
type Grid = (typeof GRIDS)[number][0];

function gridOf(g: GenerateSettings): Grid {
  const match = GRIDS.find(([n]) => n !== 'custom' && Number(n) === g.coarse && g.coarse * g.fine === TEACHER_STEPS);
  return match ? match[0] : 'custom';
}

/** The teacher's trajectory precompute, run here: N coarse steps of M fine steps each, stored as shards. */
export function GeneratePanel() {
  const g = useStudio((s) => s.generateSettings);
  const busy = useStudio((s) => s.generateBusy);
  const error = useStudio((s) => s.generateError);
  const generated = useStudio((s) => s.generated);
  const progress = useStudio((s) => s.progress.generate);
  const teacher = useStudio((s) => s.teacher);
  const dtypeId = useId();
  const unconditional = teacher?.config.numClasses === 0;

  return (
    <section aria-labelledby="generate-heading">
      <h2 id="generate-heading">Generate shards</h2>
      <fieldset disabled={busy}>
        <legend className="visually-hidden">Trajectory settings</legend>
        <div className="form-grid">
          <SelectField
            label="Student steps"
            value={gridOf(g)}
            options={GRIDS}
            hint={
              'N, the steps the student will sample with (trailing grid; on a 1000-step schedule [999, 749, 499, 249], ' +
              '[999, 499] or [999]); each choice runs the teacher for 32 steps.'
            }
            onChange={(grid) => {
              if (grid !== 'custom') set({ coarse: Number(grid), fine: TEACHER_STEPS / Number(grid) });
            }}
          />
          <NumberField
            label="Trajectories"
            value={g.count}
            min={1}
            integer
            hint="Total teacher trajectories to run (balanced over classes)."
            onChange={(count) => set({ count })}
          />
          <NumberField
            label="Per shard"
            value={g.perShard}
            min={1}
            integer
            hint="Trajectories per shard file."
            onChange={(perShard) => set({ perShard })}
          />
          <NumberField
            label="Coarse steps N"
            value={g.coarse}
            min={1}
            integer
            hint="Points kept per trajectory: the student's step count."
            onChange={(coarse) => set({ coarse })}
          />
          <NumberField
            label="Fine steps M"
            value={g.fine}
            min={1}
            integer
            hint="Teacher DDIM steps inside each coarse step."
            onChange={(fine) => set({ fine })}
          />
          <NumberField
            label="Guidance"
            value={guidanceOf(teacher, g.guidance)}
            min={0}
            disabled={unconditional}
            hint={
              unconditional
                ? 'The teacher is unconditional: no classifier-free guidance (1).'
                : 'Teacher classifier-free guidance scale (the built-in teacher and its shards: 1.5).'
            }
            onChange={(guidance) => set({ guidance })}
          />
          <NumberField label="Seed" value={g.seed} min={0} integer onChange={(seed) => set({ seed })} />
          <div className="field">
            <label htmlFor={dtypeId}>Precision</label>
            <select
              id={dtypeId}
              value={g.dtype}
              onChange={(e) => set({ dtype: e.target.value as GenerateSettings['dtype'] })}
            >
              <option value="F16">F16 (half the size)</option>
              <option value="F32">F32</option>
            </select>
          </div>
        </div>
      </fieldset>
      <div className="controls">
        <button type="button" onClick={() => void generateShards()} disabled={busy || !teacher}>
          Generate shards
        </button>
      </div>
      {busy && (
        <ProgressBar
          label="Shard generation"
          done={progress?.done ?? 0}
          total={progress?.total ?? g.count}
          text={progress?.message ?? 'Starting…'}
        />
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {generated.length > 0 && (
        <ul aria-label="Generated shards">
          {generated.map((s) => (
            <li key={s.id}>
              <button type="button" className="link" onClick={() => void saveShard(s.id, 'generateError')}>
                Download {s.fileName}
              </button>{' '}
              ({s.count} trajectories, {formatBytes(s.bytes)})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
