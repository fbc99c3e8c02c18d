import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, seedNetwork, serviceEnv, type ServiceEnv } from '../helpers/service.js';
import { chromiumPath, launchChromium, type Browser } from './browser.js';

/** The page against a server with API keys: it asks for a key, sends it, and follows events with it. */
const key = 'alice-key-0123456789abcdef';
let env: ServiceEnv;
let api: Api;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  env = await serviceEnv('ui-key', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { API_KEYS: `alice:${key}` });
  [api, browser] = await Promise.all([Api.start(env.config), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await env?.cleanup();
});

describe('the web page with API keys', () => {
  it('asks for the key, retries with it, and follows a job over the socket with the key as a subprotocol', async () => {
    const auth = { authorization: `Bearer ${key}` };
    const submitted = await api.submit({ name: 'keyed', network: seedNetwork, dataset: 'digits' }, auth);
    const page = await browser.context.newPage();
    await page.goto(api.base);

    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('This server needs an API key.');
    await page.getByLabel('Key', { exact: true }).fill('not-the-key-0123456789');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await expect.poll(() => dialog.innerText()).toContain('That key was not accepted');
    await page.getByLabel('Key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('link', { name: 'keyed' }).waitFor();

    await page.goto(`${api.base}/#/jobs/${submitted.body.id}`);
    await page.locator('.job-status').filter({ hasText: /queued/i }).waitFor();
    expect((await api.json('DELETE', `/v1/jobs/${submitted.body.id}`, undefined, auth)).status).toBe(200);
    await page.locator('.ending').filter({ hasText: /cancelled/i }).waitFor();
    await page.close();
  });
});
