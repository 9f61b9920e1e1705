/**
 * The shipped evaluator (public/evaluator.safetensors) and its real-digit feature fit, loaded once
 * per worker for validation FID and class accuracy. A build without them validates by RMSE only.
 */
import { decodeEvaluation, type Evaluation } from '../core/rapm/validation';
import { BuiltinMissingError } from './studio-errors';
import { fetchPublic } from './teacher';

let loading: Promise<Evaluation | null> | null = null;

async function load(): Promise<Evaluation | null> {
  try {
    const evaluator = await fetchPublic('evaluator.safetensors', 'evaluator');
    const real = await fetchPublic('evaluator-real.safetensors', "evaluator's real-digit features");
    return await decodeEvaluation(new Uint8Array(evaluator), new Uint8Array(real));
  } catch (e) {
    if (e instanceof BuiltinMissingError) return null;
    throw e;
  }
}

export function builtinEvaluation(): Promise<Evaluation | null> {
  loading ??= load().catch((e: unknown) => {
    loading = null;
    throw e;
  });
  return loading;
}
