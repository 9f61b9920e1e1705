/** A labelled progress bar: determinate when `total` is known, with the worker's message beside it. */
export function ProgressBar({
  label,
  done,
  total,
  text,
}: {
  label: string;
  done: number;
  total: number;
  text?: string;
}) {
  const known = total > 0;
  return (
    <div className="progress">
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={known ? total : undefined}
        aria-valuenow={known ? done : undefined}
        aria-valuetext={text}
        className="progress-track"
      >
        <div
          className="progress-fill"
          style={{ width: known ? `${(100 * Math.min(done, total)) / total}%` : '100%' }}
        />
      </div>
      {text && <span className="progress-text">{text}</span>}
    </div>
  );
}
