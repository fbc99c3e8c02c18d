import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digits } from '../helpers/data.js';
import { digitsZip, pngOf, type DatasetView } from '../helpers/datasets.js';
import { PrivateRedis } from '../helpers/redis.js';
import { Api, seedNetwork, serviceEnv, WorkerProcess, type ServiceEnv } from '../helpers/service.js';
import { chromiumPath, launchChromium, type Browser } from './browser.js';
import { PrefixProxy } from './prefix-proxy.js';

/**
 * The web page end to end, in real headless Chromium: a private redis-server, the API in this
 * process, a worker process training on wasm, and the page reached through a proxy that mounts
 * everything under /trainyard/ (so any absolute URL in the page would miss). Screenshots go to
 * .scratch/screenshots, or to docs/screenshots with UPDATE_SCREENSHOTS=1 (npm run screenshots).
 */
const screenshots = process.env['UPDATE_SCREENSHOTS'] ? 'docs/screenshots' : '.scratch/screenshots';

let redis: PrivateRedis;
let env: ServiceEnv;
let api: Api;
let worker: WorkerProcess;
let proxy: PrefixProxy;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  redis = await PrivateRedis.start();
  env = await serviceEnv('ui', redis.url);
  [api, worker, browser] = await Promise.all([Api.start(env.config), WorkerProcess.start(env.env), launchChromium(), mkdir(screenshots, { recursive: true })]);
  proxy = await PrefixProxy.start(api.base, '/trainyard');
  page = await browser.context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => /Content.Security.Policy/i.test(message.text()) && pageErrors.push(message.text()));
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await worker?.kill('SIGKILL');
  await api?.close();
  await redis?.destroy();
  await env?.cleanup();
});

const pointsShown = (chart: number) => page.locator('figure.chart').nth(chart).getAttribute('data-points').then(Number);

describe('the web page', () => {
  it('shows the server’s validation problems next to the fields they concern', async () => {
    await page.goto(proxy.base);
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    const network = page.getByLabel('Network (JSON)');
    await expect.poll(() => network.inputValue()).toContain('"elu"');
    await network.fill((await network.inputValue()).replace(/"numChannels": ?20/, '"numChannels": 16'));
    await page.getByLabel('Max epochs').fill('0');
    await page.getByRole('button', { name: 'Submit job' }).click();

    await page.locator('.error-summary').waitFor();
    expect(await page.locator('#job-network-errors').innerText()).toContain('numChannels 16 does not match its 20 input channels');
    expect(await network.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#job-options-maxEpochs-errors').innerText()).toMatch(/maxEpochs/);
    expect(await page.locator('#job-name-errors').innerText()).toBe('');
    expect(await page.evaluate('document.activeElement.className')).toBe('error-summary');
    await page.locator('form.job-form').screenshot({ path: `${screenshots}/form-errors.png` });
  });

  it('submits the seed network, draws its progress live, survives a dropped connection and a reload, and ends on the model link', async () => {
    await page.getByRole('button', { name: 'Reset to the seed network' }).click();
    await page.getByLabel('Name').fill('browser e2e');
    // Long enough (156 iterations, a validation every 10) to drop the socket and reload mid-run.
    await page.getByLabel('Training images').fill('5000');
    await page.getByLabel('Max epochs').fill('2');
    await page.getByLabel('Mini-batch size').fill('64');
    await page.getByLabel('Validate on the held-out split').check();
    await page.getByLabel('Validation frequency (iterations)').fill('10');
    await page.getByLabel('Other options (JSON)').fill('{"verboseFrequency": 5, "seed": 1}');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/#\/jobs\/[0-9A-Z]{26}$/);
    const id = page.url().split('/').pop()!;

    await expect.poll(() => pointsShown(0), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    expect((await api.job(id)).status).toBe('running');
    expect(proxy.dropWebSockets()).toBeGreaterThan(0);
    await page.locator('.connection.lost', { hasText: 'Connection to the server lost' }).waitFor();
    await page.locator('.connection.restored', { hasText: 'Reconnected' }).waitFor();

    // a reload mid-run replays the history and follows it live again
    expect((await api.job(id)).status).toBe('running');
    await page.reload();
    // 156 iterations then the test evaluation: about a minute on a loaded machine (2.8 iterations/s at load 12).
    await page.locator('.ending-completed').waitFor({ timeout: 180_000 });
    // every progress event once and in order, across the dropped socket and the reload
    const history = api.watch(id);
    await history.closed;
    const iterations = history.events.filter((e) => e.type === 'progress').map((e) => (e as { iteration: number }).iteration);
    expect(await pointsShown(0)).toBe(iterations.length);
    expect(await pointsShown(1)).toBe(iterations.length);
    const rows = await page.locator('.verbose-table tbody tr td:nth-child(2)').allInnerTexts();
    expect(rows.map(Number)).toEqual(iterations);
    expect(iterations.at(-1)).toBe(156);
    await page.screenshot({ path: `${screenshots}/job.png`, fullPage: true });

    await page.getByRole('link', { name: 'Open the model and try it' }).click();
    await page.getByRole('heading', { name: `Model ${id}` }).waitFor();
  }, 300_000);

  it('predicts the digit drawn on the pad with the mouse, every class as a bar', async () => {
    const pad = page.getByRole('img', { name: /Drawing pad/ });
    const box = (await pad.boundingBox())!;
    const at = (x: number, y: number) => [box.x + x * box.width, box.y + y * box.height] as const;
    await page.mouse.move(...at(0.3, 0.25));
    await page.mouse.down();
    await page.mouse.move(...at(0.7, 0.25), { steps: 8 });
    await page.mouse.move(...at(0.45, 0.8), { steps: 12 });
    await page.mouse.up();

    const label = page.locator('#predicted-label');
    await expect.poll(() => label.innerText()).toMatch(/^\d$/);
    const bars = await page.locator('.bars li .bar-value').allInnerTexts();
    expect(bars).toHaveLength(10);
    const total = bars.reduce((sum, text) => sum + Number.parseFloat(text), 0);
    expect(total).toBeGreaterThan(99);
    expect(total).toBeLessThan(101);
    console.log(`the pad's 7 was read as ${await label.innerText()} (${bars.join(' ')})`);
    await page.screenshot({ path: `${screenshots}/model.png`, fullPage: true });
  });

  it("draws the model's confusion chart with recall and precision, and its misclassified test images", async () => {
    const id = page.url().split('/').pop()!;
    const { body: model } = await api.json<{ evaluation: { count: number; misclassified: { examples: unknown[] } } }>('GET', `/v1/models/${id}`);
    const chart = page.locator('table.confusion-chart');
    await chart.waitFor();
    const rows = chart.locator('tbody tr');
    expect(await rows.count()).toBe(10);
    expect(await chart.locator('thead th').allInnerTexts()).toEqual(['True \\ predicted', ...'0123456789'.split(''), 'Recall']);
    const counts = (await chart.locator('tbody td:not(.summary)').allInnerTexts()).map(Number);
    expect(counts).toHaveLength(100);
    expect(counts.reduce((s, n) => s + n, 0)).toBe(model.evaluation.count);
    expect(await chart.getAttribute('data-total')).toBe(String(model.evaluation.count));
    // A trained model gets most of each class right: the diagonal is the largest cell of its row, and recall reads as a percentage.
    for (let t = 0; t < 10; t++) expect(counts[t * 11]).toBe(Math.max(...counts.slice(t * 10, t * 10 + 10)));
    expect(await rows.first().locator('td.summary').innerText()).toMatch(/^\d+(\.\d)?%$/);
    expect(await chart.locator('tfoot td.summary').count()).toBe(10);

    expect(await page.locator('.lineage').innerText()).toBe('Trained from scratch, on dataset digits, never resumed');
    const images = page.locator('ul.misclassified canvas');
    await expect.poll(() => images.count()).toBe(model.evaluation.misclassified.examples.length);
    expect(await images.count()).toBeGreaterThan(0);
    expect(await page.locator('ul.misclassified figcaption').first().innerText()).toMatch(/^\d → \d \(\d+%\)$/);
    // The tile was drawn from the sprite: not a blank canvas.
    const inked = await page.evaluate(
      "(() => { const c = document.querySelector('ul.misclassified canvas'); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 !== 3 && v > 0); })()",
    );
    expect(inked).toBe(true);
    await page.locator('section.evaluation').screenshot({ path: `${screenshots}/evaluation.png` });
  });

  it('shows where a model trained from another came from, on the model page and the job page, the parent a link', async () => {
    const parent = page.url().split('/').pop()!;
    const job = await api.submit({ network: seedNetwork, dataset: { id: 'digits', trainImages: 64 }, options: { maxEpochs: 1, miniBatchSize: 32 }, initialModel: parent });
    expect(job.status).toBe(202);
    expect(await api.waitFor(job.body.id, (j) => j.status !== 'queued' && j.status !== 'running')).toMatchObject({ status: 'completed' });
    /** The line at `url` reads `text`, and its link leads to the parent's page. */
    const expectParentLine = async (url: string, selector: string, text: string) => {
      await page.goto(url);
      const line = page.locator(selector);
      await line.waitFor();
      expect(await line.innerText()).toBe(text);
      await line.getByRole('link', { name: 'browser e2e' }).click();
      await page.getByRole('heading', { name: `Model ${parent}` }).waitFor();
    };
    await expectParentLine(`${proxy.base}#/models/${job.body.id}`, '.lineage', 'Trained from model browser e2e (layers conv_1, batchnorm_1, elu_1, fc_1), on dataset digits, never resumed');
    // The job's page says the same of the job, from its record.
    await expectParentLine(`${proxy.base}#/jobs/${job.body.id}`, '.initial-model', 'Starts from model browser e2e (layers conv_1, batchnorm_1, elu_1, fc_1).');
  });

  it('lists the jobs live, and cancels a running one from the list', async () => {
    await page.getByRole('link', { name: '← All jobs' }).click();
    const done = page.locator('table.jobs tbody tr', { hasText: 'browser e2e' });
    await done.locator('.status-completed').waitFor();
    expect(await done.getByRole('link', { name: /^model/ }).count()).toBe(1);
    expect(await done.getByRole('button', { name: /Cancel/ }).count()).toBe(0);

    const long = await api.submit({ name: 'long run', network: seedNetwork, dataset: 'digits', options: { maxEpochs: 30 } });
    const row = page.locator('table.jobs tbody tr', { hasText: 'long run' });
    await row.locator('.status-running').waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Cancel long run' }).click();
    await row.locator('.status-cancelled').waitFor({ timeout: 30_000 });
    expect((await api.job(long.body.id)).status).toBe('cancelled');
    await page.screenshot({ path: `${screenshots}/jobs.png` });

    expect(proxy.outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('pauses a running job from its page, which says so, and resumes it from there', async () => {
    const job = await api.submit({ name: 'paused run', network: seedNetwork, dataset: 'digits', options: { maxEpochs: 30 } });
    await page.locator('table.jobs tbody tr', { hasText: 'paused run' }).getByRole('link', { name: 'paused run' }).click();
    const status = page.locator('.job-status');
    await status.getByText('Running.').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('button', { name: 'Resume' }).isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await status.getByText(/^Paused/).waitFor({ timeout: 30_000 });
    expect(await api.job(job.body.id)).toMatchObject({ status: 'paused', attempts: 1 });
    expect(await page.getByRole('button', { name: 'Pause', exact: true }).isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Resume' }).click();
    await status.getByText('Running.').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await status.getByText('Cancelled.').waitFor({ timeout: 30_000 });
    // Resumed on a second attempt (from its checkpoint when it had one), then cancelled.
    expect(await api.job(job.body.id)).toMatchObject({ status: 'cancelled', attempts: 2 });
    expect(pageErrors).toEqual([]);
  });
});

/** The first of the canvases `selector` finds has some ink on it (drawn from a sprite, not blank). */
const inked = (selector: string) =>
  page.evaluate(`(() => { const c = document.querySelector(${JSON.stringify(selector)}); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 !== 3 && v > 0); })()`);

describe('datasets on the web page', () => {
  // 3 classes of 12 digits as PNG class folders; converted to 20x20 so the model takes image files, not the pad.
  const perClass = 12;

  it('uploads an archive dropped on the zone, with the upload then the ingestion as progress bars, until it is ready', async () => {
    const archive = await digitsZip(perClass, 3);
    await page.goto(proxy.base);
    await page.getByRole('link', { name: 'Datasets' }).click();
    await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();
    await page.getByLabel('Name').fill('three digits');
    await page.getByLabel('Height').fill('20');
    await page.getByLabel('Width').fill('20');
    // A drop as the browser makes it: a DataTransfer holding the file.
    await page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(archive.toString('base64'))}), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'digits.zip', { type: 'application/zip' }));
      document.querySelector('.drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    expect(await page.locator('.chosen-file').innerText()).toMatch(/^digits\.zip \(/);
    await page.getByRole('button', { name: 'Upload' }).click();

    const outcome = page.locator('.upload-outcome .ending-completed');
    await outcome.waitFor({ timeout: 90_000 });
    expect(await outcome.innerText()).toContain(`three digits is ready: ${3 * perClass} images in 3 classes, 20×20 grey`);
    // Every byte of the form was reported sent, and every image converted.
    const bar = (id: string) => page.evaluate(`[document.getElementById('${id}').value, document.getElementById('${id}').max]`) as Promise<[number, number]>;
    const [sent, body] = await bar('upload-bar');
    expect(sent).toBe(body);
    expect(body).toBeGreaterThan(archive.length);
    expect(await bar('ingestion-bar')).toEqual([3 * perClass, 3 * perClass]);
    const row = page.locator('table.datasets tbody tr', { hasText: 'three digits' });
    await row.locator('.status-ready').waitFor();
    await page.screenshot({ path: `${screenshots}/datasets.png`, fullPage: true });
  });

  it('shows the counts of each class per split and a few of its images', async () => {
    await page.getByRole('link', { name: 'Open three digits' }).click();
    await page.getByRole('heading', { name: 'Dataset: three digits' }).waitFor();
    const id = page.url().split('/').pop()!;
    const { body: dataset } = await api.json<DatasetView>('GET', `/v1/datasets/${id}`);
    const { splits } = dataset.description!;
    const counts = page.locator('table.class-counts tbody tr');
    expect(await counts.count()).toBe(3);
    const cells = (await page.locator('table.class-counts tbody td .count').allInnerTexts()).map(Number);
    expect(cells).toEqual([0, 1, 2].flatMap((k) => [splits['train']!.perClass[k], splits['test']!.perClass[k]]));
    expect(cells.reduce((s, n) => s + n, 0)).toBe(3 * perClass);

    const tiles = page.locator('.samples canvas');
    await expect.poll(() => tiles.count()).toBe(splits['train']!.perClass.reduce((s, n) => s + Math.min(8, n), 0));
    expect(await page.locator('.sample-row .sample-class').allInnerTexts()).toEqual(['0', '1', '2']);
    expect(await inked('.samples canvas')).toBe(true);
    await page.screenshot({ path: `${screenshots}/dataset.png`, fullPage: true });
  });

  it('trains on it from the job form, and classifies an image file of another size with the model', async () => {
    await page.getByRole('link', { name: 'Train a network on it' }).click();
    const network = page.getByLabel('Network (JSON)');
    // The seed network, fitted to the dataset the link chose.
    await expect.poll(() => network.inputValue()).toContain('"inputSize": [20, 20, 1]');
    expect(await network.inputValue()).toContain('"outputSize": 3');
    await page.getByLabel('Name').fill('on three digits');
    await page.getByLabel('Max epochs').fill('3');
    await page.getByLabel('Mini-batch size').fill('8');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/#\/jobs\/[0-9A-Z]{26}$/);
    await page.locator('.ending-completed').waitFor({ timeout: 120_000 });
    await page.getByRole('link', { name: 'Open the model and try it' }).click();
    await page.getByRole('heading', { name: 'Classify an image' }).waitFor();

    // A 28x28 digit: the server converts it to the model's 20x20.
    const { train } = await digits(50);
    const one = [...train.labels].indexOf(1);
    const png = await pngOf(train.images.subarray(one * 784, (one + 1) * 784), 28, 28, 1);
    await page.getByLabel('Image file', { exact: true }).setInputFiles({ name: 'one.png', mimeType: 'image/png', buffer: png });
    await expect.poll(() => page.locator('#predicted-label').innerText()).toMatch(/^[012]$/);
    const bars = await page.locator('.bars li .bar-value').allInnerTexts();
    expect(bars).toHaveLength(3);
    const total = bars.reduce((sum, text) => sum + Number.parseFloat(text), 0);
    expect(total).toBeGreaterThan(99);
    expect(total).toBeLessThan(101);
    expect(await inked('canvas.image-preview')).toBe(true);
    await page.screenshot({ path: `${screenshots}/model-image.png`, fullPage: true });
  });

  it('deletes the dataset from its page, after asking; the model trained on it still predicts', async () => {
    const modelUrl = page.url();
    const { body: list } = await api.json<{ datasets: DatasetView[] }>('GET', '/v1/datasets');
    const id = list.datasets.find((d) => d.name === 'three digits')!.id;
    await page.goto(`${proxy.base}#/datasets/${id}`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();
    await page.locator('.dataset-upload').waitFor();
    expect(await page.locator('table.datasets tbody tr', { hasText: 'three digits' }).count()).toBe(0);
    expect((await api.json('GET', `/v1/datasets/${id}`)).status).toBe(404);

    await page.goto(modelUrl);
    const { train } = await digits(50);
    const two = [...train.labels].indexOf(2);
    await page.getByLabel('Image file', { exact: true }).setInputFiles({ name: 'two.png', mimeType: 'image/png', buffer: await pngOf(train.images.subarray(two * 784, (two + 1) * 784), 28, 28, 1) });
    await expect.poll(() => page.locator('#predicted-label').innerText()).toMatch(/^[012]$/);

    expect(proxy.outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

describe('the network drawn on the page', () => {
  const residual = JSON.parse(readFileSync(new URL('../../examples/residual-digits.json', import.meta.url), 'utf8')) as { layers: unknown[] };

  /** The graph on the page: a box per layer, an arrow per input of a layer, and the table of sizes beside it. */
  async function expectResidualDrawn(): Promise<void> {
    const graph = page.getByRole('img', { name: /^Layer graph: 14 layers, 14 connections/ });
    await graph.waitFor();
    const { body: analysis } = await api.json<{ layers: { name: string; inputs: string[]; outputSize: number[] }[] }>('POST', '/v1/networks/analyze', { network: residual });
    expect(await graph.locator('g.node').count()).toBe(residual.layers.length);
    expect(await graph.locator('g.node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-name')))).toEqual(analysis.layers.map((l) => l.name));
    const edges = await graph.locator('path.edge').evaluateAll((paths) => paths.map((p) => `${p.getAttribute('data-from')}→${p.getAttribute('data-to')}`));
    expect(edges).toHaveLength(analysis.layers.reduce((n, l) => n + l.inputs.length, 0));
    expect(edges).toContain('relu_1→add_1/in2');
    expect(edges).toContain('bn_3→add_1/in1');
    expect(await graph.locator('g.node[data-name="add_1"] .node-detail').textContent()).toBe('addition · 14×14×8');
    // The text alternative: the same layers with their output sizes.
    const sizes = await page.locator('.network-graph table.layers tbody td.size').allInnerTexts();
    expect(sizes).toEqual(analysis.layers.map((l) => l.outputSize.join('×')));
  }

  it('draws the residual network on its job page and its model page: a box per layer, an arrow per connection, a table of sizes', async () => {
    const { body: job } = await api.submit({ name: 'residual', network: residual, dataset: { id: 'digits', trainImages: 256 }, options: { maxEpochs: 1, miniBatchSize: 64 } });
    await page.goto(`${proxy.base}#/jobs/${job.id}`);
    await expectResidualDrawn();
    await page.locator('.ending-completed').waitFor({ timeout: 120_000 });
    await page.locator('section.network').screenshot({ path: `${screenshots}/network.png` });

    await page.getByRole('link', { name: 'Open the model and try it' }).click();
    await page.getByRole('heading', { name: 'Network' }).waitFor();
    await expectResidualDrawn();
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
