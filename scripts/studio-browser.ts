/**
 * Chromium for the scripts that drive the studio outside the e2e runner (benchmarks, the README
 * screenshot, the default run), launched exactly as playwright.config.ts launches it for the e2e
 * tests: Debian's Chromium (or CHROMIUM_PATH), WebGPU on SwiftShader, headless; and what those
 * scripts share: the built app served, a wait that fails on the studio's errors, the built-in
 * teacher and shards loaded.
 */
import { chromium, type Browser, type Page } from '@playwright/test';
import { build, preview } from 'vite';
import config from '../playwright.config';

export async function launchStudioChromium(): Promise<Browser> {
  return chromium.launch({ ...config.use?.launchOptions, headless: true });
}

/** A line of a script's log, stamped with the time of day (UTC). */
export function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Builds the app and serves the build on `port` (as the e2e tests do); `close` stops the server. */
export async function serveBuiltStudio(port: number): Promise<{ url: string; close: () => Promise<void> }> {
  await build({ logLevel: 'warn' });
  const server = await preview({ preview: { port, strictPort: true, host: '127.0.0.1' } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report its address');
  const close = () =>
    new Promise<void>((resolve, reject) => server.httpServer.close((err) => (err ? reject(err) : resolve())));
  return { url, close };
}

export type WaitFor = (what: string, ready: () => Promise<boolean>, minutes: number) => Promise<void>;

/**
 * A wait for the page: polls `ready` every second, fails at once with the text of the studio's
 * fault banner or of an alert, gives up after `minutes`, and every 30 s logs what it waits for
 * with `progress()`'s text after it.
 */
export function studioWaiter(page: Page, progress: () => Promise<string>): WaitFor {
  return async (what, ready, minutes) => {
    const deadline = Date.now() + minutes * 60_000;
    let lastLog = 0;
    while (!(await ready())) {
      const banner = page.getByTestId('fault-banner');
      if (await banner.count()) throw new Error(`the studio reported a fault: ${await banner.innerText()}`);
      const alert = page.getByRole('alert');
      if (await alert.count()) throw new Error(`the studio reported an error: ${await alert.first().innerText()}`);
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${minutes} minutes`);
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        log(`waiting for ${what}${await progress()}`);
      }
      await page.waitForTimeout(1000);
    }
  };
}

/**
 * Opens the studio at `url` pinned to `backend` (`extraQuery`, such as `&diagnostics`, appended),
 * waits for the BUILT-IN teacher and clicks "Use built-in shards" as a new user would; returns
 * how many shards were stored.
 */
export async function openWithBuiltIns(
  page: Page,
  url: string,
  backend: string,
  waitFor: WaitFor,
  extraQuery = '',
): Promise<number> {
  await page.goto(`${url}?backend=${backend}${extraQuery}`);
  await waitFor(`the ${backend} backend`, async () => (await page.getByTestId('backend').innerText()) === backend, 10);
  const teacher = page.getByTestId('teacher-name');
  const noTeacher = page.getByTestId('no-teacher');
  await waitFor('the built-in teacher', async () => (await teacher.count()) + (await noTeacher.count()) > 0, 10);
  if (await noTeacher.count()) throw new Error('this build ships no built-in teacher (public/teacher.safetensors)');
  log(`teacher ${await teacher.innerText()}; importing the built-in shards…`);
  await page.getByRole('button', { name: 'Use built-in shards' }).click();
  const rows = page.getByTestId('shard-table').locator('tbody tr');
  await waitFor('the built-in shards', async () => (await rows.count()) > 0, 10);
  const rejections = page.getByTestId('shard-rejections');
  if (await rejections.count()) throw new Error(`built-in shards refused: ${await rejections.innerText()}`);
  return rows.count();
}
