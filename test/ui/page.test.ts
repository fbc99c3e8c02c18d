import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    await page.locator('.ending-completed').waitFor({ timeout: 60_000 });
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
  });

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
});
