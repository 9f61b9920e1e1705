/** A loaded teacher as training, export and sampling need it: network, weights and identity. */
import type { TeacherIdentity } from '../io/shards';
import type { AnyModelConfig } from '../model-config';
import type { Params } from '../nn/unet';

export interface TeacherModel {
  config: AnyModelConfig;
  /** Owned by whoever loaded the teacher; nothing here disposes them. */
  params: Params;
  /** What shards, checkpoints and exports name it by (see `teacherIdentity` in io/bundle.ts). */
  identity: TeacherIdentity;
}
