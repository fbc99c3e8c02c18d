/**
 * What ingestion left out and why, with the first few names per reason: what the dataset's page
 * shows so a user can fix the archive. Counting goes on past the examples.
 */
export interface SkippedReason {
  reason: string;
  count: number;
  examples: string[];
}

const examplesPerReason = 5;

export class SkipLog {
  private readonly byReason = new Map<string, SkippedReason>();

  add(reason: string, name: string): void {
    let entry = this.byReason.get(reason);
    if (!entry) {
      entry = { reason, count: 0, examples: [] };
      this.byReason.set(reason, entry);
    }
    entry.count += 1;
    if (entry.examples.length < examplesPerReason) entry.examples.push(name);
  }

  total(): number {
    let n = 0;
    for (const r of this.byReason.values()) n += r.count;
    return n;
  }

  list(): SkippedReason[] {
    return [...this.byReason.values()].map((r) => ({ ...r, examples: [...r.examples] }));
  }
}

/**
 * Ingestion refused the whole archive; `message` is a sentence the user can act on (the dataset
 * becomes `failed` with it, or the upload gets a 4xx problem with it).
 */
export class IngestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IngestError';
  }
}
