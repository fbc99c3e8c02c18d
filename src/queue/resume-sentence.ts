/**
 * @module How a job's `resumed` and `restarted` events read to a person: the page's job view and the
 * command-line watcher say the same. No imports: the page's bundle carries it.
 */

interface Skipped {
  iteration: number;
  reason: string;
}

type ResumeEvent = { status: 'resumed'; iteration: number; skippedCheckpoints?: Skipped[] } | { status: 'restarted'; skippedCheckpoints: Skipped[] };

/**
 * "Resumed from the checkpoint after iteration 5; the newer one after iteration 10 could not be read
 * (its tensors do not match their checksum)." or "Started again from iteration 1: no checkpoint could be read (...)."
 */
export function resumeSentence(event: ResumeEvent): string {
  const skipped = event.skippedCheckpoints ?? [];
  const which = skipped.map((s) => `after iteration ${s.iteration}: ${s.reason}`).join('; ');
  if (event.status === 'restarted') return `Started again from iteration 1: no checkpoint could be read (${which}).`;
  const from = `Resumed from the checkpoint after iteration ${event.iteration}`;
  if (skipped.length === 0) return `${from}.`;
  return `${from}; the newer ${skipped.length === 1 ? 'one' : 'ones'} could not be read (${which}).`;
}
