/** The e2e fixture files (made by scripts/make-e2e-fixtures.ts) and where they lie. */
import { join } from 'node:path';

export const FIXTURES = {
  teacher: 'teacher.safetensors',
  goodShards: ['shard-0000.safetensors', 'shard-0001.safetensors'],
  truncatedShard: 'truncated.safetensors',
  otherTeacherShard: 'other-teacher-shard.safetensors',
};

export function fixture(name: string): string {
  return join('e2e', 'fixtures', name);
}
