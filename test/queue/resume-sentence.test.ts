import { describe, expect, it } from 'vitest';
import { resumeSentence } from '../../src/queue/resume-sentence.js';

describe('resumeSentence', () => {
  it('says where a job resumed, which newer checkpoints it skipped and why, or that it started again', () => {
    const truncated = { iteration: 10, reason: 'its tensors are truncated: 4 of their 8 bytes' };
    const altered = { iteration: 5, reason: 'its tensors do not match their checksum' };
    expect(resumeSentence({ status: 'resumed', iteration: 10 })).toBe('Resumed from the checkpoint after iteration 10.');
    expect(resumeSentence({ status: 'resumed', iteration: 5, skippedCheckpoints: [truncated] })).toBe(
      'Resumed from the checkpoint after iteration 5; the newer one could not be read (after iteration 10: its tensors are truncated: 4 of their 8 bytes).',
    );
    expect(resumeSentence({ status: 'resumed', iteration: 1, skippedCheckpoints: [truncated, altered] })).toMatch(/; the newer ones could not be read \(after iteration 10: .*; after iteration 5: its tensors do not match their checksum\)\.$/);
    expect(resumeSentence({ status: 'restarted', skippedCheckpoints: [truncated, altered] })).toBe(
      'Started again from iteration 1: no checkpoint could be read (after iteration 10: its tensors are truncated: 4 of their 8 bytes; after iteration 5: its tensors do not match their checksum).',
    );
  });
});
