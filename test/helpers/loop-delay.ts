import { monitorEventLoopDelay } from 'node:perf_hooks';
import { expect } from 'vitest';
import type { Api } from './service.js';

/** The event loop's delay over a stretch of time, and how often /healthz answered meanwhile. */
export interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  health: number;
  seconds: number;
}

/** The loop delay of this process (the API runs in it) while `until` settles, with /healthz asked every 250 ms meanwhile. */
export async function loopDelayWhile(api: Api, until: Promise<unknown>): Promise<LoopDelay> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const start = performance.now();
  delay.enable();
  let health = 0;
  let settled = false;
  void until.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    const res = await fetch(`${api.base}/healthz`);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    health++;
    await Promise.race([until.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 250))]);
  }
  delay.disable();
  return { maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6, health, seconds: (performance.now() - start) / 1000 };
}

/**
 * Runs `work` while measuring the loop delay, then measures the same stretch (at least `minIdleMs`)
 * with nothing running: the machine is a shared 2-core box, and what its other processes do to
 * this process's loop on their own is not the request's doing.
 */
export async function loopDelayAgainstIdle<T>(api: Api, work: () => Promise<T>, minIdleMs = 1000): Promise<{ result: T; busy: LoopDelay; idle: LoopDelay }> {
  const running = work();
  const busy = await loopDelayWhile(api, running);
  const result = await running;
  const idle = await loopDelayWhile(api, new Promise((resolve) => setTimeout(resolve, Math.max(minIdleMs, busy.seconds * 1000))));
  return { result, busy, idle };
}

/** The API's bound: no more than 200 ms of delay beyond what the idle stretch had, and a p99 under 200 ms. */
export function expectLoopFree(what: string, { busy, idle }: { busy: LoopDelay; idle: LoopDelay }): void {
  expect(busy.maxMs, `${what}: max delay ${busy.maxMs.toFixed(1)} ms (idle ${idle.maxMs.toFixed(1)} ms)`).toBeLessThan(200 + idle.maxMs);
  expect(busy.p99Ms, `${what}: p99 delay ${busy.p99Ms.toFixed(1)} ms`).toBeLessThan(200);
}

/** One line for a test's output (and the README): the delay under the request and without it. */
export function describeLoopDelay(what: string, { busy, idle }: { busy: LoopDelay; idle: LoopDelay }): string {
  return (
    `${what}: event-loop delay max ${busy.maxMs.toFixed(1)} ms, p99 ${busy.p99Ms.toFixed(1)} ms over ${busy.seconds.toFixed(1)} s ` +
    `(the same stretch without it: max ${idle.maxMs.toFixed(1)} ms, p99 ${idle.p99Ms.toFixed(1)} ms); /healthz answered ${busy.health} times meanwhile`
  );
}
