import { describe, expect, it } from 'vitest';
import { LatestOnly } from '../../src/ui/page/latest-only.js';

describe('LatestOnly', () => {
  it('runs one task at a time, and then only the newest input that arrived meanwhile', async () => {
    const ran: number[] = [];
    let release: () => void = () => {};
    const runner = new LatestOnly(async (n: number) => {
      ran.push(n);
      if (n === 1) await new Promise<void>((r) => (release = r));
    });
    runner.push(1);
    runner.push(2);
    runner.push(3);
    expect(ran).toEqual([1]);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual([1, 3]);
  });

  it('goes on after a task fails', async () => {
    const ran: number[] = [];
    const runner = new LatestOnly(async (n: number) => {
      ran.push(n);
      throw new Error('no');
    });
    runner.push(1);
    await new Promise((r) => setTimeout(r, 0));
    runner.push(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual([1, 2]);
  });
});
