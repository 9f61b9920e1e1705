/**
 * Drives the built studio the way a user starts a default run, for the benchmarks that measure
 * training in the page: waits for the backend and the built-in teacher, imports the built-in
 * shards, sets only the run's length, sample interval and validation (the RAPM settings stay the
 * defaults), starts, and reads the per-iteration costs the worker reports with `?diagnostics`
 * (src/ui/IterationCosts.tsx).
 */
import type { Page } from '@playwright/test';

export interface RunSettings {
  iterations: number;
  sampleEvery: number;
  /** Held-out trajectories; 0 turns validation off (it costs nothing per iteration, only time around it). */
  validationCount: number;
}

export interface IterationCost {
  iteration: number;
  ms: number;
  dispatches: number | null;
}

const MINUTE = 60_000;

export const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Fails at once with the page's own words if it reports a fault or an error. */
async function checkFaults(page: Page): Promise<void> {
  const banner = page.getByTestId('fault-banner');
  if (await banner.count()) throw new Error(`the studio reported a fault: ${await banner.innerText()}`);
  const alert = page.getByRole('alert');
  if (await alert.count()) throw new Error(`the studio reported an error: ${await alert.first().innerText()}`);
}

export async function waitUntil(page: Page, what: string, ready: () => Promise<boolean>, minutes: number) {
  const deadline = Date.now() + minutes * MINUTE;
  while (!(await ready())) {
    await checkFaults(page);
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${minutes} minutes`);
    await page.waitForTimeout(500);
  }
}

/** Opens `url` (with `?diagnostics` in it) and starts a run with the default RAPM settings. */
export async function startDefaultRun(page: Page, url: string, settings: RunSettings): Promise<string> {
  await page.goto(url);
  const backend = page.getByTestId('backend');
  await waitUntil(page, 'a backend', async () => !['…', ''].includes(await backend.innerText()), 10);
  await waitUntil(page, 'the built-in teacher', async () => (await page.getByTestId('teacher-name').count()) > 0, 10);
  await page.getByRole('button', { name: 'Use built-in shards' }).click();
  const rows = page.getByTestId('shard-table').locator('tbody tr');
  await waitUntil(page, 'the built-in shards', async () => (await rows.count()) > 0, 10);
  const advanced = page.locator('summary', { hasText: 'Advanced settings' });
  if (!(await advanced.evaluate((el) => (el.parentElement as HTMLDetailsElement).open))) await advanced.click();
  await page.getByLabel('Iterations', { exact: true }).fill(String(settings.iterations));
  await page.getByLabel('Samples every').fill(String(settings.sampleEvery));
  await page.getByLabel('Validation trajectories').fill(String(settings.validationCount));
  await page.getByRole('button', { name: 'Start training' }).click();
  return backend.innerText();
}

/** The iterations reported so far (the last 50 the page shows). */
export async function iterationCosts(page: Page): Promise<IterationCost[]> {
  return page
    .getByTestId('iteration-costs')
    .locator('tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => {
        const d = (tr as HTMLElement).dataset;
        return {
          iteration: Number(d.iteration),
          ms: Number(d.ms),
          dispatches: d.dispatches ? Number(d.dispatches) : null,
        };
      }),
    );
}

/** Waits until iteration `n` has been reported; returns every iteration seen up to then. */
export async function waitForIteration(page: Page, n: number, minutes: number): Promise<IterationCost[]> {
  const seen = new Map<number, IterationCost>();
  let lastLog = Date.now();
  await waitUntil(
    page,
    `iteration ${n}`,
    async () => {
      for (const c of await iterationCosts(page)) seen.set(c.iteration, c);
      if (Date.now() - lastLog > 60_000) {
        lastLog = Date.now();
        const status = await page.getByRole('status', { name: 'Worker status' }).innerText();
        log(`  waiting for iteration ${n}: ${seen.size} reported; status: ${status}`);
      }
      return seen.has(n);
    },
    minutes,
  );
  return [...seen.values()].sort((a, b) => a.iteration - b.iteration);
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
