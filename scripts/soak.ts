/**
 * npm run soak -- [--minutes 30] [--every 60] [--iterations 100000] [--backend wasm] [--port 4184] [--out runs/soak]
 *                  [--reloads 3]
 *
 * A long run in the page, watched for growth: builds and serves the studio (as the e2e tests
 * do), opens it in headless Chromium with the e2e launch settings and `?diagnostics`, keeps the
 * built-in teacher, clicks "Use built-in shards" and starts the default run (the Train panel as
 * a new user finds it), only longer (`--iterations`: the default preset's 300 end in minutes). For `--minutes` it then exports the student (merged and LoRA, real
 * downloads) and draws a student preview once every sampling interval, alternately, and every
 * `--every` seconds samples:
 *   page heap      JSHeapUsedSize of the page after a collection (CDP Performance.getMetrics)
 *   worker heap    the studio worker's used JS heap after a collection (CDP Runtime.getHeapUsage)
 *   tensors        tf.memory() of the worker after the latest iteration (the ?diagnostics table)
 *   storage        navigator.storage.estimate(): usage and its IndexedDB part
 *   metric chunks  the run's stored metric chunks and events (IndexedDB, read in the page)
 *   iteration      the latest iteration, and the rate since the previous sample
 * It prints a table as it goes and rewrites `--out`/soak.json after every sample, so a stopped
 * soak keeps what it measured. Then `--reloads` times it reloads the page at a random moment of a
 * checkpoint interval, reads the iteration the Resume offer restarts from against the one the
 * page had reached, converts the difference to seconds of training at the rate before, and
 * resumes. The summary (start, end, max and least-squares slope per hour of each quantity, and
 * the reload losses) is printed and written to soak.json; docs/benchmarks.md quotes a run.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CDPSession, Page } from '@playwright/test';
import { launchStudioChromium, log, openWithBuiltIns, serveBuiltStudio, studioWaiter } from './studio-browser';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    every: { type: 'string', default: '60' },
    backend: { type: 'string', default: 'wasm' },
    port: { type: 'string', default: '4184' },
    out: { type: 'string', default: 'runs/soak' },
    reloads: { type: 'string', default: '3' },
    iterations: { type: 'string', default: '100000' },
  },
});

interface Sample {
  at: string;
  minute: number;
  iteration: number;
  itPerSec: number | null;
  pageHeapMB: number;
  workerHeapMB: number;
  tensors: number | null;
  tensorMB: number | null;
  storageMB: number;
  indexedDbMB: number | null;
  metricChunks: number;
  metricEvents: number;
  load1: number;
  actions: string[];
}

interface ReloadLoss {
  reached: number;
  resumedFrom: number;
  itPerSec: number;
  lostSeconds: number;
}

const MB = 1024 * 1024;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** The latest row of the ?diagnostics iteration table. */
async function latestCost(page: Page) {
  const rows = page.getByTestId('iteration-costs').locator('tbody tr');
  if ((await rows.count()) === 0) return null;
  return rows.last().evaluate((tr) => {
    const d = (tr as HTMLElement).dataset;
    return { iteration: Number(d.iteration), tensors: Number(d.tensors), tensorBytes: Number(d.tensorBytes) };
  });
}

/** The run's stored metric chunks and events, read in the page from the studio's database. */
async function storedMetrics(page: Page, runPrefix: string): Promise<{ chunks: number; events: number }> {
  return page.evaluate(
    (prefix) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('rapm-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction('metrics').objectStore('metrics').getAll();
          all.onerror = () => reject(all.error);
          all.onsuccess = () => {
            const chunks = (all.result as { runId: string; events: unknown[] }[]).filter((c) =>
              c.runId.startsWith(prefix),
            );
            open.result.close();
            resolve({ chunks: chunks.length, events: chunks.reduce((n, c) => n + c.events.length, 0) });
          };
        };
      }),
    runPrefix,
  );
}

async function storage(page: Page): Promise<{ usage: number; indexedDB: number | null }> {
  return page.evaluate(async () => {
    const e = (await navigator.storage.estimate()) as StorageEstimate & { usageDetails?: { indexedDB?: number } };
    return { usage: e.usage ?? 0, indexedDB: e.usageDetails?.indexedDB ?? null };
  });
}

/** After a garbage collection, so the figure is what the page holds, not what it has yet to free. */
async function pageHeap(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN;
}

/**
 * The studio worker's JS heap after a collection: CDP's Runtime.getHeapUsage inside the worker
 * (performance.memory does not exist in workers), through a non-flat session to its target,
 * attached again when a reload gave the page a new worker.
 */
function workerHeapReader(cdp: CDPSession): () => Promise<number> {
  let attached: { targetId: string; sessionId: string } | null = null;
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const message = JSON.parse(e.message) as { id?: number; result?: unknown; error?: { message: string } };
    const settle = message.id === undefined ? undefined : pending.get(message.id);
    if (!settle || message.id === undefined) return;
    pending.delete(message.id);
    settle(message.error ? new Error(message.error.message) : message.result);
  });
  const send = (sessionId: string, method: string) =>
    new Promise<unknown>((resolve, reject) => {
      const i = ++id;
      pending.set(i, (r) => (r instanceof Error ? reject(r) : resolve(r)));
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: i, method }) }).catch(reject);
    });
  return async () => {
    const { targetInfos } = await cdp.send('Target.getTargets');
    const target = targetInfos.find((t) => t.type === 'worker' && t.url.includes('studio.worker'));
    if (!target) throw new Error('the studio worker is not running');
    if (attached?.targetId !== target.targetId) {
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
      attached = { targetId: target.targetId, sessionId };
    }
    await send(attached.sessionId, 'HeapProfiler.collectGarbage');
    const usage = (await send(attached.sessionId, 'Runtime.getHeapUsage')) as { usedSize: number };
    return usage.usedSize;
  };
}

/** Least-squares slope of y over x (per unit of x); null with fewer than two finite points. */
function slope(xs: number[], ys: (number | null)[]): number | null {
  const pts = xs.map((x, i) => [x, ys[i]] as const).filter((p): p is [number, number] => Number.isFinite(p[1]));
  if (pts.length < 2) return null;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const num = pts.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = pts.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den > 0 ? num / den : null;
}

const QUANTITIES = [
  'iteration',
  'pageHeapMB',
  'workerHeapMB',
  'tensors',
  'tensorMB',
  'storageMB',
  'indexedDbMB',
  'metricChunks',
  'metricEvents',
] as const;

function summary(samples: Sample[]) {
  const hours = samples.map((s) => s.minute / 60);
  return Object.fromEntries(
    QUANTITIES.map((q) => {
      const ys = samples.map((s) => s[q]);
      const finite = ys.filter((y): y is number => y !== null && Number.isFinite(y));
      const perHour = slope(hours, ys);
      return [
        q,
        {
          start: finite[0] ?? null,
          end: finite[finite.length - 1] ?? null,
          max: finite.length ? Math.max(...finite) : null,
          slopePerHour: perHour === null ? null : round(perHour, 3),
        },
      ];
    }),
  );
}

const HEADER = 'min   iter   it/s  pageMB workerMB tensors tensorMB storeMB idbMB chunks events load1 actions';
function row(s: Sample): string {
  const f = (x: number | null, w: number, d = 1) => (x === null ? '—' : x.toFixed(d)).padStart(w);
  return [
    f(s.minute, 4),
    f(s.iteration, 6, 0),
    f(s.itPerSec, 6, 2),
    f(s.pageHeapMB, 7),
    f(s.workerHeapMB, 8),
    f(s.tensors, 7, 0),
    f(s.tensorMB, 8),
    f(s.storageMB, 7),
    f(s.indexedDbMB, 5),
    f(s.metricChunks, 6, 0),
    f(s.metricEvents, 6, 0),
    f(s.load1, 5, 2),
    s.actions.join(','),
  ].join(' ');
}

const outDir = flags.out;
const downloads = join(outDir, 'downloads');
mkdirSync(downloads, { recursive: true });
const minutes = Number(flags.minutes);
const everyMs = Number(flags.every) * 1000;
const samples: Sample[] = [];
const reloads: ReloadLoss[] = [];
const meta = {
  command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
  backend: flags.backend,
  minutes,
  everySeconds: everyMs / 1000,
  started: new Date().toISOString(),
  run: '',
  finished: null as string | null,
};
const writeOut = () =>
  writeFileSync(
    join(outDir, 'soak.json'),
    JSON.stringify({ ...meta, summary: summary(samples), reloads, samples }, null, 1),
  );

log('building the app…');
const server = await serveBuiltStudio(Number(flags.port));
const browser = await launchStudioChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (err) => log(`page error: ${err.message}`));
  const bar = page.getByRole('progressbar', { name: 'Training' });
  const waitFor = studioWaiter(page, async () =>
    (await bar.count()) ? `; ${await bar.getAttribute('aria-valuetext')}` : '',
  );
  const shards = await openWithBuiltIns(page, server.url, flags.backend, waitFor, '&diagnostics');
  const preset = await page.getByTestId('preset-state').innerText();
  log(`${shards} shards stored; ${preset} Starting the default run, ${flags.iterations} iterations long…`);
  const advanced = page.locator('summary', { hasText: 'Advanced settings' });
  if (!(await advanced.evaluate((el) => (el.parentElement as HTMLDetailsElement).open))) await advanced.click();
  await page.getByLabel('Iterations', { exact: true }).fill(flags.iterations);
  await page.getByRole('button', { name: 'Start training' }).click();
  const runName = page.getByTestId('run-name');
  await waitFor('the run', async () => (await runName.count()) > 0, 10);
  meta.run = (await runName.innerText()).trim();
  await waitFor('the first iteration', async () => (await latestCost(page)) !== null, 30);
  log(`run ${meta.run} is training`);

  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const workerHeap = workerHeapReader(cdp);
  const t0 = Date.now();
  let previous: { at: number; iteration: number } | null = null;
  let k = 0;
  console.log(HEADER);

  const act = async (): Promise<string> => {
    const which = k % 3;
    if (which === 2) {
      const timing = page.getByTestId('preview-timing');
      const before = (await timing.count()) ? await timing.innerText() : '';
      await page.getByRole('button', { name: 'Generate preview' }).click();
      await waitFor('the preview', async () => (await timing.count()) > 0 && (await timing.innerText()) !== before, 10);
      return 'preview';
    }
    const name = which === 0 ? /^Student merged/ : /^Student LoRA/;
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name }).click()]);
    const path = join(downloads, download.suggestedFilename());
    await download.saveAs(path);
    rmSync(path);
    await download.delete();
    return which === 0 ? 'export merged' : 'export lora';
  };

  const sample = async (actions: string[]): Promise<void> => {
    const now = Date.now();
    const cost = await latestCost(page);
    const iteration = cost?.iteration ?? 0;
    const store = await storage(page);
    const metrics = await storedMetrics(page, meta.run);
    const s: Sample = {
      at: new Date(now).toISOString(),
      minute: round((now - t0) / 60_000),
      iteration,
      itPerSec: previous ? round((iteration - previous.iteration) / ((now - previous.at) / 1000), 3) : null,
      pageHeapMB: round((await pageHeap(cdp)) / MB),
      workerHeapMB: round((await workerHeap()) / MB),
      tensors: cost?.tensors ?? null,
      tensorMB: cost ? round(cost.tensorBytes / MB) : null,
      storageMB: round(store.usage / MB),
      indexedDbMB: store.indexedDB === null ? null : round(store.indexedDB / MB),
      metricChunks: metrics.chunks,
      metricEvents: metrics.events,
      load1: round(loadavg()[0]),
      actions,
    };
    previous = { at: now, iteration };
    samples.push(s);
    console.log(row(s));
    writeOut();
  };

  await sample([]);
  while (Date.now() - t0 < minutes * 60_000) {
    const next = t0 + samples.length * everyMs;
    const actions: string[] = [];
    // One export or preview per interval, half way between two samples.
    await page.waitForTimeout(Math.max(0, next - everyMs / 2 - Date.now()));
    actions.push(await act());
    k++;
    await page.waitForTimeout(Math.max(0, next - Date.now()));
    await sample(actions);
  }

  // The time a reload loses: at a random moment of a checkpoint interval (15 s by default).
  for (let r = 0; r < Number(flags.reloads); r++) {
    await page.waitForTimeout(20_000 + Math.random() * 15_000);
    const rate = Number((await bar.getAttribute('aria-valuetext'))?.match(/([\d.]+) it\/s/)?.[1]);
    const reached = (await latestCost(page))?.iteration ?? NaN;
    await page.reload();
    const resume = page
      .getByTestId('resume-offer')
      .getByRole('button', { name: new RegExp(`^Resume run ${meta.run} from iteration \\d+$`) });
    await waitFor('the resume offer', async () => (await resume.count()) > 0, 10);
    const from = Number((await resume.innerText()).match(/iteration (\d+)$/)?.[1]);
    const loss = { reached, resumedFrom: from, itPerSec: rate, lostSeconds: round((reached - from) / rate, 1) };
    reloads.push(loss);
    log(`reload ${r + 1}: reached ${reached}, resumes from ${from}: ${loss.lostSeconds} s lost at ${rate} it/s`);
    writeOut();
    await resume.click();
    await waitFor(
      'training again',
      async () => (await page.getByTestId('training-state').innerText()) === 'running',
      10,
    );
    const first = (await latestCost(page))?.iteration ?? -1;
    await waitFor('an iteration after the resume', async () => ((await latestCost(page))?.iteration ?? -1) > first, 10);
  }
  await sample(['after reloads']);
  meta.finished = new Date().toISOString();
  writeOut();
  log(`summary: ${JSON.stringify(summary(samples), null, 1)}`);
  log(`reloads: ${JSON.stringify(reloads)}`);
  await context.close();
} finally {
  await browser.close();
  await server.close();
}
