/**
 * The studio's other tabs, as one tab's worker sees them. A run has one owner: the tab that
 * trains it holds a Web Lock named for the run for the whole of its training, and the browser
 * lets go of it when that tab stops the run, closes or crashes; no other tab can resume or remove
 * the run meanwhile. Owners post their live progress on a BroadcastChannel, and every write to
 * storage is announced there too, so shards, runs and checkpoints appear in every tab at once.
 *
 * Without the Locks API (a page served over plain http from another host is no secure context)
 * every claim succeeds and only the run's stored generation (db.ts) keeps two writers apart.
 */
import type { StoredTopic, StudioEvents } from './protocol';

const CHANNEL = 'rapm-studio';
const LOCK_PREFIX = 'rapm-studio.run.';
/** A claim waits this long for a tab that is letting go of the run (a Stop, or another tab's release watch). */
const CLAIM_WAIT_MS = 1000;

type TabMessage = { kind: 'training'; payload: StudioEvents['training'] } | { kind: 'stored'; topics: StoredTopic[] };

const lockName = (runId: string) => LOCK_PREFIX + runId;

function lockManager(): LockManager | null {
  return typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null;
}

export interface RunLease {
  readonly runId: string;
  /** Lets go of the run: another tab may resume it from its stored checkpoint. */
  release(): void;
}

/** Takes the run's lock and holds it until `release()`; null while another tab trains the run. */
export function claimRun(runId: string): Promise<RunLease | null> {
  const locks = lockManager();
  if (!locks) return Promise.resolve({ runId, release: () => undefined });
  return new Promise((resolve, reject) => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    locks
      .request(lockName(runId), { signal: AbortSignal.timeout(CLAIM_WAIT_MS) }, () => {
        resolve({ runId, release });
        return held;
      })
      .catch((e: unknown) => {
        if (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError')) resolve(null);
        else reject(e instanceof Error ? e : new Error(String(e)));
      });
  });
}

/** The runs some tab holds now (this one's included). */
export async function heldRuns(): Promise<Set<string>> {
  const locks = lockManager();
  if (!locks) return new Set();
  const { held = [] } = await locks.query();
  return new Set(held.flatMap((l) => (l.name?.startsWith(LOCK_PREFIX) ? [l.name.slice(LOCK_PREFIX.length)] : [])));
}

const watched = new Set<string>();

/**
 * Calls `then` once, when the tab that trains `runId` lets go of it (stopped, closed, crashed):
 * a shared request is granted only after the owner's exclusive lock is gone, and given back at once.
 */
export function whenReleased(runId: string, then: () => void): void {
  const locks = lockManager();
  if (!locks || watched.has(runId)) return;
  watched.add(runId);
  void locks
    .request(lockName(runId), { mode: 'shared' }, () => undefined)
    .finally(() => {
      watched.delete(runId);
      then();
    });
}

let channel: BroadcastChannel | null = null;

function tabChannel(): BroadcastChannel | null {
  if (typeof BroadcastChannel === 'undefined') return null;
  channel ??= new BroadcastChannel(CHANNEL);
  return channel;
}

/** Posts to every other tab of the studio (a tab does not hear its own posts). */
export function tellTabs(message: TabMessage): void {
  tabChannel()?.postMessage(message);
}

/** Hands on what other tabs post: their live runs' progress, and what they stored. */
export function listenToTabs(on: {
  training: (payload: StudioEvents['training']) => void;
  stored: (topics: StoredTopic[]) => void;
}): void {
  tabChannel()?.addEventListener('message', (e: MessageEvent<TabMessage>) => {
    if (e.data.kind === 'training') on.training(e.data.payload);
    else if (e.data.kind === 'stored') on.stored(e.data.topics);
  });
}
