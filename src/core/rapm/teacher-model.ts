/** A loaded teacher as training, export and sampling need it: network, weights and identity. */
import type { TeacherIdentity } from '../io/shards';
import type { ModelConfig } from '../model-config';
import type { Params } from '../nn/unet';

export interface TeacherModel {
  config: ModelConfig;
  /** Owned by whoever loaded the teacher; nothing here disposes them. */
  params: Params;
  /** What shards, checkpoints and exports name it by (see `teacherIdentity` in io/bundle.ts). */
  identity: TeacherIdentity;
}
