/**
 * What the student's network output means. By default the student predicts what its teacher does
 * (epsilon for the built-in teacher). With 'v_prediction' the same network is read as predicting
 * v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho, progressive distillation): at t = 999, where
 * abar is 4e-5, an epsilon student's x0 is its output's error times 1 / sqrt(abar) = 157, while a
 * v student's x0 is about -v. Its samplers and exports (the merged bundle, the diffusers scheduler's
 * prediction_type) carry the student's reading; it starts from the teacher's weights all the same.
 */
import type { PredictionType } from '../model-config';
import type { StudentConfig } from './config';

export function studentPredictionType(teacher: PredictionType, student: StudentConfig): PredictionType {
  return student.prediction === undefined || student.prediction === 'teacher' ? teacher : student.prediction;
}

/** The teacher's config as the student samples: its prediction type replaced by the student's. */
export function asStudentModel<M extends { prediction: PredictionType }>(model: M, student: StudentConfig): M {
  const prediction = studentPredictionType(model.prediction, student);
  return prediction === model.prediction ? model : { ...model, prediction };
}
