/**
 * Errors the studio worker raises for things a user can cause or fix: each says what went wrong
 * and what to do. The worker also turns the storage ones into `fault` events.
 */

/** Bytes as the user reads them in the storage panel. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** The browser refused a write for lack of quota; nothing of that write was stored. */
export class QuotaError extends Error {
  constructor(
    readonly what: string,
    readonly needed: number,
    readonly usage: number | null,
    readonly quota: number | null,
  ) {
    const used = usage !== null && quota !== null ? ` (${formatBytes(usage)} of ${formatBytes(quota)} in use)` : '';
    super(
      `Browser storage is full: saving ${what} needed ${formatBytes(needed)} more${used}. ` +
        `Remove shards or old runs in the studio, then try again; everything stored before is intact.`,
    );
    this.name = 'QuotaError';
  }
}

/** IndexedDB failed for another reason (blocked, private mode, disk error). */
export class StorageError extends Error {
  constructor(what: string, cause: unknown) {
    super(
      `Could not save ${what} in the browser's storage (${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}). ` +
        `Stored data is intact; close other tabs of the studio and reload the page.`,
      { cause },
    );
    this.name = 'StorageError';
  }
}

/** A request needs a teacher and none is loaded (or another one is). */
export class TeacherRequiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeacherRequiredError';
  }
}

/** The built-in teacher or shards are not shipped with this build. */
export class BuiltinMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuiltinMissingError';
  }
}

/** A training request that does not fit the current state (nothing to train on, a run already live...). */
export class TrainingStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingStateError';
  }
}

/** The requested run does not exist (removed, or from another browser profile). */
export class UnknownRunError extends Error {
  constructor(runId: string) {
    super(`No stored run '${runId}': it was removed or belongs to another browser profile; reload the run list.`);
    this.name = 'UnknownRunError';
  }
}

/**
 * A write of a run this tab no longer owns: another tab resumed it since (the run's stored
 * generation is newer than this tab's) or removed it. Nothing of the write was stored.
 */
export class RunTakenError extends Error {
  constructor(runId: string, removed: boolean) {
    super(
      removed
        ? `Run ${runId.slice(0, 8)} was removed in another tab: this tab stopped training it and stored nothing more.`
        : `Run ${runId.slice(0, 8)} was resumed in another tab, which now owns it: this tab stopped training it and ` +
            `stored nothing more, so no older work overwrites the newer.`,
    );
    this.name = 'RunTakenError';
  }
}
