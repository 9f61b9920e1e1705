import { useEffect, useId, useState } from 'react';

/**
 * A labelled number input that keeps the text being typed ("5e-", "0.") and only reports values
 * that parse and respect the bounds, so the store never holds NaN. `hint` becomes its description.
 */
export function NumberField({
  label,
  value,
  onChange,
  hint,
  min,
  max,
  belowMax = false,
  integer = false,
  disabled = false,
}: {
  label: string;
  value: number;
  onChange: (value: number) => void;
  hint?: string;
  min?: number;
  max?: number;
  /** `max` itself is refused. */
  belowMax?: boolean;
  integer?: boolean;
  disabled?: boolean;
}) {
  const id = useId();
  const [text, setText] = useState(String(value));
  useEffect(() => setText((t) => (Number(t) === value ? t : String(value))), [value]);
  const accepts = (t: string) => {
    const v = Number(t);
    return (
      t.trim() !== '' &&
      Number.isFinite(v) &&
      (!integer || Number.isInteger(v)) &&
      (min === undefined || v >= min) &&
      (max === undefined || (belowMax ? v < max : v <= max))
    );
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        inputMode={integer ? 'numeric' : 'decimal'}
        value={text}
        disabled={disabled}
        aria-invalid={!accepts(text)}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (accepts(e.target.value)) onChange(Number(e.target.value));
        }}
      />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}
