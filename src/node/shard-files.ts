/** Where the CLIs find shards: one file, or every .safetensors in a folder in name order. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A shard file, or a folder's .safetensors files sorted by name (the order the studio imports the built-in ones). */
export async function shardFiles(path: string): Promise<string[]> {
  if ((await stat(path)).isFile()) return [path];
  return (await readdir(path))
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => join(path, f));
}
