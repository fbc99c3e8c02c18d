import { describe, expect, it } from 'vitest';
import { isAfter } from '../../src/ui/page/event-ids.js';

describe('isAfter: stream ids in order', () => {
  it('compares the time, then the sequence, as numbers', () => {
    expect(isAfter('10-0', '9-0')).toBe(true);
    expect(isAfter('1732700000000-10', '1732700000000-9')).toBe(true);
    expect(isAfter('1732700000000-0', '1732700000000-0')).toBe(false);
    expect(isAfter('1732700000000-1', '1732700000001-0')).toBe(false);
  });

  it('takes anything when nothing has been seen yet', () => {
    expect(isAfter('0-1', undefined)).toBe(true);
  });
});
