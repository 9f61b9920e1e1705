/**
 * A diffusers UNet2DModel folder as the studio's teacher, end to end in the browser (wasm, real
 * IndexedDB): pick the folder of a fixture made by diffusers 0.25 (unconditional, 1 x 32 x 32,
 * prediction `sample`), see its architecture, refuse three bad folders with typed errors while it
 * stays loaded, load it as loose files and as a saved pipeline, preview it and generate shards from
 * it at guidance 1, train a few iterations, reload and resume
 * (the teacher comes back from IndexedDB), then export the student as a diffusers folder and check
 * its files in Node against the teacher's config and weights.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { readStoredZip } from '../src/core/io/zip.test-util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readDiffusersConfigs } from '../src/core/diffusers/folder';
import { parseSafetensorsHeader } from '../src/core/io/safetensors';
import { diffusersTeacherHash } from '../src/core/teacher-load';
import { openAdvanced } from './train-form';

test.describe.configure({ mode: 'serial' });

const NAME = 'uncond-32-plain';
const DIR = join('e2e', 'fixtures', 'diffusers', NAME);
const read = (file: string) => new Uint8Array(readFileSync(join(DIR, file)));
const CONFIG = read('config.json');
const SCHEDULER = read('scheduler_config.json');
const WEIGHTS = read('diffusion_pytorch_model.safetensors');
/** The student's grid: N = 2 trailing steps of the fixture's 500-step schedule. */
const GRID = [499, 249];

let context: BrowserContext;
let page: Page;
let sha256: string;
const pageErrors: string[] = [];

/** The weights without the tensor stored last (the file stays a valid safetensors file, one tensor short). */
function withoutLastTensor(bytes: Uint8Array): { bytes: Uint8Array; dropped: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const dropped = names.reduce((a, b) => (header[b].data_offsets[1] > header[a].data_offsets[1] ? b : a));
  const end = header[dropped].data_offsets[0];
  delete header[dropped];
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + end);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(bytes.subarray(8 + length, 8 + length + end), 8 + head.length);
  return { bytes: out, dropped };
}

/** Drops files onto the Teacher panel as a drag from the desktop would (one DataTransfer of Files). */
async function dropFiles(files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    (list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
      return dt;
    },
    files.map((f) => ({ name: f.name, bytes: [...f.bytes] })),
  );
  await page.getByTestId('teacher-panel').dispatchEvent('drop', { dataTransfer });
}

/** name -> bytes of a stored zip's entries (local headers in order). */
const unzip = (zip: Uint8Array) => new Map([...readStoredZip(zip)].map(([name, e]) => [name, e.bytes]));

const shapes = (bytes: Uint8Array) =>
  Object.fromEntries([...parseSafetensorsHeader(bytes).tensors].map(([name, t]) => [name, t.shape]));

async function expectTeacherKept(): Promise<void> {
  await expect(page.getByTestId('teacher-name')).toHaveText(NAME);
  await expect(page.getByTestId('teacher-sha256')).toHaveAttribute('title', sha256);
}

test.beforeAll(async ({ browser }) => {
  sha256 = await diffusersTeacherHash({ config: CONFIG, scheduler: SCHEDULER, weights: WEIGHTS });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 768 } });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
});

test.afterAll(async () => {
  await context?.close();
});

test('loads a diffusers folder through the folder picker and shows its architecture', async () => {
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  // the built-in teacher (the page's default) settles first, so the folder is the one that stays
  await expect(page.getByTestId('teacher-name').or(page.getByTestId('no-teacher'))).toBeVisible();
  await page.getByLabel('Load a diffusers folder').setInputFiles(DIR);
  await expectTeacherKept();
  await expect(page.getByTestId('teacher-architecture')).toHaveText('diffusers-unet2d (UNet2DModel)');
  await expect(page.getByTestId('teacher-down-blocks')).toHaveText('DownBlock2D, DownBlock2D');
  await expect(page.getByTestId('teacher-up-blocks')).toHaveText('UpBlock2D, UpBlock2D');
  await expect(page.getByTestId('teacher-channels')).toHaveText('block_out_channels [8, 16], layers_per_block 1');
  await expect(page.getByTestId('teacher-attention')).toHaveText('none');
  await expect(page.getByTestId('teacher-classes')).toHaveText('unconditional');
  await expect(page.getByTestId('teacher-prediction')).toHaveText('sample, scaled_linear schedule, 500 steps');
  await expect(page.getByTestId('teacher-scheduler')).toContainText('DDIMScheduler (trailing spacing, offset 0)');
  const { unet } = readDiffusersConfigs({ config: CONFIG, scheduler: SCHEDULER });
  expect(unet.numClassEmbeds).toBeNull();
  // the Export panel's diffusers forms appear for a diffusers teacher
  await expect(page.getByRole('button', { name: 'Student diffusers folder (.zip)' })).toBeVisible();
  await expect(page.getByTestId('teacher-error')).toHaveCount(0);
  const panel = await page.getByTestId('teacher-panel').screenshot();
  await test.info().attach('diffusers-teacher.png', { body: panel, contentType: 'image/png' });
});

test('bad folders are refused with typed errors and the loaded teacher stays', async () => {
  // dropped loose files: a config.json with a block type this studio does not run
  const config = JSON.parse(new TextDecoder().decode(CONFIG)) as Record<string, unknown>;
  config.down_block_types = ['CrossAttnDownBlock2D', 'DownBlock2D'];
  await dropFiles([
    { name: 'config.json', bytes: new TextEncoder().encode(JSON.stringify(config)) },
    { name: 'scheduler_config.json', bytes: SCHEDULER },
    { name: 'diffusion_pytorch_model.safetensors', bytes: WEIGHTS },
  ]);
  const error = page.getByTestId('teacher-error');
  await expect(error).toContainText('config.json');
  await expect(error).toContainText('down_block_types');
  await expect(error).toContainText('CrossAttnDownBlock2D');
  await expectTeacherKept();
  const panel = await page.getByTestId('teacher-panel').screenshot();
  await test.info().attach('diffusers-refused.png', { body: panel, contentType: 'image/png' });

  // picked files: weights one tensor short
  const { bytes, dropped } = withoutLastTensor(WEIGHTS);
  await page.getByLabel("Load a diffusers UNet's three files").setInputFiles([
    { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(CONFIG) },
    { name: 'scheduler_config.json', mimeType: 'application/json', buffer: Buffer.from(SCHEDULER) },
    { name: 'diffusion_pytorch_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) },
  ]);
  await expect(error).toContainText('diffusion_pytorch_model.safetensors');
  await expect(error).toContainText(dropped);
  await expectTeacherKept();

  // a folder without its scheduler config
  await page.getByLabel("Load a diffusers UNet's three files").setInputFiles([
    { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(CONFIG) },
    { name: 'diffusion_pytorch_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(WEIGHTS) },
  ]);
  await expect(error).toContainText('scheduler_config.json: not found');
  await expectTeacherKept();
});

test('the same model loads as dropped loose files and as a saved pipeline folder', async () => {
  await dropFiles([
    { name: 'config.json', bytes: CONFIG },
    { name: 'scheduler_config.json', bytes: SCHEDULER },
    { name: 'diffusion_pytorch_model.safetensors', bytes: WEIGHTS },
  ]);
  // loose files carry no folder name: the model is named as diffusers names the class
  await expect(page.getByTestId('teacher-name')).toHaveText('diffusers-unet2d');
  await expect(page.getByTestId('teacher-sha256')).toHaveAttribute('title', sha256);
  await expect(page.getByTestId('teacher-error')).toHaveCount(0);
  // a saved pipeline's folder: unet/ and scheduler/ inside (and a vae/ that is not read)
  const pipeline = join(mkdtempSync(join(tmpdir(), 'rapm-pipeline-')), 'my-ddpm');
  for (const [dir, file, bytes] of [
    ['unet', 'config.json', CONFIG],
    ['unet', 'diffusion_pytorch_model.safetensors', WEIGHTS],
    ['scheduler', 'scheduler_config.json', SCHEDULER],
    ['vae', 'config.json', new TextEncoder().encode('not read')],
  ] as const) {
    mkdirSync(join(pipeline, dir), { recursive: true });
    writeFileSync(join(pipeline, dir, file), bytes);
  }
  writeFileSync(join(pipeline, 'model_index.json'), '{}');
  await page.getByLabel('Load a diffusers folder').setInputFiles(pipeline);
  await expect(page.getByTestId('teacher-name')).toHaveText('my-ddpm');
  await expect(page.getByTestId('teacher-sha256')).toHaveAttribute('title', sha256);
  rmSync(dirname(pipeline), { recursive: true });
  // back to the named folder for the rest
  await page.getByLabel('Load a diffusers folder').setInputFiles(DIR);
  await expectTeacherKept();
});

test('previews the unconditional teacher at guidance 1', async () => {
  await page.getByLabel('Model', { exact: true }).selectOption('teacher');
  await expect(page.getByLabel('Teacher guidance')).toBeDisabled();
  await expect(page.getByLabel('Teacher guidance')).toHaveValue('1');
  await page.getByLabel('Count').fill('2');
  await page.getByLabel('Teacher steps').fill('2');
  await page.getByRole('button', { name: 'Generate preview' }).click();
  await expect(page.getByTestId('preview-timing')).toContainText(/teacher, 2 steps: [\d.]+ ms\/image/);
  await expect(page.getByTestId('preview-grid')).toBeVisible();
});

test('generates shards from the unconditional teacher at guidance 1', async () => {
  const guidance = page.getByLabel('Guidance', { exact: true });
  await expect(guidance).toBeDisabled();
  await expect(guidance).toHaveValue('1');
  await page.getByLabel('Student steps').selectOption('custom');
  await page.getByLabel('Coarse steps N').fill('2');
  await page.getByLabel('Fine steps M').fill('2');
  await page.getByLabel('Trajectories', { exact: true }).fill('4');
  await page.getByLabel('Per shard').fill('4');
  await page.getByRole('button', { name: 'Generate shards' }).click();
  const generated = page.getByRole('list', { name: 'Generated shards' }).locator('li');
  await expect(generated).toHaveCount(1);
  await expect(generated).toContainText(`${NAME}-N2M2-seed0-0000.safetensors`);
  await expect(generated).toContainText('4 trajectories');
  const rows = page.getByTestId('shard-table').locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('matches');
});

test('trains a few iterations, and after a reload the run resumes with the stored diffusers teacher', async () => {
  await openAdvanced(page);
  await page.getByLabel('LoRA rank').fill('2');
  // more than it will train: the run is stopped, so it stays resumable whatever the speed
  await page.getByLabel('Iterations', { exact: true }).fill('10000');
  await page.getByLabel('Samples every').fill('0');
  await page.getByLabel('Checkpoint every').fill('1');
  await page.getByLabel('Validation trajectories').fill('0');
  await page.getByRole('button', { name: 'Start training' }).click();
  const banner = page.getByTestId('fault-banner');
  const iteration = async () =>
    (await banner.count())
      ? await banner.innerText()
      : Number(await page.getByRole('progressbar', { name: 'Training' }).getAttribute('aria-valuenow'));
  const checkpoint = async () =>
    (await banner.count())
      ? await banner.innerText()
      : Number(await page.getByTestId('checkpoint-iteration').textContent());
  await expect.poll(checkpoint, { message: 'a first checkpoint' }).toBeGreaterThanOrEqual(2);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('training-state')).toHaveText('idle');

  await page.reload();
  await expect(page.getByTestId('teacher-name').or(page.getByTestId('no-teacher'))).toBeVisible();
  const resume = page.getByTestId('resume-offer').getByRole('button', { name: /^Resume run .* from iteration \d+$/ });
  const from = Number((await resume.textContent())?.match(/iteration (\d+)$/)?.[1]);
  expect(from).toBeGreaterThanOrEqual(2);
  await resume.click();
  // the run's teacher comes back from IndexedDB, not from the page's default
  await expectTeacherKept();
  await expect(page.getByTestId('teacher-architecture')).toHaveText('diffusers-unet2d (UNet2DModel)');
  await expect.poll(iteration, { message: 'iterations after the resume' }).toBeGreaterThan(from + 1);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('training-state')).toHaveText('idle');
  expect(await banner.count()).toBe(0);
});

test('exports the student as a diffusers folder whose files match the teacher', async () => {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Student diffusers folder (.zip)' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^${NAME}-rapm-diffusers-it\\d+-run-[0-9a-f]{8}\\.zip$`));
  const files = unzip(new Uint8Array(readFileSync(await download.path())));
  const folder = download.suggestedFilename().replace(/-run-[0-9a-f]{8}\.zip$/, '');
  expect([...files.keys()].sort()).toEqual(
    ['config.json', 'diffusion_pytorch_model.safetensors', 'scheduler_config.json'].map((f) => `${folder}/${f}`),
  );
  const config = JSON.parse(new TextDecoder().decode(files.get(`${folder}/config.json`)));
  const teacherConfig = JSON.parse(new TextDecoder().decode(CONFIG));
  for (const key of ['down_block_types', 'up_block_types', 'block_out_channels', 'layers_per_block', 'sample_size'])
    expect(config[key], key).toEqual(teacherConfig[key]);
  const scheduler = JSON.parse(new TextDecoder().decode(files.get(`${folder}/scheduler_config.json`)));
  expect(scheduler._rapm_student_timesteps).toEqual(GRID);
  expect(scheduler.num_train_timesteps).toBe(500);
  expect(scheduler.prediction_type).toBe('sample');
  expect(shapes(files.get(`${folder}/diffusion_pytorch_model.safetensors`)!)).toEqual(shapes(WEIGHTS));
  // and the studio's own loader reads the folder back with the student's grid
  const back = readDiffusersConfigs({
    config: files.get(`${folder}/config.json`)!,
    scheduler: files.get(`${folder}/scheduler_config.json`)!,
  });
  expect(back.sampling.studentTimesteps).toEqual(GRID);
  expect(pageErrors).toEqual([]);
});
