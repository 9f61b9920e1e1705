/**
 * npx tsx scripts/page-default-run.ts [--out runs/page-default] [--backend wasm] [--port 4183] [--hours 3]
 *
 * The studio's default run, as a new user does it, scored by the page itself: builds the app and
 * serves the build (as the e2e tests do), opens it in a fresh profile in headless Chromium with
 * the e2e launch settings, keeps the BUILT-IN teacher, clicks "Use built-in shards", leaves the
 * Train panel at the page's default preset and starts training, and waits for the run to finish.
 * Then it writes to `--out`:
 *   page-validation.txt   the Validation table as the page shows it
 *   page-run.json         the run as the page stored it in IndexedDB (settings, held-out split, every
 *                         validation point and the teacher's lines at full precision)
 *   *.safetensors         the latest and the best student, merged, through the page's Export buttons
 *                         (real downloads)
 * `npm run eval -- --model <file> --shards public/shards --validation-split 64 --split-seed 0` scores the
 * student on the same held-out trajectories (the run's split is in page-run.json to check against).
 * docs/results.md ("The studio's default run, scored by the page and by npm run eval") quotes a run of it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Download, Page } from '@playwright/test';
import { launchStudioChromium, log, openWithBuiltIns, serveBuiltStudio, studioWaiter } from './studio-browser';

const { values: flags } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/page-default' },
    port: { type: 'string', default: '4183' },
    /** Pins the page's backend (`?backend=`); wasm is much faster than WebGPU on SwiftShader. */
    backend: { type: 'string', default: 'wasm' },
    hours: { type: 'string', default: '3' },
  },
});
const MINUTES = 60_000;

/** The run's record from the worker's IndexedDB (`rapm-studio`, store `runs`), read in the page; `name` is its id's start. */
async function storedRun(page: Page, runName: string): Promise<unknown> {
  return page.evaluate(
    (name) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('rapm-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction('runs').objectStore('runs').getAll();
          all.onerror = () => reject(all.error);
          all.onsuccess = () => {
            const runs = all.result as { id: string }[];
            resolve(runs.find((r) => r.id.startsWith(name)) ?? null);
          };
        };
      }),
    runName,
  );
}

async function save(download: Download, folder: string): Promise<string> {
  const path = join(folder, download.suggestedFilename());
  await download.saveAs(path);
  return path;
}

mkdirSync(flags.out, { recursive: true });
log('building the app…');
const server = await serveBuiltStudio(Number(flags.port));
const browser = await launchStudioChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (err) => log(`page error: ${err.message}`));
  const waitFor = studioWaiter(page, async () => {
    const bar = page.getByRole('progressbar', { name: 'Training' });
    const training = (await bar.count()) ? `; ${await bar.getAttribute('aria-valuetext')}` : '';
    const points = page.getByTestId('validation-points');
    return training + ((await points.count()) ? `; ${await points.innerText()} validation points` : '');
  });

  const started = Date.now();
  const shards = await openWithBuiltIns(page, server.url, flags.backend, waitFor);
  // Nothing in the Train panel is touched: the page's default preset, as a new user finds it.
  const preset = await page.getByTestId('preset-state').innerText();
  log(`${shards} shards stored; ${preset} Starting…`);

  await page.getByRole('button', { name: 'Start training' }).click();
  const runName = page.getByTestId('run-name');
  await waitFor('the run', async () => (await runName.count()) > 0, 10);
  const name = await runName.innerText();
  const status = page.getByTestId('run-state');
  const state = page.getByTestId('training-state');
  const finished = async () => /status finished/.test(await status.innerText()) && (await state.innerText()) === 'idle';
  await waitFor(`run ${name} to finish`, finished, Number(flags.hours) * 60);
  const minutes = (Date.now() - started) / MINUTES;
  log(`run ${name} finished after ${minutes.toFixed(1)} minutes from page load`);

  const table = await page.getByTestId('validation-table').innerText();
  const checkpoints = await page.getByTestId('export-checkpoints').innerText();
  writeFileSync(join(flags.out, 'page-validation.txt'), `${preset}\n${checkpoints}\n\n${table}\n`);
  log(`the page's Validation table:\n${table}\n${checkpoints}`);
  const run = await storedRun(page, name);
  writeFileSync(
    join(flags.out, 'page-run.json'),
    JSON.stringify({ backend: flags.backend, minutes, date: new Date().toISOString(), run }, null, 1),
  );

  const latest = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Student merged (.safetensors)' }).click(),
  ]);
  log(`exported ${await save(latest[0], flags.out)}`);
  const best = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: /^Best student merged \(iteration \d+\)$/ }).click(),
  ]);
  log(`exported ${await save(best[0], flags.out)}`);
  await context.close();
} finally {
  await browser.close();
  await server.close();
}
