/**
 * The studio's IndexedDB (`rapm-studio`) read and written raw from a page of its origin, as
 * another tab's code would see it: what the e2e tests check stored state with. A run is named
 * by the start of its id (the page shows eight characters).
 */
import type { Page } from '@playwright/test';

export interface StoredRunState {
  generation: number;
  status: string;
  iteration: number;
  checkpointIteration: number;
  /** The iteration of the stored latest checkpoint, null without one. */
  checkpoint: number | null;
  /** The run's metric chunks, and the iterations of their events in order. */
  chunks: number;
  iterations: number[];
}

export async function storedRunState(page: Page, runPrefix: string): Promise<StoredRunState> {
  return page.evaluate(
    (prefix) =>
      new Promise<StoredRunState>((resolve, reject) => {
        const open = indexedDB.open('rapm-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['runs', 'checkpoints', 'metrics'], 'readonly');
          const runs = tx.objectStore('runs').getAll();
          const checkpoints = tx.objectStore('checkpoints').getAll();
          const metrics = tx.objectStore('metrics').getAll();
          tx.onerror = () => reject(tx.error);
          tx.oncomplete = () => {
            db.close();
            type Run = {
              id: string;
              generation?: number;
              status: string;
              iteration: number;
              checkpointIteration: number;
            };
            const run = (runs.result as Run[]).find((r) => r.id.startsWith(prefix));
            if (!run) return reject(new Error(`no stored run ${prefix}`));
            const checkpoint = (checkpoints.result as { runId: string; iteration: number }[]).find(
              (c) => c.runId === run.id,
            );
            const chunks = (metrics.result as { runId: string; chunk: number; events: { iteration: number }[] }[])
              .filter((c) => c.runId === run.id)
              .sort((a, b) => a.chunk - b.chunk);
            resolve({
              generation: run.generation ?? 0,
              status: run.status,
              iteration: run.iteration,
              checkpointIteration: run.checkpointIteration,
              checkpoint: checkpoint?.iteration ?? null,
              chunks: chunks.length,
              iterations: chunks.flatMap((c) => c.events.map((e) => e.iteration)),
            });
          };
        };
      }),
    runPrefix,
  );
}

/**
 * Takes the run's next generation in one transaction, as `takeRun` does when another tab resumes
 * the run: from then on the stored run is that owner's. Returns the state it took over.
 */
export async function takeRunOver(page: Page, runPrefix: string): Promise<{ generation: number; checkpoint: number }> {
  return page.evaluate(
    (prefix) =>
      new Promise<{ generation: number; checkpoint: number }>((resolve, reject) => {
        const open = indexedDB.open('rapm-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['runs', 'checkpoints'], 'readwrite');
          const runs = tx.objectStore('runs');
          let taken = { generation: 0, checkpoint: -1 };
          const all = runs.getAll();
          all.onsuccess = () => {
            const run = (all.result as { id: string; generation?: number }[]).find((r) => r.id.startsWith(prefix));
            if (!run) return tx.abort();
            const generation = (run.generation ?? 0) + 1;
            runs.put({ ...run, generation }, run.id);
            const checkpoint = tx.objectStore('checkpoints').get(run.id);
            checkpoint.onsuccess = () => (taken = { generation, checkpoint: checkpoint.result?.iteration ?? -1 });
          };
          tx.onabort = () => reject(tx.error ?? new Error(`no stored run ${prefix}`));
          tx.oncomplete = () => {
            db.close();
            resolve(taken);
          };
        };
      }),
    runPrefix,
  );
}
