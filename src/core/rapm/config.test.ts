import { describe, expect, it } from 'vitest';
import { DEFAULT_RAPM, DEFAULT_STUDENT_LR, withStudentMode } from './config';

describe('student mode defaults', () => {
  it('starts as LoRA at the LoRA learning rate', () => {
    expect(DEFAULT_RAPM.student.mode).toBe('lora');
    expect(DEFAULT_RAPM.studentLr).toBe(DEFAULT_STUDENT_LR.lora);
  });

  it('moves a default learning rate with the mode, and keeps one the user chose', () => {
    const full = withStudentMode(DEFAULT_RAPM, 'full');
    expect(full.student.mode).toBe('full');
    expect(full.studentLr).toBe(DEFAULT_STUDENT_LR.full);
    expect(withStudentMode(full, 'lora').studentLr).toBe(DEFAULT_STUDENT_LR.lora);
    const chosen = withStudentMode({ ...DEFAULT_RAPM, studentLr: 3e-4 }, 'full');
    expect(chosen.studentLr).toBe(3e-4);
  });
});
