/**
 * npm run bench:threads -- [--port 4177] [--rounds 2] [--warmup 3] [--window 20] [--no-build]
 *
 * Training speed of tfjs-wasm's threaded build against its single-thread build, in the studio
 * page: builds the app and serves it cross-origin isolated (vite preview, COOP/COEP), so the
 * threaded build can run; `?threads=1` makes the same page load the single-thread build. Each
 * round opens both in turn, each in a fresh profile (`?backend=wasm&diagnostics`), starts a
 * default run on the built-in shards (validation off, one grid at the start; the RAPM settings
 * are the defaults) and takes the median wall time of `--window` iterations after `--warmup`, as
 * the worker reports them. The two modes alternate so a busy machine slows both alike. Prints a
 * table; asserts nothing.
 */
import { parseArgs } from 'node:util';
import { build, preview } from 'vite';
import { launchStudioChromium, log } from './studio-browser';
import { median, startDefaultRun, waitForIteration } from './studio-run';

const { values: flags } = parseArgs({
  options: {
    port: { type: 'string', default: '4177' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    window: { type: 'string', default: '20' },
    'no-build': { type: 'boolean', default: false },
  },
});
const rounds = Number(flags.rounds);
const warmup = Number(flags.warmup);
const span = Number(flags.window);

const MODES = [
  { name: 'threaded build', query: '' },
  { name: 'single-thread build', query: '&threads=1' },
] as const;

if (!flags['no-build']) await build({ logLevel: 'warn' });
const server = await preview({ preview: { port: Number(flags.port), strictPort: true, host: '127.0.0.1' } });
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('vite preview did not report its address');
const browser = await launchStudioChromium();
const results = new Map<string, { threads: string; medians: number[] }>();
try {
  for (let round = 1; round <= rounds; round++) {
    for (const mode of round % 2 ? MODES : [...MODES].reverse()) {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
      const run = { iterations: warmup + span + 1, sampleEvery: 10_000, validationCount: 0 };
      await startDefaultRun(page, url, 'wasm', run, mode.query);
      const threads = (await page.getByTestId('wasm-threads').innerText()).replace(/:.*/, '');
      const costs = await waitForIteration(page, warmup + span, 30);
      const steady = costs.filter((c) => c.iteration > warmup && c.iteration <= warmup + span).map((c) => c.ms);
      const ms = median(steady);
      log(`round ${round}, ${mode.name} (${threads}): median ${ms.toFixed(0)} ms over ${steady.length} iterations`);
      const entry = results.get(mode.name) ?? { threads, medians: [] };
      entry.medians.push(ms);
      results.set(mode.name, entry);
      await context.close();
    }
  }
} finally {
  await browser.close();
  await new Promise<void>((resolve, reject) => server.httpServer.close((err) => (err ? reject(err) : resolve())));
}
console.log(`| wasm build (page isolated) | threads | ms per iteration, median per round | it/s (median of rounds) |`);
console.log('|---|---|---:|---:|');
for (const [name, { threads, medians }] of results) {
  const its = 1000 / median(medians);
  console.log(`| ${name} | ${threads} | ${medians.map((m) => m.toFixed(0)).join(', ')} | ${its.toFixed(2)} |`);
}
