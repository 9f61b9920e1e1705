import { useId, useMemo, useState } from 'react';
import { CHANCE_HINGE, curveStatus } from './curve-status';
import { LiveChart } from './LiveChart';
import { metricSeries } from './metric-series';
import { useStudio } from './store';
import { ValidationChart } from './ValidationChart';

// One colour per curve within a chart, and no dashes: dashes multiply the cost of rasterising a
// noisy line (measured in docs/benchmarks.md, "Live curves"); dashes are kept for reference lines.
const LOSSES = [
  { key: 'studentLoss', color: '#2451c7' },
  { key: 'regRel', color: '#1f9e6e' },
  { key: 'regAbs', color: '#0b8fb3' },
  { key: 'advRel', color: '#c7243a' },
  { key: 'advAbs', color: '#d68a00' },
];
const HINGES = [
  { key: 'discLossRel', color: '#c7243a' },
  { key: 'discLossAbs', color: '#d68a00' },
];
const ACCURACIES = [
  { key: 'accRelReal', color: '#c7243a' },
  { key: 'accRelFake', color: '#b3478f' },
  { key: 'accAbsReal', color: '#d68a00' },
  { key: 'accAbsFake', color: '#5d8c00' },
];
const HINGE_LINES = [{ value: CHANCE_HINGE, label: 'chance (2.0)' }];
const ACCURACY_LINES = [{ value: 0.5, label: 'chance (0.5)' }];
const ACCURACY_RANGE: [number, number] = [0, 1];

/**
 * The run's history as small multiples (student losses; discriminator hinges against chance;
 * their accuracies against 0.5; validation scores against the teacher's), with a few plain
 * sentences saying what the recent history means.
 */
export function CurvesPanel() {
  const rows = useStudio((s) => s.metricRows);
  const validation = useStudio((s) => s.validation);
  const [smoothed, setSmoothed] = useState(true);
  const [logScale, setLogScale] = useState(false);
  const ids = { smooth: useId(), log: useId() };

  // Read from the raw columns once per batch of rows: a few hundred rows at most are scanned.
  const status = useMemo(() => {
    const [x, studentLoss, hingeRel, hingeAbs] = metricSeries.columnsOf(
      ['studentLoss', 'discLossRel', 'discLossAbs'],
      false,
    );
    return curveStatus({
      x,
      studentLoss,
      hingeRel,
      hingeAbs,
      validation: validation.points,
      references: validation.references,
    });
  }, [rows, validation]);
  const hasFid = validation.points.some((p) => p.fid !== null);

  return (
    <section aria-labelledby="curves-heading" className="curves">
      <h2 id="curves-heading">Curves</h2>
      {rows > 0 && (
        <ul className="curve-status" aria-label="What the curves say" data-testid="curve-status">
          {status.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
      <div className="controls">
        <label htmlFor={ids.smooth}>
          <input id={ids.smooth} type="checkbox" checked={smoothed} onChange={(e) => setSmoothed(e.target.checked)} />{' '}
          Smoothed (EMA)
        </label>
        <label htmlFor={ids.log}>
          <input id={ids.log} type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> Log
          scale (losses)
        </label>
        <span className="hint">
          <span data-testid="metric-rows">{rows}</span> points
        </span>
      </div>
      <div className="multiples">
        <LiveChart title="Student losses" curves={LOSSES} logScale={logScale} smoothed={smoothed} rows={rows} />
        <LiveChart
          title="Discriminator hinge losses"
          curves={HINGES}
          lines={HINGE_LINES}
          smoothed={smoothed}
          rows={rows}
        />
        <LiveChart
          title="Discriminator accuracies"
          curves={ACCURACIES}
          range={ACCURACY_RANGE}
          lines={ACCURACY_LINES}
          smoothed={smoothed}
          rows={rows}
        />
        <ValidationChart
          title="Validation: pixel RMSE to the teacher"
          metric="rmse"
          points={validation.points}
          references={validation.references}
          color="#2451c7"
        />
        {hasFid && (
          <>
            <ValidationChart
              title="Validation: FID to real digits"
              metric="fid"
              points={validation.points}
              references={validation.references}
              color="#7a3fc7"
            />
            <ValidationChart
              title="Validation: class accuracy"
              metric="accuracy"
              points={validation.points}
              references={validation.references}
              color="#0f766e"
            />
          </>
        )}
      </div>
      {validation.points.length === 0 && (
        <p className="hint">Validation points appear as the run scores its EMA student on the held-out trajectories.</p>
      )}
    </section>
  );
}
