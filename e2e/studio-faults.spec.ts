/**
 * The studio's fault paths, each in a fresh browser profile on WebGPU (SwiftShader): a full
 * storage quota, a lost GPU device and an uncaught error in the worker each show their message,
 * and the shards and checkpoints stored before stay listed and byte-for-byte intact after a reload.
 *
 * Nothing in the studio is mocked and it carries no test switches: the faults are injected from
 * outside. The quota by replacing `IDBObjectStore.prototype.put` inside the studio worker (through
 * Playwright's worker handle) with one that throws the browser's own QuotaExceededError, because
 * this Chromium ignores CDP's Storage.overrideQuotaForOrigin; the lost device by crashing
 * Chromium's GPU process (CDP Browser.crashGpuProcess), which is what a driver reset does; the
 * worker error by throwing from a timer in the worker's global scope.
 */
import { expect, test, type Browser, type Page, type Worker } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { FIXTURES, fixture } from './fixtures-paths';
import { loadTinyTeacher } from './tiny-teacher';
import { openAdvanced } from './train-form';

const shardRows = (page: Page) => page.getByTestId('shard-table').locator('tbody tr');
const faultOf = (page: Page, kind: string) => page.getByTestId('fault-banner').locator(`[data-kind="${kind}"]`);
const number = async (page: Page, testId: string) => Number(await page.getByTestId(testId).textContent());

/** The studio's web worker (Playwright sees dedicated workers once they have started). */
async function studioWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().some((w) => w.url().includes('studio.worker'))).toBe(true);
  const worker = page.workers().find((w) => w.url().includes('studio.worker'));
  if (!worker) throw new Error('the studio worker did not start');
  return worker;
}

/** A fresh profile with the tiny teacher loaded from its file and `shards` imported. */
async function openStudio(browser: Browser, shards: string[]): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  await loadTinyTeacher(page);
  await page.getByLabel('Shard files').setInputFiles(shards.map(fixture));
  await expect(shardRows(page)).toHaveCount(shards.length);
  return page;
}

/** Fills the Train panel with a tiny run and starts it. */
async function startRun(page: Page, run: { iterations: number; checkpointEvery: number }): Promise<void> {
  await openAdvanced(page);
  await page.getByLabel('LoRA rank').fill('2');
  await page.getByLabel('Iterations', { exact: true }).fill(String(run.iterations));
  await page.getByLabel('Samples every').fill('0');
  await page.getByLabel('Checkpoint every').fill(String(run.checkpointEvery));
  await page.getByRole('button', { name: 'Start training' }).click();
}

/** Each stored shard is still listed, and downloading it gives back the very bytes imported. */
async function expectShardsIntact(page: Page, shards: string[]): Promise<void> {
  await expect(shardRows(page)).toHaveCount(shards.length);
  for (const name of shards) {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Download ${name}` }).click(),
    ]);
    const bytes = readFileSync(await download.path());
    expect(bytes.equals(readFileSync(fixture(name))), `${name} is stored byte for byte`).toBe(true);
  }
}

/** The resume offer's button for the one stored run, and the checkpoint iteration it names. */
async function resumeOffer(page: Page): Promise<{ text: string; from: number; resume: () => Promise<void> }> {
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toBeVisible();
  const button = offer.getByRole('button', { name: /^Resume run .* from iteration \d+$/ });
  await expect(button).toHaveCount(1);
  const from = Number((await button.textContent())?.match(/iteration (\d+)$/)?.[1]);
  return { text: await offer.innerText(), from, resume: () => button.click() };
}

test('a full storage quota shows the quota fault; stored shards and the run stay intact', async ({ browser }) => {
  test.setTimeout(600_000); // first-use WGSL compilation on SwiftShader: 4.1 min on a loaded 2-core machine
  const [kept, refused] = FIXTURES.goodShards;
  const page = await openStudio(browser, [kept]);

  // From now on the worker's IndexedDB refuses the big records (shard bytes, checkpoints) the
  // way a full disk does; the small ones (shard info, run records) still go through, so only a
  // write that keeps its parts in one transaction stays consistent.
  await (
    await studioWorker(page)
  ).evaluate(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'shardBytes' || this.name === 'checkpoints')
        throw new DOMException(`The quota has been exceeded (e2e, store ${this.name}).`, 'QuotaExceededError');
      return put.apply(this, args);
    };
  });

  await page.getByLabel('Shard files').setInputFiles(fixture(refused));
  await expect(faultOf(page, 'quota').filter({ hasText: refused })).toContainText(
    /Browser storage is full: saving shard '.*' needed/,
  );
  await expect(shardRows(page)).toHaveCount(1);
  await expect(shardRows(page).first()).toContainText(kept);

  // A checkpoint that does not fit pauses the run and says so.
  await startRun(page, { iterations: 4, checkpointEvery: 1 });
  await expect(faultOf(page, 'quota').filter({ hasText: 'checkpoint' })).toContainText(
    /saving the checkpoint of run .* Training is paused/,
  );
  await expect(page.getByTestId('training-state')).toHaveText('paused');
  await expect(page.getByTestId('checkpoint-iteration')).toHaveText('0');
  await test.info().attach('quota.png', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });

  // A reload starts a new worker (storage works again): nothing half-written shows up.
  await page.reload();
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expectShardsIntact(page, [kept]);
  const offer = await resumeOffer(page);
  expect(offer.from, 'the stored run claims no checkpoint it does not have').toBe(0);
  await page.context().close();
});

test('a lost GPU device mid-training shows the device-lost fault; the run resumes from its checkpoint', async ({
  browser,
}) => {
  // SwiftShader compiles every WGSL program on first use, here twice (before the crash and on the new
  // device after the reload): about 5 minutes on a loaded 2-core machine, past the 300 s default.
  test.setTimeout(600_000);
  const page = await openStudio(browser, FIXTURES.goodShards);
  await startRun(page, { iterations: 1000, checkpointEvery: 1 });
  await expect.poll(() => number(page, 'checkpoint-iteration')).toBeGreaterThanOrEqual(2);

  const cdp = await browser.newBrowserCDPSession();
  await cdp.send('Browser.crashGpuProcess');
  await expect(faultOf(page, 'device-lost')).toContainText(/The GPU device was lost .* Reload the page/);
  // The loop ends without touching the dead device; the run is marked resumable.
  await expect(page.getByTestId('training-state')).toHaveText('idle');
  await expect(page.getByTestId('run-state')).toContainText('status interrupted');
  await test.info().attach('device-lost.png', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  await page.reload();
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expectShardsIntact(page, FIXTURES.goodShards);
  const offer = await resumeOffer(page);
  expect(offer.text).toContain('interrupted');
  expect(offer.from).toBeGreaterThanOrEqual(2);

  // The checkpoint loads and training goes on from it on the new device.
  await offer.resume();
  await expect(page.getByTestId('training-state')).toHaveText('running');
  await expect.poll(() => number(page, 'checkpoint-iteration')).toBeGreaterThan(offer.from);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('training-state')).toHaveText('idle');
  await cdp.detach();
  await page.context().close();
});

test('an uncaught error in the worker shows the worker fault; stored shards stay intact', async ({ browser }) => {
  const page = await openStudio(browser, FIXTURES.goodShards);
  await (
    await studioWorker(page)
  ).evaluate(() => {
    setTimeout(() => {
      throw new Error('e2e: uncaught error in the studio worker');
    });
  });
  await expect(faultOf(page, 'worker')).toContainText(/e2e: uncaught error in the studio worker.* reload the page/);
  await test.info().attach('worker-fault.png', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  await page.reload();
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expectShardsIntact(page, FIXTURES.goodShards);
  await page.context().close();
});
