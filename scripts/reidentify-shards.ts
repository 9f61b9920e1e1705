/**
 * npx tsx scripts/reidentify-shards.ts TEACHER.safetensors SHARD_DIR
 *
 * Rewrites the `teacher` field of every shard listed in SHARD_DIR/manifest.json (and the
 * manifest's own) to TEACHER's identity as this version computes it, leaving the tensors and every
 * other header field byte for byte as they were. For shards that TEACHER did generate, written
 * when the identity hashed the tensor data only (docs/model-format.md, "Teacher identity"): the
 * trajectories stay valid, only the hash that names their teacher changed. Each rewritten shard is
 * validated against TEACHER (identity and config) before it replaces the old file.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shardTeacher } from '../src/core/io/bundle';
import { parseSafetensorsHeader } from '../src/core/io/safetensors';
import { validateShard, type ShardTeacher } from '../src/core/io/shards';
import type { ShardManifest } from '../src/node/trajectory-shards';

function reidentify(bytes: Uint8Array, teacher: ShardTeacher): Uint8Array {
  const header = parseSafetensorsHeader(bytes);
  const shard = JSON.parse(header.metadata.shard) as { teacher: unknown };
  shard.teacher = teacher.identity;
  const json: Record<string, unknown> = { __metadata__: { ...header.metadata, shard: JSON.stringify(shard) } };
  for (const [name, t] of header.tensors) json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: t.dataOffsets };
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + header.dataLength).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(text, 8);
  out.set(bytes.subarray(header.dataStart), 8 + padded);
  validateShard(out, teacher);
  return out;
}

async function main(): Promise<void> {
  const [teacherPath, dir] = process.argv.slice(2);
  if (!teacherPath || !dir)
    throw new Error('usage: npx tsx scripts/reidentify-shards.ts TEACHER.safetensors SHARD_DIR');
  const teacher = await shardTeacher(await readFile(teacherPath));
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ShardManifest;
  for (const entry of manifest.files) {
    const path = join(dir, entry.file);
    const bytes = reidentify(await readFile(path), teacher);
    await writeFile(`${path}.tmp`, bytes);
    await rename(`${path}.tmp`, path);
    entry.bytes = bytes.byteLength;
    entry.sha256 = createHash('sha256').update(bytes).digest('hex');
  }
  manifest.teacher = teacher.identity;
  manifest.bytes = manifest.files.reduce((a, f) => a + f.bytes, 0);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`${manifest.files.length} shards now name ${teacher.identity.name} sha256 ${teacher.identity.sha256}`);
}

await main();
