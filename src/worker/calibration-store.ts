/**
 * Remembers the last calibration, so a reload starts the chosen backend at once instead of
 * timing every candidate again. It has its own small IndexedDB database (`rapm-calibration`):
 * it is a cache, losing it costs one calibration, and it never touches the studio's data.
 *
 * An entry is keyed by what could change the answer and is cheap to know: the browser (and its
 * version), the core count, cross-origin isolation (threads), the model and the batch size. A
 * new GPU in the same browser is not noticed: the page's "Measure again" is for that.
 */
import { openDB, type DBSchema } from 'idb';
import type { BackendReport } from './protocol';

const DB_NAME = 'rapm-calibration';

export interface StoredCalibration {
  key: string;
  report: BackendReport;
}

interface CalibrationDb extends DBSchema {
  calibrations: { key: string; value: StoredCalibration };
}

function open() {
  return openDB<CalibrationDb>(DB_NAME, 1, {
    upgrade(db) {
      db.createObjectStore('calibrations', { keyPath: 'key' });
    },
  });
}

export async function storedCalibration(key: string): Promise<StoredCalibration | null> {
  try {
    const db = await open();
    try {
      return (await db.get('calibrations', key)) ?? null;
    } finally {
      db.close();
    }
  } catch {
    // No IndexedDB (a private window may refuse it): the page simply measures every time.
    return null;
  }
}

export async function storeCalibration(entry: StoredCalibration): Promise<void> {
  try {
    const db = await open();
    try {
      await db.put('calibrations', entry);
    } finally {
      db.close();
    }
  } catch {
    // As above: without storage the next load measures again, nothing else is lost.
  }
}
