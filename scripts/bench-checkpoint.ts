/**
 * npm run bench:checkpoint -- [--backend wasm|webgpu] [--adapter null|gpu] [--iterations 20]
 *                             [--checkpoints 5] [--seconds 15]
 *
 * What a checkpoint costs beside training, LoRA and full fine-tuning, on the built-in teacher and
 * shards (default RAPM settings otherwise, batch 1): in Node on `--backend` (tfjs wasm, or tfjs
 * webgpu on Dawn's dawn.node: its null backend by default, `--adapter null`, where every call is
 * validated and encoded but nothing runs, so the figures are the host's share; `--adapter gpu`
 * for a real GPU), the median training iteration and the median checkpoint serialisation
 * (TrainingDriver.checkpoint: every weight, Adam moment and discriminator read back and written
 * as safetensors); then in Chromium (launched as the e2e tests launch it), the median IndexedDB
 * transaction that stores those very bytes, as putCheckpoint does. Prints the share of training
 * time a checkpoint every `--seconds` costs.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelBundle, shardTeacher } from '../src/core/io/bundle';
import { readShard } from '../src/core/io/shards';
import { DEFAULT_RAPM } from '../src/core/rapm/config';
import { withSetting } from '../src/core/rapm/settings';
import { TrainingDriver } from '../src/core/rapm/training-driver';
import { parseBackend, useBackend } from '../src/node/backend';
import { launchStudioChromium } from './studio-browser';

const { values: flags } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    adapter: { type: 'string', default: 'null' },
    iterations: { type: 'string', default: '20' },
    checkpoints: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '15' },
  },
});
const iterations = Number(flags.iterations);
const checkpoints = Number(flags.checkpoints);
const seconds = Number(flags.seconds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const backend = parseBackend(flags.backend);
if (flags.adapter !== 'null' && flags.adapter !== 'gpu')
  throw new Error(`--adapter is 'null' or 'gpu', got '${flags.adapter}'`);
if (backend === 'webgpu' && flags.adapter === 'null') {
  process.env.DAWN_OPTIONS = `backend=null ${process.env.DAWN_OPTIONS ?? ''}`.trim();
}
const description = await useBackend(backend);
const where = backend === 'webgpu' ? `webgpu, Dawn ${flags.adapter === 'null' ? 'null' : 'GPU'}` : backend;
console.log(`backend: ${description}`);
const teacherBytes = await readFile('public/teacher.safetensors');
const { config, params } = loadModelBundle(teacherBytes);
const identity = (await shardTeacher(teacherBytes)).identity;
const files = (await readdir('public/shards')).filter((f) => f.endsWith('.safetensors')).sort();
const shards = [];
for (const f of files) shards.push({ name: f, shard: readShard(await readFile(join('public/shards', f))) });

const rows: { mode: string; itMs: number; saveMs: number; bytes: Uint8Array }[] = [];
for (const mode of ['lora', 'full'] as const) {
  const rapm = withSetting(DEFAULT_RAPM, 'student.mode', mode);
  const driver = TrainingDriver.start({ config, params, identity }, shards, rapm, {
    checkpoints: { everyIterations: 0, everySeconds: 0 },
  });
  await driver.step(); // warm-up: kernels and buffers
  await driver.checkpoint();
  const its: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await driver.step();
    its.push(performance.now() - t);
  }
  const saves: number[] = [];
  let bytes: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < checkpoints; i++) {
    const t = performance.now();
    bytes = await driver.checkpoint();
    saves.push(performance.now() - t);
  }
  driver.dispose();
  rows.push({ mode, itMs: median(its), saveMs: median(saves), bytes });
}

// IndexedDB needs an origin: a page served from a route, nothing on the network.
const browser = await launchStudioChromium();
const stores: number[][] = [];
try {
  const page = await browser.newPage();
  await page.route('http://bench.invalid/', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' }),
  );
  await page.goto('http://bench.invalid/');
  for (const { bytes } of rows) {
    stores.push(
      await page.evaluate(
        async ({ data, times }) => {
          const buffer = new Uint8Array(data).buffer;
          const db = await new Promise<IDBDatabase>((resolve, reject) => {
            const open = indexedDB.open('bench-checkpoint', 1);
            open.onupgradeneeded = () => open.result.createObjectStore('checkpoints', { keyPath: 'runId' });
            open.onsuccess = () => resolve(open.result);
            open.onerror = () => reject(open.error);
          });
          const ms: number[] = [];
          for (let i = 0; i < times; i++) {
            const t = performance.now();
            await new Promise<void>((resolve, reject) => {
              const tx = db.transaction('checkpoints', 'readwrite');
              tx.objectStore('checkpoints').put({ runId: 'bench', iteration: i, bytes: buffer.slice(0) });
              tx.oncomplete = () => resolve();
              tx.onerror = () => reject(tx.error);
            });
            ms.push(performance.now() - t);
          }
          db.close();
          return ms;
        },
        { data: Array.from(bytes), times: checkpoints },
      ),
    );
  }
} finally {
  await browser.close();
}

console.log(
  `| student | checkpoint | iteration (${where}, Node) | serialise (${where}, Node) | IndexedDB write (Chromium) | every ${seconds} s |`,
);
console.log('|---|---:|---:|---:|---:|---:|');
rows.forEach(({ mode, itMs, saveMs, bytes }, i) => {
  const storeMs = median(stores[i]);
  const share = (100 * (saveMs + storeMs)) / (seconds * 1000);
  console.log(
    `| ${mode} | ${(bytes.byteLength / 2 ** 20).toFixed(1)} MB | ${itMs.toFixed(0)} ms | ${saveMs.toFixed(0)} ms | ` +
      `${storeMs.toFixed(0)} ms | ${share.toFixed(1)}% |`,
  );
});
