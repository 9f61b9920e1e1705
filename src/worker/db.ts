/**
 * The studio's IndexedDB database (`rapm-studio`). Every write below is ONE transaction, so a
 * failure (quota, tab closed mid-write) leaves either the whole record or nothing.
 *
 * Stores (version 2; version 1 lacked bestCheckpoints):
 *   shardInfo   id -> StoredShard             what the list shows, cheap to read
 *   shardBytes  id -> ArrayBuffer             the file itself, read only to train or download
 *   runs        id -> RunRecord
 *   metrics     [runId, chunk] -> MetricsChunk   one chunk per checkpoint, compacted now and then
 *   checkpoints runId -> StoredCheckpoint     the latest checkpoint of the run
 *   bestCheckpoints runId -> StoredCheckpoint the checkpoint with the best validation score so far
 *   teacher     'last' -> StoredTeacher       the last teacher loaded from a file or diffusers folder
 * A shard's info and bytes are separate stores (written together) so that listing shards does
 * not read hundreds of megabytes of trajectories.
 *
 * A run has one writer: the tab that started or last resumed it took the run's next generation
 * (`takeRun`), and every later write of the run checks, in its own transaction, that the stored
 * generation is still the writer's (RunTakenError otherwise), so a stale tab never overwrites
 * newer work. Every committed write is announced to `onStoredChange` listeners (tabs.ts tells
 * the other tabs).
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type { TeacherIdentity } from '../core/io/shards';
import type { RapmMetrics } from '../core/rapm/metrics';
import type { ValidationRecord } from '../core/rapm/validator';
import { compactMetrics, METRICS_COMPACTION, type CompactionPolicy } from './metrics-compaction';
import type { RunInfo, ShardInfo } from './protocol';
import type { StoredTopic } from './protocol';
import { QuotaError, RunTakenError, StorageError } from './studio-errors';

export const DB_NAME = 'rapm-studio';
export const DB_VERSION = 2;

/** ShardInfo as stored: the teacher match is computed against whichever teacher is loaded. */
export interface StoredShard extends Omit<ShardInfo, 'teacherMatch'> {
  teacherSha256: string;
  /** SHA-256 of the file, to refuse storing the same shard twice. */
  contentSha256: string;
}

/** RunInfo plus what resuming needs. */
export interface RunRecord extends Omit<RunInfo, 'validation' | 'checkpointSeconds'> {
  teacher: TeacherIdentity;
  /** Absent in runs stored before checkpoints were also timed (training-loop.ts's storedSettings fills it). */
  checkpointSeconds?: number;
  /** Split, points, teacher lines, best; null (or absent, in runs stored before it existed) without validation. */
  validation?: ValidationRecord | null;
  /** Bumped by each start or resume (`takeRun`); absent in runs stored before it existed (0). */
  generation?: number;
}

export interface MetricsChunk {
  runId: string;
  chunk: number;
  events: RapmMetrics[];
}

export interface StoredCheckpoint {
  runId: string;
  iteration: number;
  bytes: ArrayBuffer;
}

/**
 * A bundle's file, or a diffusers folder: `bytes` its weights file, `diffusers` its two configs.
 * Records stored before folders could be loaded have no `diffusers` and stay bundles.
 */
export interface StoredTeacher {
  /** The bundle's file name, or the folder's name. */
  fileName: string;
  identity: TeacherIdentity;
  bytes: ArrayBuffer;
  diffusers?: { config: ArrayBuffer; scheduler: ArrayBuffer };
}

interface StudioSchema extends DBSchema {
  shardInfo: { key: string; value: StoredShard };
  shardBytes: { key: string; value: ArrayBuffer };
  runs: { key: string; value: RunRecord };
  metrics: { key: [string, number]; value: MetricsChunk };
  checkpoints: { key: string; value: StoredCheckpoint };
  bestCheckpoints: { key: string; value: StoredCheckpoint };
  teacher: { key: string; value: StoredTeacher };
}

type Db = IDBPDatabase<StudioSchema>;
type StoreName = 'shardInfo' | 'shardBytes' | 'runs' | 'metrics' | 'checkpoints' | 'bestCheckpoints' | 'teacher';

const TOPIC: Record<StoreName, StoredTopic> = {
  shardInfo: 'shards',
  shardBytes: 'shards',
  runs: 'runs',
  metrics: 'runs',
  checkpoints: 'runs',
  bestCheckpoints: 'runs',
  teacher: 'teacher',
};

const changeListeners = new Set<(topics: StoredTopic[]) => void>();

/** Called after every committed write with what it changed. */
export function onStoredChange(listener: (topics: StoredTopic[]) => void): void {
  changeListeners.add(listener);
}

let opened: Promise<Db> | null = null;

function db(): Promise<Db> {
  opened ??= openDB<StudioSchema>(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) {
        database.createObjectStore('shardInfo');
        database.createObjectStore('shardBytes');
        database.createObjectStore('runs');
        database.createObjectStore('metrics', { keyPath: ['runId', 'chunk'] });
        database.createObjectStore('checkpoints', { keyPath: 'runId' });
        database.createObjectStore('teacher');
      }
      if (oldVersion < 2) database.createObjectStore('bestCheckpoints', { keyPath: 'runId' });
    },
  }).catch((e: unknown) => {
    opened = null;
    throw new StorageError('anything (the database did not open)', e);
  });
  return opened;
}

function isQuotaError(e: unknown): boolean {
  return e instanceof DOMException && (e.name === 'QuotaExceededError' || e.code === DOMException.QUOTA_EXCEEDED_ERR);
}

export async function storageEstimate(): Promise<{ usage: number; quota: number }> {
  const { usage = 0, quota = 0 } = (await navigator.storage?.estimate?.()) ?? {};
  return { usage, quota };
}

/**
 * Runs `work` in one readwrite transaction over `stores` and waits for it to commit. A quota
 * failure becomes a QuotaError naming `what` and its size; any other failure a StorageError.
 */
async function write(
  stores: StoreName[],
  what: string,
  bytes: number,
  work: (tx: IDBPTransaction<StudioSchema, StoreName[], 'readwrite'>) => Promise<unknown>[],
): Promise<void> {
  const database = await db();
  let tx: IDBPTransaction<StudioSchema, StoreName[], 'readwrite'> | null = null;
  try {
    tx = database.transaction(stores, 'readwrite');
    // The request promises reject alongside tx.done; their rejections are handled through it.
    await Promise.all([...work(tx), tx.done]);
  } catch (caught) {
    const e = tx ? await abortedCause(tx, caught) : caught;
    if (caught instanceof RunTakenError) throw caught;
    if (isQuotaError(e) || (e instanceof DOMException && e.name === 'AbortError' && (await nearQuota(bytes)))) {
      const { usage, quota } = await storageEstimate().catch(() => ({ usage: NaN, quota: NaN }));
      throw new QuotaError(what, bytes, Number.isFinite(usage) ? usage : null, Number.isFinite(quota) ? quota : null);
    }
    throw new StorageError(what, e);
  }
  const topics = [...new Set(stores.map((name) => TOPIC[name]))];
  for (const listener of changeListeners) listener(topics);
}

/**
 * Makes sure nothing of a failed write commits: a request that throws at once (a put can throw
 * QuotaExceededError or DataCloneError synchronously) leaves the transaction open with the
 * earlier requests of the same write in it, which would otherwise commit alone (a shard's info
 * without its bytes, a run pointing at a checkpoint that was never stored). Returns the
 * transaction's own error when it has one: on a real quota abort the requests fail with a bare
 * AbortError and only the transaction names QuotaExceededError.
 */
async function abortedCause(tx: IDBPTransaction<StudioSchema, StoreName[], 'readwrite'>, caught: unknown) {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted by the browser: nothing left to undo.
  }
  await tx.done.catch(() => undefined);
  return tx.error ?? caught;
}

/** Some browsers report a quota failure only as an aborted transaction. */
async function nearQuota(bytes: number): Promise<boolean> {
  const { usage, quota } = await storageEstimate().catch(() => ({ usage: 0, quota: 0 }));
  return quota > 0 && usage + bytes > quota;
}

async function read<T>(what: string, work: (database: Db) => Promise<T>): Promise<T> {
  const database = await db();
  try {
    return await work(database);
  } catch (e) {
    throw new StorageError(what, e);
  }
}

export async function putShard(info: StoredShard, bytes: ArrayBuffer): Promise<void> {
  await write(['shardInfo', 'shardBytes'], `shard '${info.fileName}'`, bytes.byteLength, (tx) => [
    tx.objectStore('shardInfo').put(info, info.id),
    tx.objectStore('shardBytes').put(bytes, info.id),
  ]);
}

export async function listStoredShards(): Promise<StoredShard[]> {
  const all = await read('the shard list', (d) => d.getAll('shardInfo'));
  return all.sort((a, b) => a.addedAt - b.addedAt);
}

export async function shardBytes(id: string): Promise<ArrayBuffer | undefined> {
  return read('a shard', (d) => d.get('shardBytes', id));
}

export async function deleteShard(id: string): Promise<void> {
  await write(['shardInfo', 'shardBytes'], 'the shard removal', 0, (tx) => [
    tx.objectStore('shardInfo').delete(id),
    tx.objectStore('shardBytes').delete(id),
  ]);
}

/**
 * Makes this tab the run's writer: stores `run` with the run's next generation, in one
 * transaction, and returns it so stored; writes of older generations are refused from then on.
 */
export async function takeRun(run: RunRecord): Promise<RunRecord> {
  let taken = run;
  await write(['runs'], `run ${run.id}`, 1024, (tx) => {
    const runs = tx.objectStore('runs');
    return [
      runs.get(run.id).then((stored) => {
        taken = { ...run, generation: (stored?.generation ?? 0) + 1 };
        return runs.put(taken, run.id);
      }),
    ];
  });
  return taken;
}

/**
 * Runs `puts` in the transaction once the stored run is still `run`'s generation: else the
 * transaction is aborted with RunTakenError and nothing of it is stored.
 */
function fenced(
  tx: IDBPTransaction<StudioSchema, StoreName[], 'readwrite'>,
  run: RunRecord,
  puts: () => Promise<unknown>[],
): Promise<unknown> {
  return tx
    .objectStore('runs')
    .get(run.id)
    .then((stored) => {
      if (!stored) throw new RunTakenError(run.id, true);
      if ((stored.generation ?? 0) !== (run.generation ?? 0)) throw new RunTakenError(run.id, false);
      return Promise.all(puts());
    });
}

/** The run's new state, from its writer (RunTakenError when another tab took the run over). */
export async function putRun(run: RunRecord): Promise<void> {
  await write(['runs'], `run ${run.id}`, 1024, (tx) => [
    fenced(tx, run, () => [tx.objectStore('runs').put(run, run.id)]),
  ]);
}

export async function getRun(id: string): Promise<RunRecord | undefined> {
  return read('a run', (d) => d.get('runs', id));
}

export async function listStoredRuns(): Promise<RunRecord[]> {
  const all = await read('the run list', (d) => d.getAll('runs'));
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * A checkpoint with the metrics since the previous one and the run's new state, together: after
 * a reload the stored metrics end exactly where the checkpoint resumes. Fenced like putRun.
 */
export async function putCheckpoint(
  run: RunRecord,
  checkpoint: StoredCheckpoint,
  metrics: RapmMetrics[],
): Promise<void> {
  const size = checkpoint.bytes.byteLength + metrics.length * 512;
  await write(['runs', 'metrics', 'checkpoints'], `the checkpoint of run ${run.id}`, size, (tx) => [
    fenced(tx, run, () => {
      const ops: Promise<unknown>[] = [
        tx.objectStore('runs').put(run, run.id),
        tx.objectStore('checkpoints').put(checkpoint),
      ];
      if (metrics.length > 0) {
        // Chunks are numbered by their first iteration: unique, ordered, and a resumed run that
        // re-saves from the same checkpoint overwrites rather than duplicates.
        ops.push(tx.objectStore('metrics').put({ runId: run.id, chunk: metrics[0].iteration, events: metrics }));
      }
      return ops;
    }),
  ]);
}

export async function getCheckpoint(runId: string): Promise<StoredCheckpoint | undefined> {
  return read('a checkpoint', (d) => d.get('checkpoints', runId));
}

/** The run's new best checkpoint with the run's state (its validation record names that best), together; fenced like putRun. */
export async function putBestCheckpoint(run: RunRecord, checkpoint: StoredCheckpoint): Promise<void> {
  await write(
    ['runs', 'bestCheckpoints'],
    `the best checkpoint of run ${run.id}`,
    checkpoint.bytes.byteLength,
    (tx) => [
      fenced(tx, run, () => [
        tx.objectStore('runs').put(run, run.id),
        tx.objectStore('bestCheckpoints').put(checkpoint),
      ]),
    ],
  );
}

export async function getBestCheckpoint(runId: string): Promise<StoredCheckpoint | undefined> {
  return read('the best checkpoint', (d) => d.get('bestCheckpoints', runId));
}

const metricsOf = (runId: string) => IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]);
const eventsOf = (chunks: MetricsChunk[]) => chunks.sort((a, b) => a.chunk - b.chunk).flatMap((c) => c.events);

export async function runMetrics(runId: string): Promise<RapmMetrics[]> {
  return eventsOf(await read('the metric history', (d) => d.getAll('metrics', metricsOf(runId))));
}

/**
 * Once the run has more than `policy.maxChunks` metric chunks, rewrites its history as one chunk
 * thinned by the policy (metrics-compaction.ts), in one transaction fenced like putRun. Returns
 * whether it did. Stored metrics still end exactly at the checkpoint.
 */
export async function compactRunMetrics(run: RunRecord, policy: CompactionPolicy = METRICS_COMPACTION) {
  const chunks = await read('the metric history', (d) => d.count('metrics', metricsOf(run.id)));
  if (chunks <= policy.maxChunks) return false;
  await write(['runs', 'metrics'], `the metric history of run ${run.id}`, 0, (tx) => [
    fenced(tx, run, () => {
      const store = tx.objectStore('metrics');
      return [
        store.getAll(metricsOf(run.id)).then(async (all) => {
          const kept = compactMetrics(eventsOf(all), policy);
          await store.delete(metricsOf(run.id));
          if (kept.length > 0) await store.put({ runId: run.id, chunk: kept[0].iteration, events: [...kept] });
        }),
      ];
    }),
  ]);
  return true;
}

export async function deleteRun(runId: string): Promise<void> {
  await write(['runs', 'metrics', 'checkpoints', 'bestCheckpoints'], 'the run removal', 0, (tx) => [
    tx.objectStore('runs').delete(runId),
    tx.objectStore('metrics').delete(metricsOf(runId)),
    tx.objectStore('checkpoints').delete(runId),
    tx.objectStore('bestCheckpoints').delete(runId),
  ]);
}

export async function putTeacher(teacher: StoredTeacher): Promise<void> {
  const size =
    teacher.bytes.byteLength +
    (teacher.diffusers?.config.byteLength ?? 0) +
    (teacher.diffusers?.scheduler.byteLength ?? 0);
  await write(['teacher'], `teacher '${teacher.fileName}'`, size, (tx) => [
    tx.objectStore('teacher').put(teacher, 'last'),
  ]);
}

export async function getTeacher(): Promise<StoredTeacher | undefined> {
  return read('the stored teacher', (d) => d.get('teacher', 'last'));
}
