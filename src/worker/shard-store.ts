/**
 * The shards in IndexedDB: import (each file validated against the loaded teacher before it is
 * stored), list, remove, download, and reading them back as one training set.
 */
import { FormatError } from '../core/io/errors';
import {
  readShard,
  validateShard,
  type ShardSummary,
  type ShardTeacher,
  type TeacherIdentity,
} from '../core/io/shards';
import { deleteShard, listStoredShards, putShard, shardBytes, type StoredShard } from './db';
import type { BuiltinShardSteps, ShardInfo, ShardRejection } from './protocol';
import { fetchPublic } from './teacher';
import type { NamedShard } from '../core/rapm/trajectory-set';

export interface ShardFile {
  fileName: string;
  bytes: ArrayBuffer;
}

async function sha256(bytes: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function withMatch(s: StoredShard, teacher: TeacherIdentity | null): ShardInfo {
  const { teacherSha256: _sha, contentSha256: _content, ...info } = s;
  void _sha;
  void _content;
  return { ...info, teacherMatch: teacher !== null && s.teacherSha256 === teacher.sha256 };
}

export async function listShards(teacher: TeacherIdentity | null): Promise<ShardInfo[]> {
  return (await listStoredShards()).map((s) => withMatch(s, teacher));
}

function storedShard(fileName: string, summary: ShardSummary, contentSha256: string): StoredShard {
  return {
    id: crypto.randomUUID(),
    fileName,
    count: summary.count,
    bytes: summary.byteLength,
    slots: summary.slots,
    dtype: summary.positionsDtype,
    hasDelta: summary.hasDelta,
    teacherName: summary.teacher.name,
    teacherSha256: summary.teacher.sha256,
    contentSha256,
    addedAt: Date.now(),
  };
}

/** Stores one already validated shard (e.g. one the worker just generated). */
export async function storeShard(
  fileName: string,
  bytes: ArrayBuffer,
  summary: ShardSummary,
  teacher: TeacherIdentity,
): Promise<ShardInfo> {
  const stored = storedShard(fileName, summary, await sha256(bytes));
  await putShard(stored, bytes);
  return withMatch(stored, teacher);
}

/**
 * Validates and stores each file in turn. A rejected file (damaged, NaN, another teacher, already
 * stored) is reported and nothing of it is stored; a storage failure stops the import (the files
 * stored before it stay) and propagates.
 */
export async function importShards(
  files: ShardFile[],
  teacher: ShardTeacher,
  onProgress: (done: number, total: number, fileName: string) => void,
): Promise<{ added: ShardInfo[]; rejected: ShardRejection[] }> {
  const added: ShardInfo[] = [];
  const rejected: ShardRejection[] = [];
  const known = new Set((await listStoredShards()).map((s) => s.contentSha256));
  for (const [i, { fileName, bytes }] of files.entries()) {
    onProgress(i, files.length, fileName);
    let summary: ShardSummary;
    try {
      summary = validateShard(bytes, teacher);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      rejected.push({ fileName, code: e.code, message: e.message });
      continue;
    }
    const content = await sha256(bytes);
    if (known.has(content)) {
      rejected.push({
        fileName,
        code: 'duplicate',
        message: 'this shard is already stored; training on it twice would weight its trajectories double',
      });
      continue;
    }
    const stored = storedShard(fileName, summary, content);
    await putShard(stored, bytes);
    known.add(content);
    added.push(withMatch(stored, teacher.identity));
  }
  onProgress(files.length, files.length, '');
  return { added, rejected };
}

/**
 * A built-in set's manifest.json (written by `npm run trajectories`) and the files it lists: N = 4 in
 * public/shards, N = 2 and 1 in public/shards-2step and public/shards-1step (docs/results-fewstep.md).
 * The 2- and 1-step files are stored under names that say their set, so the shard list tells them apart.
 */
export async function fetchBuiltinShards(
  steps: BuiltinShardSteps,
  onProgress: (done: number, total: number, name: string) => void,
) {
  const dir = steps === 4 ? 'shards' : `shards-${steps}step`;
  const what = `built-in ${steps}-step shards`;
  const manifest = JSON.parse(new TextDecoder().decode(await fetchPublic(`${dir}/manifest.json`, what))) as {
    files?: { file?: unknown }[];
  };
  const names = (manifest.files ?? []).map((f) => f.file).filter((f): f is string => typeof f === 'string');
  const files: ShardFile[] = [];
  for (const [i, name] of names.entries()) {
    onProgress(i, names.length, name);
    const fileName = steps === 4 ? name : `${dir}-${name}`;
    files.push({ fileName, bytes: await fetchPublic(`${dir}/${name}`, `${what}: ${name}`) });
  }
  return files;
}

export async function removeShard(id: string): Promise<void> {
  await deleteShard(id);
}

export async function downloadShard(id: string): Promise<ShardFile> {
  const info = (await listStoredShards()).find((s) => s.id === id);
  const bytes = await shardBytes(id);
  if (!info || !bytes) throw new Error(`No stored shard '${id}': it was removed; reload the shard list.`);
  return { fileName: info.fileName, bytes };
}

/** Every stored shard of `teacher`, decoded and checked against it (the driver joins them). */
export async function loadTrainingSet(teacher: ShardTeacher): Promise<NamedShard[]> {
  const shards: NamedShard[] = [];
  for (const s of await listStoredShards()) {
    if (s.teacherSha256 !== teacher.identity.sha256) continue;
    const bytes = await shardBytes(s.id);
    if (bytes) shards.push({ name: s.fileName, shard: readShard(bytes, teacher) });
  }
  return shards;
}
