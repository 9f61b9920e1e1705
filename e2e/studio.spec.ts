/**
 * The studio end to end on WebGPU (SwiftShader): one fresh browser profile walks through load
 * teacher -> import shards (good, truncated, other teacher) -> train a few iterations -> reload and
 * resume from the checkpoint -> export and validate the files in Node -> preview. The steps share
 * one page and run in order; configs are tiny because SwiftShader runs WebGPU on the CPU.
 */
import { expect, test, type BrowserContext, type Download, type Page } from '@playwright/test';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelBundle, readModelConfig, teacherIdentity } from '../src/core/io/bundle';
import { loadLora } from '../src/core/rapm/student';
import { FIXTURES, fixture } from './fixtures-paths';
import { openAdvanced } from './train-form';

test.describe.configure({ mode: 'serial' });

/** A few iterations, a sample refresh and a checkpoint every 2: enough to see every part move. */
const RUN = { iterations: 6, sampleEvery: 2, checkpointEvery: 2 };

let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

/** A full-page screenshot attached to the running test's report. */
async function snap(name: string): Promise<void> {
  await test.info().attach(name, { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
}

async function downloadOf(click: () => Promise<void>): Promise<{ download: Download; bytes: Uint8Array }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await download.path();
  return { download, bytes: new Uint8Array(readFileSync(path)) };
}

/**
 * Waits until `ready` holds or the fault banner shows, whichever comes first, and fails with the
 * banner's text in the second case: a diverged or crashed run then fails in seconds, not at the timeout.
 */
async function waitForRun(what: string, ready: () => Promise<boolean>): Promise<void> {
  const banner = page.getByTestId('fault-banner');
  let outcome = 'pending';
  await expect
    .poll(
      async () => {
        if (await banner.count()) outcome = `fault: ${await banner.innerText()}`;
        else if (await ready()) outcome = 'ok';
        return outcome;
      },
      { message: what },
    )
    .not.toBe('pending');
  expect(outcome, what).toBe('ok');
}

const shardRows = () => page.getByTestId('shard-table').locator('tbody tr');
const number = async (testId: string) => Number(await page.getByTestId(testId).textContent());

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 768 } });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
});

test.afterAll(async () => {
  await context?.close();
});

test('a fresh profile opens the studio on WebGPU', async () => {
  await page.goto('/?backend=webgpu');
  await expect(page.getByRole('heading', { name: 'RAPM Studio' })).toBeVisible();
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('adapter')).not.toBeEmpty();
  await expect(page.getByTestId('no-shards')).toBeVisible();
  await expect(page.getByTestId('resume-offer')).toHaveCount(0);
  for (const name of ['Teacher', 'Data', 'Train', 'Curves', 'Samples', 'Export', 'Preview', 'Generate shards'])
    await expect(page.getByRole('heading', { name, exact: true })).toBeVisible();
  await snap('fresh.png');
});

test('loads the tiny teacher from a file', async () => {
  const { name } = readModelConfig(readFileSync(fixture(FIXTURES.teacher)));
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('teacher-name')).toHaveText(name);
  await snap('teacher.png');
});

test('imports good shards through the file input', async () => {
  await page.getByLabel('Shard files').setInputFiles(FIXTURES.goodShards.map(fixture));
  await expect(shardRows()).toHaveCount(FIXTURES.goodShards.length);
  for (const row of await shardRows().all()) await expect(row).toContainText('matches');
  expect(await number('trajectory-total')).toBeGreaterThan(0);
  await expect(page.getByTestId('shard-rejections')).toHaveCount(0);
  await snap('shards.png');
});

test('a truncated shard is refused with a specific error; the stored list stays as it was', async () => {
  const before = await page.getByTestId('shard-table').innerText();
  await page.getByLabel('Shard files').setInputFiles(fixture(FIXTURES.truncatedShard));
  const rejection = page.getByTestId('shard-rejections').locator('li');
  await expect(rejection).toHaveCount(1);
  await expect(rejection).toContainText(FIXTURES.truncatedShard);
  // Which check fires depends on where the cut falls; any is specific, none is a generic failure.
  expect(await rejection.getAttribute('data-code')).toMatch(
    /^(not-safetensors|wrong-shape|bad-metadata|missing-tensor)$/,
  );
  await expect(rejection).toContainText(/truncat|bytes|shorter|size/i);
  expect(await page.getByTestId('shard-table').innerText()).toBe(before);
  await snap('truncated-shard.png');
});

test('a shard of another teacher is refused with a teacher-mismatch message', async () => {
  const before = await page.getByTestId('shard-table').innerText();
  await page.getByLabel('Shard files').setInputFiles(fixture(FIXTURES.otherTeacherShard));
  const rejection = page.getByTestId('shard-rejections').locator('li');
  await expect(rejection).toHaveCount(1);
  await expect(rejection).toHaveAttribute('data-code', 'teacher-mismatch');
  await expect(rejection).toContainText(/generated by teacher .* but the loaded teacher is/);
  expect(await page.getByTestId('shard-table').innerText()).toBe(before);
  await snap('other-teacher-shard.png');
});

test('trains a few iterations on WebGPU with curves and samples updating', async () => {
  await openAdvanced(page);
  await page.getByLabel('LoRA rank').fill('2');
  await page.getByLabel('Iterations', { exact: true }).fill(String(RUN.iterations));
  await page.getByLabel('Samples every').fill(String(RUN.sampleEvery));
  await page.getByLabel('Checkpoint every').fill(String(RUN.checkpointEvery));
  await page.getByRole('button', { name: 'Start training' }).click();

  await waitForRun('state running', async () => (await page.getByTestId('training-state').innerText()) === 'running');
  await expect(page.getByRole('status', { name: 'Worker status' })).toContainText(/^Training run [0-9a-f]{8}\.$/);
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  const bar = page.getByRole('progressbar', { name: 'Training' });
  await expect(bar).toHaveAttribute('aria-valuemax', String(RUN.iterations));
  await expect(bar).toHaveAttribute('aria-valuetext', /it\/s · ETA/);

  // Pause and continue while the loop runs: requests get through between iterations.
  await waitForRun('a first iteration', async () => (await number('metric-rows')) >= 1);
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitForRun('state paused', async () => (await page.getByTestId('training-state').innerText()) === 'paused');
  await page.getByRole('button', { name: 'Continue' }).click();
  await waitForRun('state running', async () => (await page.getByTestId('training-state').innerText()) === 'running');

  await waitForRun('a checkpoint', async () => (await number('checkpoint-iteration')) >= 2);
  await expect(page.getByTestId('student-grid')).toBeVisible();
  await expect(page.getByTestId('teacher-grid')).toBeVisible();
  expect(await number('metric-rows')).toBeGreaterThanOrEqual(2);
  await expect(page.locator('.plot canvas').first()).toBeVisible();
  await snap('training.png');
  if (process.env.SAVE_README_SCREENSHOT === '1') {
    const readme = join('docs', 'studio.png');
    mkdirSync(dirname(readme), { recursive: true });
    // The top of the page: teacher and data beside the live curves and samples.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: readme });
  }
});

test('reloads mid-run and resumes from the checkpoint the page offers', async () => {
  await page.reload();
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toBeVisible();
  const resume = offer.getByRole('button', { name: /^Resume run .* from iteration \d+$/ });
  const from = Number((await resume.textContent())?.match(/iteration (\d+)$/)?.[1]);
  expect(from).toBeGreaterThanOrEqual(2);
  await snap('resume-offer.png');
  await resume.click();
  // The form shows the resumed run's settings, not the page's defaults.
  await openAdvanced(page);
  await expect(page.getByLabel('Iterations', { exact: true })).toHaveValue(String(RUN.iterations));
  await expect(page.getByLabel('Samples every')).toHaveValue(String(RUN.sampleEvery));

  // The stored history comes back first, then the run continues to its end.
  await expect.poll(() => number('metric-rows')).toBeGreaterThanOrEqual(from);
  await waitForRun('the run to finish', async () =>
    /status finished/.test(await page.getByTestId('run-state').innerText()),
  );
  await expect(page.getByRole('progressbar', { name: 'Training' })).toHaveAttribute(
    'aria-valuenow',
    String(RUN.iterations),
  );
  expect(await number('metric-rows')).toBe(RUN.iterations);
  await expect(page.getByTestId('samples-iteration')).toContainText(`Iteration ${RUN.iterations}`);
  await snap('finished.png');
});

test('exports the student, and the files load with the project loaders', async () => {
  const teacherBytes = new Uint8Array(readFileSync(fixture(FIXTURES.teacher)));
  const { sha256 } = await teacherIdentity(teacherBytes);
  const teacher = loadModelBundle(teacherBytes);
  try {
    const lora = await downloadOf(() => page.getByRole('button', { name: 'Student LoRA (.safetensors)' }).click());
    expect(lora.download.suggestedFilename()).toMatch(/\.safetensors$/);
    const student = loadLora(lora.bytes, teacher.config, sha256, teacher.params);
    expect(Object.keys(student.params).sort()).toEqual(Object.keys(teacher.params).sort());
    const trained = Object.keys(teacher.params).some(
      (k) => tf.tidy(() => tf.any(tf.notEqual(student.params[k], teacher.params[k])).dataSync())[0] === 1,
    );
    expect(trained, 'the adapters moved at least one weight away from the teacher').toBe(true);
    tf.dispose(Object.values(student.params));

    const merged = await downloadOf(() => page.getByRole('button', { name: 'Student merged (.safetensors)' }).click());
    const bundle = loadModelBundle(merged.bytes);
    expect(bundle.config.unet).toEqual(teacher.config.unet);
    tf.dispose(Object.values(bundle.params));
  } finally {
    tf.dispose(Object.values(teacher.params));
  }

  const csv = await downloadOf(() => page.getByRole('button', { name: 'Metrics CSV' }).click());
  const lines = new TextDecoder().decode(csv.bytes).trim().split('\n');
  expect(lines[0].split(',')).toEqual(expect.arrayContaining(['iteration', 'studentLoss', 'regAbs.slot0']));
  expect(lines).toHaveLength(RUN.iterations + 1);

  const json = await downloadOf(() => page.getByRole('button', { name: 'Metrics JSON' }).click());
  expect(JSON.parse(new TextDecoder().decode(json.bytes)).metrics).toHaveLength(RUN.iterations);

  const png = await downloadOf(() => page.getByRole('button', { name: 'Sample grid PNG' }).click());
  expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // Worth sharing: both grids at 4x (the IHDR chunk holds width and height, big-endian).
  const ihdr = new DataView(png.bytes.buffer, png.bytes.byteOffset + 16, 8);
  const grid = await page.getByTestId('student-grid').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  expect(ihdr.getUint32(0)).toBeGreaterThan(2 * 4 * grid[0]);
  expect(ihdr.getUint32(4)).toBeGreaterThan(4 * grid[1]);
  expect(png.download.suggestedFilename()).toMatch(/^rapm-[0-9a-f]{8}-samples-it\d+\.png$/);
});

test('generates a student preview on the 2-step grid its shards have', async () => {
  await page.getByLabel('Model').selectOption('student');
  await page.getByLabel('Count').fill('2');
  await page.getByRole('button', { name: 'Generate preview' }).click();
  await expect(page.getByTestId('preview-timing')).toContainText(/student, 2 steps: [\d.]+ ms\/image/);
  await expect(page.getByTestId('preview-grid')).toBeVisible();
  await snap('preview.png');
  expect(pageErrors).toEqual([]);
});

test('imports the built-in shards', async ({ browser }, testInfo) => {
  test.skip(
    !existsSync(join('public', 'shards', 'manifest.json')) || !existsSync(join('public', 'teacher.safetensors')),
    'no built-in teacher and shards shipped in public/ yet',
  );
  const fresh = await browser.newContext();
  try {
    const p = await fresh.newPage();
    await p.goto('/');
    await expect(p.getByTestId('teacher-name')).not.toBeEmpty();
    await p.getByRole('button', { name: 'Use built-in shards' }).click();
    await expect(p.getByTestId('shard-table').locator('tbody tr').first()).toContainText('matches');
    await expect(p.getByTestId('shard-rejections')).toHaveCount(0);
    await testInfo.attach('builtin-shards.png', {
      body: await p.screenshot({ fullPage: true }),
      contentType: 'image/png',
    });
  } finally {
    await fresh.close();
  }
});

test('imports the built-in 2-step and 1-step sets, each on its own grid', async ({ browser }) => {
  test.skip(
    !existsSync(join('public', 'shards-2step', 'manifest.json')) ||
      !existsSync(join('public', 'shards-1step', 'manifest.json')),
    'no built-in 2-step and 1-step shards in public/',
  );
  const fresh = await browser.newContext();
  try {
    const p = await fresh.newPage();
    await p.goto('/');
    await expect(p.getByTestId('teacher-name')).not.toBeEmpty();
    const rows = p.getByTestId('shard-table').locator('tbody tr');
    for (const steps of [2, 1]) {
      await p.getByLabel('Built-in set').selectOption(String(steps));
      await p.getByRole('button', { name: 'Use built-in shards' }).click();
      await expect(rows.filter({ hasText: `shards-${steps}step-shard-` })).toHaveCount(16);
      const first = rows.filter({ hasText: `shards-${steps}step-shard-00000` });
      await expect(first.locator('td').nth(1)).toHaveText('64');
      await expect(first.locator('td').nth(2)).toHaveText(`${steps} F16 +Δ`);
      await expect(first).toContainText('matches');
      await expect(p.getByTestId('shard-rejections')).toHaveCount(0);
    }
  } finally {
    await fresh.close();
  }
});
