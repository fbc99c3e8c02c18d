import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../helpers/redis.js';
import { Stack } from '../helpers/stack.js';

/**
 * A job whose custom layer takes longer to check than the job's BullMQ lock lasts: the worker
 * checks it in a thread, so its event loop keeps renewing the lock (one attempt, no stall), and
 * the check cut at its time limit fails the job before training with a sentence.
 */
const lockMs = 1000;
// Full-size learnables make the numerical gradients sample many values, each a forward of 2 x 28x28x16 values through
// 251 nodes (the most an expression may have): on a quiet 2-core build machine the check needs about 3.5 s uncut
// (`npm run check-layer`), so a 1.5 s limit (longer than the 1 s lock) cuts it there with room to spare. (With 8 filters
// and a 2.5 s limit it needed 2.4 s on a quiet machine and passed its check in CI.) 16 filters keep the job inside the
// memory estimate (about 1.5 GiB), so the API admits it.
const checkMs = 1500;
const heavyLayer = {
  type: 'custom',
  name: 'heavy',
  learnables: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`a${i}`, { shape: [28, 28, 16] }])),
  forward: Array.from({ length: 63 }, (_, i) => `a${i % 16}*x`).join('+'),
};
const network = {
  layers: [
    { type: 'imageInput', inputSize: [28, 28, 1] },
    { type: 'convolution2d', filterSize: 3, numFilters: 16, padding: 'same' },
    heavyLayer,
    { type: 'fullyConnected', outputSize: 10 },
    { type: 'softmax' },
    { type: 'classification' },
  ],
};

let redis: PrivateRedis;
let stack: Stack;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  stack = await Stack.start('custom-check-worker', redis.url, {
    JOB_LOCK_MS: String(lockMs),
    JOB_STALLED_INTERVAL_MS: '1000',
    LAYER_CHECK_MAX_OPERATIONS: '1000000000000000',
    LAYER_CHECK_TIMEOUT_MS: String(checkMs),
  });
});
afterAll(async () => {
  await stack.stop();
  await redis.destroy();
});

describe('a job whose custom layer is slow to check', () => {
  it('keeps its lock while the check runs in a thread, then fails before training with the time-limit sentence', async () => {
    const { status, body } = await stack.api.submit({ network, dataset: { id: 'digits', trainImages: 640 }, options: { maxEpochs: 1, miniBatchSize: 8 } });
    expect(status, JSON.stringify(body)).toBe(202);
    const done = await stack.api.waitFor(body.id, (j) => j.status === 'failed' || j.status === 'completed', 60_000);
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.progress).toBeNull();
    expect(done.error?.title).toBe('Custom layer check failed');
    expect(done.error?.detail).toContain(`too expensive to check fully: it ran past its time limit of ${checkMs / 1000} s (LAYER_CHECK_TIMEOUT_MS)`);
  });
});
