import { afterEach, describe, expect, it } from 'vitest';
import type { JobContext, JobOutcome } from '../../src/lifecycle/job-lifecycle.js';
import { checkpointAt } from '../helpers/checkpoints.js';
import { aborted, blockFor, QueueHarness, stubMetrics, until } from '../helpers/queue.js';

let harness: QueueHarness;
afterEach(() => harness.close());

const statusOf = async (id: string) => (await harness.catalogue.get(id))?.status;

/** A resolvable promise: a stub handler waits on it where the test wants to hold it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

type Run = { id: string; attempt: number; reason?: unknown };

/**
 * A handler that runs the first job it is given until the signal stops it, saving a checkpoint at
 * iteration 7 on a pause (as the trainer does at the iteration boundary), then waits for `leave`
 * before it returns unsaved; every other run completes at once. `seen` lists the runs.
 */
function pausableHandler(leave: Promise<void>, seen: Run[], holdFirst = true) {
  return async (ctx: JobContext): Promise<JobOutcome> => {
    const run: Run = { id: ctx.id, attempt: ctx.attempt };
    seen.push(run);
    if (!holdFirst || seen.length > 1) return { modelId: ctx.id, metrics: stubMetrics };
    await aborted(ctx.signal);
    run.reason = ctx.signal.reason;
    if (ctx.signal.reason === 'pause') await harness.checkpoints.save(ctx.id, { checkpoint: checkpointAt(7), lastEventId: null }, { attempt: ctx.attempt, holds: ctx.holds });
    await leave;
    return { modelId: ctx.id, metrics: { miniBatchLoss: null, miniBatchAccuracy: null }, unsaved: true };
  };
}

/** A harness whose one worker runs pausableHandler, and the job it holds running until the test opens `leave`. */
async function runningHeldJob(name: string): Promise<{ id: string; seen: Run[]; leave: { open: () => void } }> {
  harness = await QueueHarness.start(name);
  const seen: Run[] = [];
  const leave = gate();
  await harness.worker('worker', pausableHandler(leave.opened, seen));
  const id = await harness.submitted();
  await until(() => seen.length === 1);
  return { id, seen, leave };
}

describe('pausing and resuming jobs', () => {
  it('a running job checkpoints and leaves its worker, which takes the next job; resumed, it is queued again and finishes as attempt 2', async () => {
    const { id, seen, leave } = await runningHeldJob('pause-running');
    const next = await harness.submitted();

    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'requested', record: { status: 'running', pauseRequested: true } });
    // Still pausing: a resume must wait for the pause to land.
    expect(await harness.queue.resume(id)).toMatchObject({ outcome: 'pausing' });
    await until(() => seen[0]!.reason !== undefined);
    leave.open();
    await until(async () => (await statusOf(id)) === 'paused');
    expect(seen[0]!.reason).toBe('pause');
    expect(await harness.catalogue.get(id)).toMatchObject({ status: 'paused', workerId: null, pauseRequested: false, attempts: 1 });
    expect((await harness.events.range(id)).at(-1)).toMatchObject({ type: 'status', status: 'paused', iteration: 7 });
    // The worker is free: it runs the job that waited behind the paused one.
    await until(async () => (await statusOf(next)) === 'completed');
    expect(await harness.checkpoints.newestIteration(id)).toBe(7);
    expect(await harness.catalogue.counts('alice')).toMatchObject({ paused: 1, running: 0, queued: 0 });

    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'paused', record: { status: 'paused' } });
    expect(await harness.queue.resume(id)).toMatchObject({ outcome: 'resumed', record: { status: 'queued' } });
    await until(async () => (await statusOf(id)) === 'completed');
    expect(seen.map((s) => [s.id, s.attempt])).toEqual([
      [id, 1],
      [next, 1],
      [id, 2],
    ]);
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:running', 'status:paused', 'status:queued', 'status:running', 'completed']);
    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'finished', record: { status: 'completed' } });
    expect(await harness.queue.resume(id)).toMatchObject({ outcome: 'finished' });
  });

  it('a queued job pauses at once, out of BullMQ; resumed it is queued once however often resume is asked; cancelled while paused it loses its checkpoints', async () => {
    harness = await QueueHarness.start('pause-queued');
    const id = await harness.submitted();
    await harness.checkpoints.save(id, { checkpoint: checkpointAt(3), lastEventId: null });
    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'paused', record: { status: 'paused', pauseRequested: false } });
    expect((await harness.queue.depth()).waiting).toBe(0);
    expect((await harness.events.range(id)).at(-1)).toMatchObject({ type: 'status', status: 'paused', iteration: 3 });

    const resumes = await Promise.all([harness.queue.resume(id), harness.queue.resume(id)]);
    expect(resumes.map((r) => r.outcome).sort()).toEqual(['not-paused', 'resumed']);
    expect((await harness.queue.depth()).waiting).toBe(1);
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:paused', 'status:queued']);

    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'paused' });
    expect(await harness.queue.cancel(id)).toMatchObject({ outcome: 'cancelled', record: { status: 'cancelled' } });
    expect(await harness.checkpoints.newestIteration(id)).toBe(0);
    expect(await harness.queue.resume(id)).toMatchObject({ outcome: 'finished' });
    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'finished' });
  });

  it('a paused job counts towards the queued-jobs quota, and a worker never takes it', async () => {
    harness = await QueueHarness.start('pause-quota');
    const seen: Run[] = [];
    const id = await harness.submitted();
    await harness.queue.pause(id);
    expect(await harness.submit('alice', 1)).toMatchObject({ limited: 'queued-jobs', queued: 1 });
    await harness.worker('worker', pausableHandler(Promise.resolve(), seen, false));
    const other = await harness.submitted('bob');
    await until(async () => (await statusOf(other)) === 'completed');
    expect(seen.map((s) => s.id)).toEqual([other]);
    expect(await statusOf(id)).toBe('paused');
  });

  it('a cancel asked while a job pauses wins: it ends cancelled, without its checkpoints', async () => {
    const { id, seen, leave } = await runningHeldJob('pause-cancel');
    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'requested' });
    await until(() => seen[0]!.reason !== undefined);
    expect(await harness.queue.cancel(id)).toMatchObject({ outcome: 'requested', record: { cancelRequested: true } });
    leave.open();
    await until(async () => (await statusOf(id)) === 'cancelled');
    expect(seen[0]!.reason).toBe('pause');
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:running', 'status:paused', 'cancelled']);
    // The worker deletes them once the job reads cancelled (a delete that failed would leave only garbage, never a live job without them).
    await until(async () => (await harness.checkpoints.newestIteration(id)) === 0, 10_000, 'the checkpoints deleted');
  });

  it('a worker that stops answering mid-pause: its lock lapses, the next attempt finds the pause and lands it; the stale attempt writes nothing', async () => {
    harness = await QueueHarness.start('pause-stalled');
    const seen: Run[] = [];
    const train = async (ctx: JobContext): Promise<JobOutcome> => {
      seen.push({ id: ctx.id, attempt: ctx.attempt });
      if (ctx.attempt > 1) return { modelId: ctx.id, metrics: stubMetrics };
      await aborted(ctx.signal);
      await harness.checkpoints.save(ctx.id, { checkpoint: checkpointAt(5), lastEventId: null }, { attempt: ctx.attempt, holds: ctx.holds });
      // Past the 1000 ms lock: the other worker's stalled check puts the job back and takes it.
      blockFor(2500);
      await until(async () => (await statusOf(ctx.id)) === 'paused', 20_000, 'the next attempt pausing the job');
      return { modelId: ctx.id, metrics: stubMetrics, unsaved: true };
    };
    await harness.worker('worker-a', train);
    const id = await harness.submitted();
    await until(() => seen.length === 1);
    await harness.worker('worker-b', train);
    expect(await harness.queue.pause(id)).toMatchObject({ outcome: 'requested' });
    await until(async () => (await statusOf(id)) === 'paused', 20_000);
    // Attempt 2 paused it at its start, without running the handler; attempt 1's late pause was refused.
    await until(() => harness.logs.some((l) => l.msg === 'job paused' && l.obj['workerId'] === 'worker-b'));
    expect(seen).toEqual([{ id, attempt: 1 }]);
    expect(await harness.catalogue.get(id)).toMatchObject({ status: 'paused', attempts: 2 });
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:running', 'status:paused']);
    expect((await harness.events.range(id)).at(-1)).toMatchObject({ iteration: 5 });
    // Resumed, it runs again (attempt 3) on whichever worker is free.
    await harness.queue.resume(id);
    await until(async () => (await statusOf(id)) === 'completed', 20_000);
    expect(seen[1]).toEqual({ id, attempt: 3 });
  });
});
