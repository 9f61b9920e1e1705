/**
 * Validation of a RAPM config and a trajectory geometry that came from outside the code (a
 * checkpoint's header, a stored run, the studio's form, the CLI's flags): every field typed and
 * within documented bounds (src/core/io/limits.ts) before a trainer allocates anything from it.
 * Fields a config saved by an older version lacks take their defaults, as the trainer does.
 * A violation throws whatever typed error the caller's `fail` builds.
 */
import type { LimitViolation } from '../io/errors';
import { jsonChecks } from '../io/json-checks';
import { LIMITS } from '../io/limits';
import type { SamplingConfig } from '../model-config';
import { DEFAULT_RAPM, type RapmConfig, type StudentConfig } from './config';
import type { TrajectoryGeometry } from './trainer';

type Fail = (message: string, violation?: LimitViolation) => Error;

/** A student config (`path` names it in messages); missing fields take their defaults. */
export function checkStudentConfig(raw: unknown, fail: Fail, path = 'config.student'): StudentConfig {
  const c = jsonChecks(fail);
  const s = { ...DEFAULT_RAPM.student, ...c.object(raw, path) };
  return {
    ...s,
    mode: c.oneOf(s.mode, `${path}.mode`, ['lora', 'full'] as const),
    rank: c.int(s.rank, `${path}.rank`, 1, 'loraRank'),
    alpha: c.number(s.alpha, `${path}.alpha`),
    targets: c.array(s.targets, `${path}.targets`, c.string),
  };
}

export function checkRapmConfig(raw: unknown, fail: Fail): RapmConfig {
  const c = jsonChecks(fail);
  const o = { ...DEFAULT_RAPM, ...c.object(raw, 'config') };
  const weight = (v: unknown, path: string) => c.bounded(v, path, 0, Number.MAX_VALUE);
  const rate = (v: unknown, path: string) => c.bounded(v, path, 0, 1);
  const betas = (v: unknown, path: string): [number, number] => {
    const b = c.array(v, path, (x, p) => c.bounded(x, p, 0, 1, true));
    if (b.length !== 2) throw fail(`${path} must be [beta1, beta2], got ${b.length} numbers`);
    return [b[0], b[1]];
  };
  // Fields this version does not know are kept (a newer writer's); the known ones are replaced by their checked values.
  return {
    ...o,
    student: checkStudentConfig(o.student, fail),
    lambdaRel: weight(o.lambdaRel, 'config.lambdaRel'),
    lambdaAbs: weight(o.lambdaAbs, 'config.lambdaAbs'),
    muRel: weight(o.muRel, 'config.muRel'),
    muAbs: weight(o.muAbs, 'config.muAbs'),
    distance: c.oneOf(o.distance, 'config.distance', ['mse', 'pseudo-huber'] as const),
    studentLr: rate(o.studentLr, 'config.studentLr'),
    studentBetas: betas(o.studentBetas, 'config.studentBetas'),
    discLr: rate(o.discLr, 'config.discLr'),
    discBetas: betas(o.discBetas, 'config.discBetas'),
    discSteps: c.int(o.discSteps, 'config.discSteps', 0, 'discSteps'),
    discReplay: c.int(o.discReplay, 'config.discReplay', 0, 'discReplay'),
    discLoss: c.oneOf(o.discLoss, 'config.discLoss', ['hinge', 'paired'] as const),
    batchSize: c.int(o.batchSize, 'config.batchSize', 1, 'batchSize'),
    // 1 would freeze the EMA at its initial weights: the exported student would never move
    emaDecay: c.bounded(o.emaDecay, 'config.emaDecay', 0, 1, true),
    seed: c.int(o.seed, 'config.seed', -(2 ** 31), 2 ** 31 - 1),
  };
}

/** The geometry a run was trained on, checked against the teacher's schedule. */
export function checkGeometry(raw: unknown, model: SamplingConfig, fail: Fail): TrajectoryGeometry {
  const c = jsonChecks(fail);
  const o = c.object(raw, 'geometry');
  const T = model.schedule.trainSteps;
  const time = (v: unknown, p: string) => c.int(v, p, 0, T - 1);
  const coarseTimesteps = c.array(o.coarseTimesteps, 'geometry.coarseTimesteps', time, 'slots');
  const deltaTimesteps = c.array(o.deltaTimesteps, 'geometry.deltaTimesteps', time, 'slots');
  if (coarseTimesteps.length === 0) throw fail('geometry.coarseTimesteps is empty');
  if (coarseTimesteps.some((x, i) => i > 0 && x >= coarseTimesteps[i - 1]))
    throw fail(`geometry.coarseTimesteps must be strictly descending, got [${coarseTimesteps}]`);
  if (deltaTimesteps.length !== coarseTimesteps.length)
    throw fail(`geometry.deltaTimesteps needs one entry per coarse timestep (${coarseTimesteps.length})`);
  return {
    coarseTimesteps,
    deltaTimesteps,
    guidance: c.bounded(o.guidance, 'geometry.guidance', -LIMITS.guidanceScale, LIMITS.guidanceScale),
  };
}
