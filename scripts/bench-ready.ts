/**
 * npm run bench:ready [-- --runs 3 --json out.json --only auto]
 *
 * Load-to-ready of the built studio (run `npm run build` first), in headless Chromium with the
 * e2e launch settings. The script serves dist/ itself, as a static host would: cross-origin
 * isolated (COOP/COEP, so tfjs-wasm may run threads) or not. Each case opens the page in a
 * fresh browser profile and times, from navigation:
 *   - backend: the backend shown in the page (chosen, started, calibration included);
 *   - teacher: the built-in teacher loaded, i.e. the page ready to work;
 *   - settled: on a first visit the page starts on wasm at once and times every backend after the
 *     teacher has loaded (src/worker/backend.ts): when that answer was in the page.
 * Cases: automatic choice in a fresh profile (measures every backend), automatic on a reload
 * (the stored calibration), and each backend pinned with ?backend=. Medians of --runs runs.
 * Not a test: it asserts nothing, it prints a table.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Browser, Page } from '@playwright/test';
import { launchStudioChromium } from './studio-browser';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    port: { type: 'string', default: '4190' },
    json: { type: 'string' },
    /** Only the cases whose name contains this ('auto': the fresh profile and the reload). */
    only: { type: 'string' },
  },
});
const runs = Number(flags.runs);
const port = Number(flags.port);

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** A static server over dist/, with or without the cross-origin isolation headers. */
function serveDist(isolated: boolean, at: number): Promise<Server> {
  const root = join(process.cwd(), 'dist');
  const server = createServer((req, res) => {
    let path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path.endsWith('/')) path += 'index.html';
    readFile(join(root, path)).then(
      (body) => {
        const headers: Record<string, string> = { 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream' };
        if (isolated) {
          headers['Cross-Origin-Opener-Policy'] = 'same-origin';
          headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
        }
        res.writeHead(200, headers).end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(at, '127.0.0.1', () => resolve(server)));
}

interface Timing {
  backend: string;
  backendMs: number;
  teacherMs: number;
  settledMs: number;
}

async function timeLoad(page: Page, url: string): Promise<Timing> {
  const start = Date.now();
  await page.goto(url);
  const shown = page.getByTestId('backend');
  await page.waitForFunction(
    () => !['…', ''].includes(document.querySelector('[data-testid="backend"]')?.textContent ?? ''),
    undefined,
    { timeout: 600_000, polling: 20 },
  );
  const backendMs = Date.now() - start;
  await page.getByTestId('teacher-name').waitFor({ timeout: 600_000 });
  const teacherMs = Date.now() - start;
  await page.waitForFunction(
    () => document.querySelector('[data-testid="backend"]')?.getAttribute('data-choice') !== 'provisional',
    undefined,
    { timeout: 600_000, polling: 20 },
  );
  return { backend: await shown.innerText(), backendMs, teacherMs, settledMs: Date.now() - start };
}

interface Case {
  name: string;
  isolated: boolean;
  query: string;
  /** Load once in the same profile before timing: the stored-calibration case. */
  reload?: boolean;
}

const CASES: Case[] = [
  { name: 'auto, fresh profile (calibrates)', isolated: true, query: '' },
  { name: 'auto, reload (stored calibration)', isolated: true, query: '', reload: true },
  { name: 'wasm pinned, isolated (threads)', isolated: true, query: '?backend=wasm' },
  { name: 'wasm pinned, not isolated (1 thread)', isolated: false, query: '?backend=wasm' },
  { name: 'webgpu pinned', isolated: true, query: '?backend=webgpu' },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runCase(browser: Browser, c: Case, base: string): Promise<Timing[]> {
  const timings: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`  page error: ${err.message}`));
    if (c.reload) await timeLoad(page, base + c.query);
    timings.push(await timeLoad(page, base + c.query));
    await context.close();
  }
  return timings;
}

const servers = { true: await serveDist(true, port), false: await serveDist(false, port + 1) };
const browser = await launchStudioChromium();
const rows: { case: string; timings: Timing[] }[] = [];
try {
  for (const c of CASES.filter((k) => !flags.only || k.name.includes(flags.only))) {
    const base = `http://127.0.0.1:${c.isolated ? port : port + 1}/`;
    const timings = await runCase(browser, c, base);
    rows.push({ case: c.name, timings });
    console.log(
      `${c.name.padEnd(38)} backend ${timings.map((t) => t.backend).join('/')}` +
        `  shown ${(median(timings.map((t) => t.backendMs)) / 1000).toFixed(1)} s` +
        `  teacher loaded ${(median(timings.map((t) => t.teacherMs)) / 1000).toFixed(1)} s` +
        `  settled ${(median(timings.map((t) => t.settledMs)) / 1000).toFixed(1)} s` +
        `  (runs: ${timings.map((t) => (t.teacherMs / 1000).toFixed(1)).join(', ')} s)`,
    );
  }
} finally {
  await browser.close();
  servers.true.close();
  servers.false.close();
}
if (flags.json) writeFileSync(flags.json, JSON.stringify(rows, null, 2));
