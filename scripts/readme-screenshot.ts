/**
 * npx tsx scripts/readme-screenshot.ts [--out docs/studio.png] [--until 16] [--iterations 300] [--sample-every 5]
 *   [--backend webgpu|wasm|webgl]
 *
 * The README's picture of the studio mid-training: builds the app and serves the build (as the
 * e2e tests do), opens it in a fresh profile in headless Chromium with the e2e launch settings
 * (WebGPU on SwiftShader), keeps the BUILT-IN teacher, clicks "Use built-in shards", starts a
 * full-size RAPM run with the default settings (only the run's length and sample interval set),
 * waits until `--until` iterations have run and the sample grid shows a refresh from that
 * stretch, and saves the top of the page at 1366x900. On SwiftShader this is slow: 16 iterations took
 * 30 minutes on the 2-core development machine (busy with other jobs); `--backend wasm` is much faster there.
 * Rerun it after replacing public/teacher.safetensors and public/shards.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { launchStudioChromium, log, openWithBuiltIns, serveBuiltStudio, studioWaiter } from './studio-browser';

const { values: flags } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/studio.png' },
    until: { type: 'string', default: '16' },
    iterations: { type: 'string', default: '300' },
    'sample-every': { type: 'string', default: '5' },
    port: { type: 'string', default: '4175' },
    /** Pins the page's backend (`?backend=`); wasm is much faster than WebGPU on SwiftShader. */
    backend: { type: 'string', default: 'webgpu' },
  },
});
const until = Number(flags.until);
const sampleEvery = Number(flags['sample-every']);
// The grid must come from the last refresh at or before `until`, not the first one of the run.
const gridAt = Math.max(sampleEvery, Math.floor(until / sampleEvery) * sampleEvery);

log('building the app…');
const server = await serveBuiltStudio(Number(flags.port));
const browser = await launchStudioChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => log(`page error: ${err.message}`));
  const number = async (testId: string) => Number(await page.getByTestId(testId).first().textContent());
  const waitFor = studioWaiter(page, async () => {
    const bar = page.getByRole('progressbar', { name: 'Training' });
    const training = (await bar.count()) ? `; training: ${await bar.getAttribute('aria-valuetext')}` : '';
    const status = await page.getByRole('status', { name: 'Worker status' }).innerText();
    const rows = await page.getByTestId('metric-rows').innerText();
    return ` (status: ${status}${training}; ${rows} metric rows)`;
  });

  const shards = await openWithBuiltIns(page, server.url, flags.backend, waitFor);
  log(`${shards} shards stored; starting a ${flags.iterations}-iteration run…`);

  const advanced = page.locator('summary', { hasText: 'Advanced settings' });
  if (!(await advanced.evaluate((el) => (el.parentElement as HTMLDetailsElement).open))) await advanced.click();
  await page.getByLabel('Iterations', { exact: true }).fill(flags.iterations);
  await page.getByLabel('Samples every').fill(String(sampleEvery));
  await page.getByRole('button', { name: 'Start training' }).click();
  await waitFor(`${until} iterations`, async () => (await number('metric-rows')) >= until, 60);
  const grid = page.getByTestId('samples-iteration');
  await waitFor(
    `the sample grid of iteration ${gridAt}`,
    async () => (await grid.count()) > 0 && Number((await grid.innerText()).match(/Iteration (\d+)/)?.[1]) >= gridAt,
    30,
  );

  mkdirSync(dirname(flags.out), { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: flags.out });
  log(`saved ${flags.out} at iteration ${await number('metric-rows')}`);
} finally {
  await browser.close();
  await server.close();
}
