import { UserProblem } from '../problems.js';
import type { CheckReport } from './check.js';

/**
 * A network's custom layer failed its check before training. It carries the reports, so the
 * worker can store them as the job's error (a failed job with the report in it).
 */
export class CustomLayerCheckError extends UserProblem {
  readonly reports: CheckReport[];

  constructor(reports: CheckReport[]) {
    const failures = reports.map((r) => {
      const failed = r.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.message}`);
      return `custom layer ${r.layer} failed its check (${failed.join('; ')})`;
    });
    super({ title: 'Custom layer check failed', detail: failures.join('; '), report: reports });
    this.name = 'CustomLayerCheckError';
    this.reports = reports;
  }

  toJSON(): { name: string; message: string; reports: CheckReport[] } {
    return { name: this.name, message: this.message, reports: this.reports };
  }
}
