/** The e2e fixture files (made by scripts/make-e2e-fixtures.ts) and where they lie. */
import { join } from 'node:path';

export const FIXTURES = {
  teacher: 'teacher.safetensors',
  goodShards: ['shard-0000.safetensors', 'shard-0001.safetensors'],
  truncatedShard: 'truncated.safetensors',
  otherTeacherShard: 'other-teacher-shard.safetensors',
};

/** E2E_FIXTURES points at another folder of the same files (to try fixtures before committing them). */
export function fixture(name: string): string {
  return join(process.env.E2E_FIXTURES || join('e2e', 'fixtures'), name);
}
