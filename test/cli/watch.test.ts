import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedNetwork } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';
import { watchCli } from '../helpers/watch-cli.js';

/** `npm run watch` against the real service: the API, a worker process and Redis, with API keys on. */
const key = 'alice-key-0123456789abcdef';
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start('watch', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { API_KEYS: `alice:${key}` });
});
afterAll(() => stack.stop());

describe('npm run watch', () => {
  it('follows a job live: the verbose table as it trains, then the model and metrics; exit 0', async () => {
    const submitted = await stack.api.submit(
      { network: seedNetwork, dataset: { id: 'digits', trainImages: 640 }, options: { maxEpochs: 2, miniBatchSize: 64, verboseFrequency: 5, seed: 1 } },
      { authorization: `Bearer ${key}` },
    );
    expect(submitted.status).toBe(202);
    const { code, stdout, stderr } = await watchCli(submitted.body.id, { TRAINYARD_URL: stack.api.base, TRAINYARD_API_KEY: key });
    expect(code, stderr).toBe(0);
    const lines = stdout.split('\n');
    expect(lines).toContain(`job ${submitted.body.id}: queued`);
    expect(lines.some((l) => /^\|\s+Epoch\s+\|\s+Iteration\s+\|/.test(l))).toBe(true);
    // 640 images in batches of 64: 10 iterations an epoch, 20 in all; rows at 1, every 5 and the last.
    const rows = lines.filter((l) => /^\|\s+\d+ \|/.test(l)).map((l) => Number(l.split('|')[2]));
    expect(rows).toEqual([1, 5, 10, 15, 20]);
    const job = await stack.api.json<{ modelId: string }>('GET', `/v1/jobs/${submitted.body.id}`, undefined, { authorization: `Bearer ${key}` });
    expect(job.body.modelId).toBeTruthy();
    expect(stdout).toContain(`completed: model ${job.body.modelId}`);
    expect(stdout).toMatch(/testAccuracy: 0\.\d{4}/);
  });

  it('reports a cancelled job and exits 3', async () => {
    const auth = { authorization: `Bearer ${key}` };
    const submitted = await stack.api.submit({ network: seedNetwork, dataset: 'digits', options: { maxEpochs: 30 } }, auth);
    expect([200, 202]).toContain((await stack.api.json('DELETE', `/v1/jobs/${submitted.body.id}`, undefined, auth)).status);
    const { code, stdout } = await watchCli(submitted.body.id, { TRAINYARD_URL: stack.api.base, TRAINYARD_API_KEY: key });
    expect(stdout.trim().split('\n').at(-1)).toBe('cancelled');
    expect(code).toBe(3);
  });

  it('says why it cannot follow a job, and exits 2: an unknown job, a missing key', async () => {
    const unknown = await watchCli('01JAAAAAAAAAAAAAAAAAAAAAAA', { TRAINYARD_URL: stack.api.base, TRAINYARD_API_KEY: key });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no such job');
    const noKey = await watchCli('01JAAAAAAAAAAAAAAAAAAAAAAA', { TRAINYARD_URL: stack.api.base, TRAINYARD_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('the API key was refused');
  });
});
