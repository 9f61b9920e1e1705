import { GridCanvas } from './GridCanvas';
import { useStudio } from './store';

/**
 * The student's samples (on its own grid) on fixed seeds and classes beside the teacher's end points for
 * the same seeds, side by side, each row labelled with its class.
 */
export function SamplesPanel() {
  const samples = useStudio((s) => s.samples);
  return (
    <section aria-labelledby="samples-heading">
      <h2 id="samples-heading">Samples</h2>
      {!samples ? (
        <p className="hint">The grid appears at the first sample refresh of a run (rows are classes).</p>
      ) : (
        <>
          <p className="hint" data-testid="samples-iteration">
            Iteration {samples.iteration}; rows are classes, same seeds in both grids.
          </p>
          <div className="pair">
            <span className="pair-caption">class</span>
            <span className="pair-caption">Student, {samples.steps} steps</span>
            <span className="pair-caption">Teacher (z̃₀ from the shards)</span>
            <div className="row-labels" aria-hidden="true">
              {samples.rows.map((label, i) => (
                <span key={i}>{label}</span>
              ))}
            </div>
            <GridCanvas
              image={samples.student}
              label={`Student samples, ${samples.steps} steps, iteration ${samples.iteration}; rows are classes ${samples.rows.join(', ')}`}
              testId="student-grid"
              stamp={samples.iteration}
            />
            <GridCanvas
              image={samples.teacher}
              label={`Teacher end points from the shards; rows are classes ${samples.rows.join(', ')}`}
              testId="teacher-grid"
              stamp={samples.iteration}
            />
          </div>
        </>
      )}
    </section>
  );
}
