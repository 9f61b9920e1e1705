import { describe, expect, it } from 'vitest';
import { DEFAULT_RAPM, DEFAULT_STUDENT_LR } from './config';
import { checkRapmConfig, checkTrainingSettings } from './config-check';
import { withSetting } from './settings';

const fail = (m: string) => new Error(m);

describe('student mode defaults', () => {
  it('starts as LoRA at the LoRA learning rate', () => {
    expect(DEFAULT_RAPM.student.mode).toBe('lora');
    expect(DEFAULT_RAPM.studentLr).toBe(DEFAULT_STUDENT_LR.lora);
    expect(DEFAULT_STUDENT_LR).toEqual({ lora: 2e-4, full: 5e-5 });
  });

  it('moves a default learning rate with the mode, and keeps one the user chose', () => {
    const full = withSetting(DEFAULT_RAPM, 'student.mode', 'full');
    expect(full.student.mode).toBe('full');
    expect(full.studentLr).toBe(DEFAULT_STUDENT_LR.full);
    expect(withSetting(full, 'student.mode', 'lora').studentLr).toBe(DEFAULT_STUDENT_LR.lora);
    const chosen = withSetting({ ...DEFAULT_RAPM, studentLr: 3e-4 }, 'student.mode', 'full');
    expect(chosen.studentLr).toBe(3e-4);
  });
});

describe('LoRA alpha follows the rank', () => {
  it('moves an alpha still equal to the rank, and keeps one the user chose', () => {
    const r4 = withSetting(DEFAULT_RAPM, 'student.rank', 4);
    expect(r4.student).toMatchObject({ rank: 4, alpha: 4 });
    const chosen = withSetting(withSetting(DEFAULT_RAPM, 'student.alpha', 2), 'student.rank', 16);
    expect(chosen.student).toMatchObject({ rank: 16, alpha: 2 });
  });

  it('a config or request without alpha takes the rank', () => {
    const { student, ...rest } = DEFAULT_RAPM;
    const s = checkRapmConfig({ ...rest, student: { ...student, rank: 3, alpha: undefined } }, fail).student;
    expect(s.alpha).toBe(3);
    expect(checkTrainingSettings({ config: { student: { rank: 5 } } }, fail).config.student.alpha).toBe(5);
  });
});

describe('discriminators', () => {
  it('a config saved before the setting existed takes it from its lambdas', () => {
    const { discriminators: _, ...old } = DEFAULT_RAPM;
    void _;
    const cases = [
      [1, 1, 'both'],
      [1, 0, 'relative'],
      [0, 0.5, 'absolute'],
      [0, 0, 'off'],
    ] as const;
    for (const [lambdaRel, lambdaAbs, want] of cases)
      expect(checkRapmConfig({ ...old, lambdaRel, lambdaAbs }, fail).discriminators).toBe(want);
  });

  it('follows the lambdas in the form while it is at their rule, and stays where it was set', () => {
    const relOnly = withSetting(DEFAULT_RAPM, 'lambdaAbs', 0);
    expect(relOnly.discriminators).toBe('relative');
    expect(withSetting(relOnly, 'lambdaAbs', 1).discriminators).toBe('both');
    const off = withSetting(DEFAULT_RAPM, 'discriminators', 'off');
    expect(withSetting(off, 'lambdaAbs', 0.5).discriminators).toBe('off');
  });
});

describe('checks from the table', () => {
  it('refuses values out of bounds, naming the field', () => {
    expect(() => checkRapmConfig({ ...DEFAULT_RAPM, discSteps: 0 }, fail)).toThrow(/config\.discSteps/);
    expect(() => checkRapmConfig({ ...DEFAULT_RAPM, emaDecay: 1 }, fail)).toThrow(/config\.emaDecay/);
    expect(() => checkRapmConfig({ ...DEFAULT_RAPM, discriminators: 'some' }, fail)).toThrow(/discriminators/);
    expect(() => checkTrainingSettings({ run: { iterations: 0 } }, fail)).toThrow(/run\.iterations/);
    expect(() => checkRapmConfig({ ...DEFAULT_RAPM, studentBetas: [0.5] }, fail)).toThrow(/studentBetas/);
  });

  it('keeps fields it does not know (a newer writer), and the defaults pass their own checks', () => {
    expect(checkRapmConfig({ ...DEFAULT_RAPM, future: 3 }, fail)).toMatchObject({ future: 3 });
    expect(checkRapmConfig(DEFAULT_RAPM, fail)).toEqual(DEFAULT_RAPM);
  });
});
