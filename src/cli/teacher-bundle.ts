/** Writes a teacher's weights as a model bundle, with provenance in its config. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { encodeTensorMap } from '../core/io/tensor-map';
import type { ModelConfig } from '../core/model-config';

export async function saveTeacherBundle(
  path: string,
  model: ModelConfig,
  params: Record<string, tf.Tensor>,
  provenance: Record<string, string>,
): Promise<void> {
  const config: ModelConfig = { ...model, provenance: { ...provenance, date: new Date().toISOString() } };
  const bytes = await encodeTensorMap(params, {
    format: 'rapm-studio/model',
    version: '1',
    config: JSON.stringify(config),
  });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
