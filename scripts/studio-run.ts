/**
 * A default run in the built studio, for the benchmarks that measure training in the page: the
 * built-in teacher and shards (studio-browser.ts), only the run's length, sample interval and
 * validation set (the RAPM settings stay the defaults), and the per-iteration costs the worker
 * reports with `?diagnostics` (src/ui/IterationCosts.tsx).
 */
import type { Page } from '@playwright/test';
import { openWithBuiltIns, studioWaiter } from './studio-browser';

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

const status = async (page: Page) =>
  `; status: ${await page.getByRole('status', { name: 'Worker status' }).innerText()}`;

/** Opens the studio on `backend` with `?diagnostics` (and `extraQuery`) and starts a default run. */
export async function startDefaultRun(
  page: Page,
  url: string,
  backend: string,
  settings: RunSettings,
  extraQuery = '',
): Promise<void> {
  await openWithBuiltIns(
    page,
    url,
    backend,
    studioWaiter(page, () => status(page)),
    `&diagnostics${extraQuery}`,
  );
  const advanced = page.locator('summary', { hasText: 'Advanced settings' });
  if (!(await advanced.evaluate((el) => (el.parentElement as HTMLDetailsElement).open))) await advanced.click();
  await page.getByLabel('Iterations', { exact: true }).fill(String(settings.iterations));
  await page.getByLabel('Samples every').fill(String(settings.sampleEvery));
  await page.getByLabel('Validation trajectories').fill(String(settings.validationCount));
  await page.getByRole('button', { name: 'Start training' }).click();
}

/** The iterations reported so far (the last 50 the page shows). */
async function iterationCosts(page: Page): Promise<IterationCost[]> {
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
  const waitFor = studioWaiter(page, async () => `; ${seen.size} reported${await status(page)}`);
  await waitFor(
    `iteration ${n}`,
    async () => {
      for (const c of await iterationCosts(page)) seen.set(c.iteration, c);
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
