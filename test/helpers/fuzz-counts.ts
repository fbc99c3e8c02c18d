/**
 * What the fuzz suite sent and got back, printed at its end and quoted in the README: requests by
 * kind, answers by class (2xx, 4xx, 5xx), WebSocket sessions by close code, and the jobs accepted.
 * Every request of the suite is counted here, so a new kind of request adds up with the rest.
 * The archive fuzzing (test/data/ingest/archive-fuzz.test.ts) counts its archives by kind and outcome.
 */
export class FuzzCounts {
  private readonly requests = new Map<string, number>();
  private readonly answers = new Map<string, number>();
  private readonly sessions = new Map<string, number>();
  private readonly archiveKinds = new Map<string, number>();
  private readonly archiveOutcomes = new Map<string, number>();
  /** Ids of the jobs POST /v1/jobs accepted. */
  readonly acceptedJobs: string[] = [];
  /** How many of them the catalogue has (set by the suite's last check). */
  catalogued = 0;

  request(kind: string, status: number): void {
    add(this.requests, kind);
    add(this.answers, `${Math.floor(status / 100)}xx`);
  }

  session(closeCode: number): void {
    add(this.sessions, String(closeCode));
  }

  /** One generated archive fed to ingestion: its kind and whether it was 'ingested' or 'refused'. */
  archive(kind: string, outcome: 'ingested' | 'refused'): void {
    add(this.archiveKinds, kind);
    add(this.archiveOutcomes, outcome);
  }

  archiveSummary(): string {
    const list = (m: Map<string, number>) => [...m].map(([k, n]) => `${k} ${n.toLocaleString('en')}`).join(', ');
    const total = [...this.archiveKinds.values()].reduce((a, b) => a + b, 0);
    return `archive fuzz: ${total.toLocaleString('en')} generated archives (${list(this.archiveKinds)}); ${list(this.archiveOutcomes)}`;
  }

  summary(): string {
    const list = (m: Map<string, number>, sep: string) => [...m].map(([k, n]) => `${k}${sep}${n.toLocaleString('en')}`).join(', ');
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0).toLocaleString('en');
    for (const cls of ['2xx', '4xx', '5xx']) if (!this.answers.has(cls)) this.answers.set(cls, 0);
    const answers = [...this.answers].sort(([a], [b]) => a.localeCompare(b));
    return (
      `fuzz: ${total(this.requests)} HTTP requests (${list(this.requests, ' ')}); ` +
      `answers ${answers.map(([k, n]) => `${k} ${n.toLocaleString('en')}`).join(', ')}; ` +
      `${total(this.sessions)} WebSocket sessions (closed with ${list(this.sessions, ' x')}); ` +
      `${this.acceptedJobs.length} jobs accepted, ${this.catalogued} of them in the catalogue`
    );
  }
}

function add(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
