import { afterEach, describe, expect, it } from 'vitest';
import type { JobContext } from '../../src/lifecycle/job-lifecycle.js';
import type { ProgressRecord } from '../../src/nn/train.js';
import type { StoredEvent } from '../../src/queue/jobs.js';
import { connect } from '../../src/queue/redis.js';
import { StreamFollower } from '../../src/queue/stream-follower.js';
import { aborted, QueueHarness, stubMetrics, until } from '../helpers/queue.js';

let harness: QueueHarness;
let reader: StreamFollower;
afterEach(async () => {
  reader.close();
  await harness.close();
});

async function start(name: string): Promise<void> {
  harness = await QueueHarness.start(name);
  const blocking = connect(harness.url);
  blocking.on('error', () => {});
  reader = new StreamFollower({ blocking, commands: harness.connection });
}

const progress: ProgressRecord = { epoch: 1, iteration: 1, totalIterations: 1, timeElapsed: 0.1, miniBatchLoss: 1, miniBatchAccuracy: 0.5, baseLearnRate: 0.01, verbose: true };

async function collect(events: AsyncGenerator<StoredEvent>, into: StoredEvent[]): Promise<void> {
  for await (const event of events) into.push(event);
}

describe('JobEvents.follow', () => {
  it('replays the history, follows live events as they are written, and ends at the terminal one', async () => {
    await start('events-follow');
    let release = () => {};
    await harness.worker('worker', async (ctx: JobContext) => {
      await ctx.publishProgress(progress);
      await new Promise<void>((resolve) => (release = resolve));
      return { modelId: ctx.id, metrics: stubMetrics };
    });
    const id = await harness.submitted();
    const seen: StoredEvent[] = [];
    const following = collect(harness.events.follow(reader, id, undefined, new AbortController().signal), seen);
    await until(() => seen.some((e) => e.type === 'progress'), 10_000, 'the progress event followed');
    release();
    await following;
    expect(seen.map((e) => e.type)).toEqual(['status', 'status', 'progress', 'completed']);
    // Ids are the stream's, in order: a reader resumes after any of them.
    expect(seen.map((e) => e.id)).toEqual((await harness.events.range(id)).map((e) => e.id));
    const resumed: StoredEvent[] = [];
    await collect(harness.events.follow(reader, id, seen[1]!.id, new AbortController().signal), resumed);
    expect(resumed.map((e) => e.type)).toEqual(['progress', 'completed']);
  });

  it('sends nothing and ends at once when `since` is the terminal event', async () => {
    await start('events-since-terminal');
    await harness.worker('worker', async (ctx) => ({ modelId: ctx.id, metrics: stubMetrics }));
    const id = await harness.submitted();
    await until(async () => (await harness.catalogue.get(id))?.status === 'completed');
    const last = (await harness.events.range(id)).at(-1)!;
    const seen: StoredEvent[] = [];
    await collect(harness.events.follow(reader, id, last.id, new AbortController().signal), seen);
    expect(seen).toEqual([]);
  });

  it('stops following a running job when its signal aborts', async () => {
    await start('events-abort');
    await harness.worker('worker', async (ctx) => {
      await aborted(ctx.signal);
      return { modelId: ctx.id, metrics: stubMetrics };
    });
    const id = await harness.submitted();
    await until(async () => (await harness.catalogue.get(id))?.status === 'running');
    const controller = new AbortController();
    const seen: StoredEvent[] = [];
    const following = collect(harness.events.follow(reader, id, undefined, controller.signal), seen);
    await until(() => seen.length === 2, 10_000, 'the history replayed');
    controller.abort();
    await following;
    expect(reader.readers).toBe(0);
    expect(seen.map((e) => (e.type === 'status' ? e.status : e.type))).toEqual(['queued', 'running']);
  });
});
