import { describe, expect, it } from 'vitest';
import * as format from '../../src/ui/page/format.js';

describe('page formats', () => {
  it('writes durations as m:ss or h:mm:ss', () => {
    expect(format.duration(0)).toBe('0:00');
    expect(format.duration(75.4)).toBe('1:15');
    expect(format.duration(3725)).toBe('1:02:05');
  });

  it("writes accuracy and loss as MATLAB's verbose table does, and nothing for a missing value", () => {
    expect(format.percent(0.8125)).toBe('81.25%');
    expect(format.percent(undefined)).toBe('');
    expect(format.loss(0.123456)).toBe('0.1235');
    expect(format.learnRate(0.01)).toBe('0.01000');
  });

  it('measures from a start to an end, or to now while running', () => {
    expect(format.secondsBetween('2026-01-01T00:00:00Z', '2026-01-01T00:01:30Z')).toBe(90);
    expect(format.secondsBetween('2026-01-01T00:00:00Z', null, Date.parse('2026-01-01T00:00:10Z'))).toBe(10);
  });

  it('writes byte counts in decimal units, one decimal below ten', () => {
    expect(format.bytes(999)).toBe('999 B');
    expect(format.bytes(1536)).toBe('1.5 kB');
    expect(format.bytes(14_200)).toBe('14 kB');
    expect(format.bytes(2_500_000_000)).toBe('2.5 GB');
  });
});
