import { GridCanvas } from './GridCanvas';
import { useStudio } from './store';

/** The student's samples (on its own grid) on fixed seeds and classes beside the teacher's end points for the same seeds. */
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
            <figure>
              <GridCanvas
                image={samples.student}
                label={`Student samples, ${samples.steps} steps, iteration ${samples.iteration}`}
                testId="student-grid"
                stamp={samples.iteration}
              />
              <figcaption>Student, {samples.steps} steps</figcaption>
            </figure>
            <figure>
              <GridCanvas
                image={samples.teacher}
                label="Teacher end points from the shards"
                testId="teacher-grid"
                stamp={samples.iteration}
              />
              <figcaption>Teacher (z̃₀ from the shards)</figcaption>
            </figure>
          </div>
        </>
      )}
    </section>
  );
}
