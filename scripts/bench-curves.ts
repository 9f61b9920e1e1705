/**
 * npm run bench:curves [-- --sizes 10000,30000,100000 --updates 30 --per-update 10]
 *
 * How the live curves keep up with long runs, in the real page in headless Chromium (the e2e
 * launch settings). The studio is served by Vite's dev server so that the page can import the
 * very modules the app runs (`/src/ui/metric-series.ts`, `/src/ui/store.ts`): the benchmark feeds
 * metric rows exactly as the worker's `metrics` handler does (append to the series, bump the
 * store's row count) and the real CurvesPanel redraws its small multiples (each chart decimates
 * and paces its own redraws; the plain-language status is recomputed per batch, inside "update").
 * For each history size it loads that many
 * rows at once (a reload of a long run), then streams `--updates` batches of `--per-update` rows
 * at 10 batches/s (the worker's batching rate), in the smoothed and the raw view, and reports
 *   - first draw: from loading the history to the end of the frame that drew it;
 *   - update: appending a batch and React's render of it, median;
 *   - redraws: frames that redrew any chart (told apart by the plots' data-drawn-rows), and their
 *     main-thread time from the frame's start to the end of its rendering, median and p95;
 *   - frames dropped while streaming: rAF gaps beyond one idle frame interval, counted in intervals.
 *     On SwiftShader this is mostly the GPU process rasterising the canvas, outside the page's thread.
 * Not a test: it asserts nothing, it prints a table (and --json writes the raw numbers).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';
import { launchStudioChromium } from './studio-browser';

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,30000,100000' },
    updates: { type: 'string', default: '30' },
    'per-update': { type: 'string', default: '10' },
    width: { type: 'string', default: '1366' },
    json: { type: 'string' },
    /** Saves the Curves panel after the last history size's stream (a look at the charts). */
    screenshot: { type: 'string' },
  },
});
const sizes = flags.sizes.split(',').map(Number);
const updates = Number(flags.updates);
const perUpdate = Number(flags['per-update']);

interface Result {
  size: number;
  charts: number;
  view: 'smoothed' | 'raw';
  loadMs: number;
  updateMedianMs: number;
  updateP95Ms: number;
  redraws: number;
  redrawMedianMs: number;
  redrawP95Ms: number;
  frames: number;
  dropped: number;
  frameMs: number;
  streamMs: number;
}

const server = await createServer({ logLevel: 'warn', server: { port: 5181, strictPort: false } });
await server.listen();
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('the Vite dev server did not report its address');
const browser = await launchStudioChromium();
const results: Result[] = [];
try {
  const page = await browser.newPage({ viewport: { width: Number(flags.width), height: 900 } });
  page.on('pageerror', (err) => console.error('page error:', err.message));
  // tsx compiles this file with esbuild's keepNames, which wraps the functions declared inside
  // page.evaluate's callback in a `__name(fn, "name")` helper that exists only in Node.
  await page.addInitScript('globalThis.__name = (fn) => fn;');
  // Let the worker settle (backend up, built-in teacher loaded or reported missing) before timing.
  const settled = () =>
    page.getByTestId('teacher-name').or(page.getByTestId('no-teacher')).waitFor({ timeout: 600_000 });
  // The first visit makes Vite pre-bundle the worker's dependencies, and it reloads the page when
  // done: visit twice so the timed page is one that stays.
  await page.goto(url);
  await settled();
  await page.waitForTimeout(3000);
  await page.goto(url);
  await settled();
  await page.locator('.plot[data-rows] canvas').first().waitFor();

  for (const size of sizes) {
    for (const view of ['smoothed', 'raw'] as const) {
      await page.getByLabel('Smoothed (EMA)').setChecked(view === 'smoothed');
      const r = await page.evaluate(
        async ({ size, updates, perUpdate }) => {
          // Same URLs as the app's own imports, so these are the app's module instances.
          const seriesUrl = '/src/ui/metric-series.ts';
          const storeUrl = '/src/ui/store.ts';
          const { metricSeries } = await import(/* @vite-ignore */ seriesUrl);
          const { useStudio } = await import(/* @vite-ignore */ storeUrl);

          // Deterministic, noisy, training-like rows (xorshift noise).
          let s = 0x9e3779b9;
          const noise = () => {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            return (s >>> 0) / 2 ** 32 - 0.5;
          };
          const row = (i: number) => {
            const decay = Math.exp(-i / 20000);
            const slots = (base: number) => [0, 1, 2, 3].map((k) => base * (1 + 0.3 * k) * (1 + 0.8 * noise()));
            return {
              iteration: i + 1,
              studentLoss: 0.4 * decay + 0.05 + 0.1 * noise(),
              perSlot: {
                advRel: slots(-0.2),
                advAbs: slots(-0.3),
                regRel: slots(0.05 * decay + 0.01),
                regAbs: slots(0.08 * decay + 0.02),
              },
              discLossRel: 1.6 + 0.4 * noise(),
              discLossAbs: 1.4 + 0.4 * noise(),
              accuracy: {
                relReal: 0.6 + 0.3 * noise(),
                relFake: 0.6 + 0.3 * noise(),
                absReal: 0.7 + 0.3 * noise(),
                absFake: 0.7 + 0.3 * noise(),
              },
              gradNorm: { student: 1, rel: 1, abs: 1 },
              ms: 10,
            };
          };
          const rows = (from: number, n: number) => Array.from({ length: n }, (_, k) => row(from + k));
          const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));

          /** One update as the worker's `metrics` handler makes it; React renders it in a microtask. */
          const update = async (batch: unknown[]) => {
            const t0 = performance.now();
            metricSeries.append(batch);
            useStudio.setState({ metricRows: metricSeries.length });
            await Promise.resolve();
            return performance.now() - t0;
          };
          /** Resolves after the current frame's rendering (tasks queued in a frame run after it). */
          const afterFrame = () =>
            new Promise<void>((resolve) => {
              const channel = new MessageChannel();
              channel.port1.onmessage = () => resolve();
              channel.port2.postMessage(0);
            });
          // The live charts (validation charts hold a handful of points and are not fed here).
          const plots = [...document.querySelectorAll<HTMLElement>('.plot[data-rows]')];
          if (plots.length === 0) throw new Error('no live chart (.plot[data-rows]) on the page');
          const drawnRows = () => plots.map((p) => p.dataset.drawnRows).join(',');
          const allDrawn = (n: number) => plots.every((p) => p.dataset.drawnRows === String(n));

          metricSeries.clear();
          useStudio.setState({ metricRows: 0 });
          await nextFrame();
          await nextFrame();
          const history = rows(0, size);
          const loadStart = performance.now();
          await update(history);
          while (!allDrawn(size)) await nextFrame();
          await afterFrame();
          const loadMs = performance.now() - loadStart;
          await new Promise((resolve) => setTimeout(resolve, 1000));

          // The frame interval when idle, to count drops against.
          const idle: number[] = [];
          let last = await nextFrame();
          for (let k = 0; k < 30; k++) {
            const t = await nextFrame();
            idle.push(t - last);
            last = t;
          }
          idle.sort((a, b) => a - b);
          const frameMs = idle[idle.length >> 1];

          // Every frame while streaming: its interval, and, for frames that redrew the chart, the
          // main thread's time from the frame's start to the end of its rendering.
          const gaps: number[] = [];
          const redraws: number[] = [];
          let streaming = true;
          const watch = (async () => {
            let prev = await nextFrame();
            let drawn = drawnRows();
            while (streaming) {
              const t = await nextFrame();
              gaps.push(t - prev);
              prev = t;
              await afterFrame();
              if (drawnRows() !== drawn) redraws.push(performance.now() - t);
              drawn = drawnRows();
            }
          })();
          const times: number[] = [];
          const start = performance.now();
          for (let u = 0; u < updates; u++) {
            const due = start + u * 100;
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
            times.push(await update(rows(size + u * perUpdate, perUpdate)));
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
          streaming = false;
          await watch;

          const quantile = (xs: number[], p: number) => {
            const sorted = [...xs].sort((a, b) => a - b);
            return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
          };
          const dropped = gaps.reduce((n, g) => n + Math.max(0, Math.round(g / frameMs) - 1), 0);
          return {
            charts: plots.length,
            loadMs,
            updateMedianMs: quantile(times, 0.5),
            updateP95Ms: quantile(times, 0.95),
            redraws: redraws.length,
            redrawMedianMs: quantile(redraws, 0.5),
            redrawP95Ms: quantile(redraws, 0.95),
            frames: gaps.length,
            dropped,
            frameMs,
            streamMs: performance.now() - start,
          };
        },
        { size, updates, perUpdate },
      );
      results.push({ size, view, ...r });
      const f = (x: number) => x.toFixed(1);
      console.log(
        `${size} rows, ${view}, ${r.charts} charts: first draw ${f(r.loadMs)} ms; update median ${f(r.updateMedianMs)} ms; ` +
          `${r.redraws} redraws, median ${f(r.redrawMedianMs)} ms, p95 ${f(r.redrawP95Ms)} ms; ` +
          `${r.dropped} of ${r.frames + r.dropped} frames dropped in ${f(r.streamMs / 1000)} s`,
      );
    }
  }
  if (flags.screenshot) await page.getByRole('region', { name: 'Curves' }).screenshot({ path: flags.screenshot });
} finally {
  await browser.close();
  await server.close();
}

const f = (x: number) => x.toFixed(1);
console.log(`\n${updates} updates of ${perUpdate} rows at 10 updates/s, viewport ${flags.width} px wide\n`);
console.log(
  '| rows | view | first draw ms | update median ms | redraws | redraw median ms | redraw p95 ms | frames dropped |',
);
console.log('| ---: | ---- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results)
  console.log(
    `| ${r.size} | ${r.view} | ${f(r.loadMs)} | ${f(r.updateMedianMs)} | ${r.redraws} | ${f(r.redrawMedianMs)} | ` +
      `${f(r.redrawP95Ms)} | ${r.dropped} / ${r.frames + r.dropped} |`,
  );
if (flags.json) writeFileSync(flags.json, JSON.stringify(results, null, 2));
