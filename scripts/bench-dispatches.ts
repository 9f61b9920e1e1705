/**
 * npm run bench:dispatches -- [--port 4176] [--iterations 3] [--no-build] [--unet-only] [--fused-only]
 *   [--only kernels|studio]
 *
 * Real GPU dispatches per step on tfjs's webgpu backend in Chromium, launched as the e2e tests
 * launch it (WebGPU on SwiftShader here): builds the app, serves it, opens the diagnostics page
 * (kernels.html) with GPUComputePassEncoder.prototype.dispatchWorkgroups wrapped by a counter
 * before any page code runs, and counts the dispatches of one MNIST UNet forward and
 * forward+backward at batch 1 and of one default RAPM iteration (batch 1, N = 4, LoRA rank 8,
 * both discriminators; the last of `--iterations`, so Adam's moments exist), with the fused
 * kernels on (the default) and off (tfjs's composed ops, the reference path). Prints a markdown
 * table. Slow on SwiftShader: a few minutes (`--unet-only` skips the RAPM iteration,
 * `--fused-only` the composed runs, the slow half).
 *
 * Then the same count in the studio itself (`--only studio` skips the diagnostics page): the
 * built app with `?backend=webgpu&diagnostics`, a default run started on the built-in shards
 * (only its length, sample interval and validation set, which do not change an iteration), and
 * the dispatches the studio worker issued in each of its first `--iterations` iterations, as the
 * worker reports them (src/worker/diagnostics.ts). Slow on SwiftShader: many minutes.
 */
import { parseArgs } from 'node:util';
import { build, preview } from 'vite';
import { launchStudioChromium, log } from './studio-browser';
import { startDefaultRun, waitForIteration } from './studio-run';

const { values: flags } = parseArgs({
  options: {
    port: { type: 'string', default: '4176' },
    iterations: { type: 'string', default: '3' },
    'no-build': { type: 'boolean', default: false },
    'unet-only': { type: 'boolean', default: false },
    'fused-only': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const iterations = Number(flags.iterations);

declare global {
  interface Window {
    dispatches: number;
  }
}

if (!flags['no-build']) await build({ logLevel: 'warn' });
const server = await preview({ preview: { port: Number(flags.port), strictPort: true, host: '127.0.0.1' } });
const url = server.resolvedUrls?.local[0] ?? '';
if (!url) throw new Error('vite preview did not report its address');
const browser = await launchStudioChromium();

/** The diagnostics page: each step run in the page itself, fused kernels off and on. */
async function kernelsPage(): Promise<void> {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.dispatches = 0;
    const proto = GPUComputePassEncoder.prototype;
    const original = proto.dispatchWorkgroups;
    proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<typeof original>) {
      window.dispatches++;
      return original.apply(this, args);
    };
  });
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  await page.goto(`${url}kernels.html`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent !== 'Starting WebGPU…', null, {
    timeout: 300_000,
  });
  const status = await page.locator('#status').textContent();
  if (status !== 'ready: webgpu') throw new Error(`the diagnostics page did not start: ${status}`);

  /** Dispatches of the last of `times` runs of a step (earlier runs compile shaders and create state). */
  const count = async (step: 'unetForward' | 'unetForwardBackward' | 'rapmIteration', times: number) => {
    let last = 0;
    for (let i = 0; i < times; i++) {
      const before = await page.evaluate(() => window.dispatches);
      await page.evaluate((s) => window.rapmKernels[s]().then(() => undefined), step);
      last = (await page.evaluate(() => window.dispatches)) - before;
    }
    return last;
  };
  const rows: [string, number, number][] = [];
  const steps = [
    ['UNet forward, batch 1', 'unetForward', 2],
    ['UNet forward+backward, batch 1', 'unetForwardBackward', 2],
    ['RAPM iteration (default)', 'rapmIteration', iterations],
  ] as const;
  for (const [label, step, times] of flags['unet-only'] ? steps.slice(0, 2) : steps) {
    await page.evaluate(() => window.rapmKernels.setFused(false));
    const composed = flags['fused-only'] ? NaN : await count(step, times);
    await page.evaluate(() => window.rapmKernels.setFused(true));
    const fused = await count(step, times);
    rows.push([label, composed, fused]);
    console.error(`${label}: composed ${composed}, fused ${fused}`);
  }
  console.log('| step | dispatches, composed ops | dispatches, fused kernels (default) |');
  console.log('|---|---:|---:|');
  for (const [label, composed, fused] of rows) console.log(`| ${label} | ${composed} | ${fused} |`);
  console.log("\nWhere the fused path's dispatches go (WebGPU programs run per step, by shader name):\n");
  for (const [, step] of flags['unet-only'] ? steps.slice(0, 2) : steps) {
    const programs = await page.evaluate((s) => window.rapmKernels.programs(s), step);
    const total = programs.reduce((a, [, n]) => a + n, 0);
    console.log(`- ${step} (${total}): ${programs.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }
  await page.close();
}

/** The studio: a default run on webgpu, dispatches per iteration counted inside its worker. */
async function studio(): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  await startDefaultRun(page, url, 'webgpu', { iterations, sampleEvery: 1000, validationCount: 0 });
  log(`studio: a default run started on webgpu; waiting for ${iterations} iterations`);
  const costs = await waitForIteration(page, iterations, 120);
  console.log('\n| studio worker, default RAPM run on webgpu | GPU dispatches | wall time |');
  console.log('|---|---:|---:|');
  for (const c of costs) {
    console.log(`| iteration ${c.iteration} | ${c.dispatches ?? '-'} | ${(c.ms / 1000).toFixed(1)} s |`);
  }
  await context.close();
}

try {
  if (flags.only !== 'studio') await kernelsPage();
  if (flags.only !== 'kernels') await studio();
} finally {
  await browser.close();
  await new Promise<void>((resolve, reject) => server.httpServer.close((err) => (err ? reject(err) : resolve())));
}
