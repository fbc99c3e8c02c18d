import type { StoredEvent } from '../queue/jobs.js';
import type { ProgressRecord } from '../nn/train.js';
import { verboseFooter, verboseHeader, verboseRow } from '../nn/verbose.js';
import { fail } from './args.js';
import { FollowError, followJob } from './follow-job.js';
import { resumeSentence } from '../queue/resume-sentence.js';

const usage = `Usage: npm run watch -- <job id>

Follows a job's events as they happen: MATLAB's verbose table, then how the job ended (the model
id and metrics, the error, or cancelled). Exits 0 when the job completed, 1 when it failed,
3 when it was cancelled, 2 when it could not be followed.
  TRAINYARD_URL      the API (default http://127.0.0.1:3000)
  TRAINYARD_API_KEY  an API key, sent as a bearer token (when the server has keys)`;

const exitCodes = { completed: 0, failed: 1, couldNotFollow: 2, cancelled: 3 } as const;

/** Where the API is and how to authenticate: the client's settings, from its environment. */
export function clientSettings(env: NodeJS.ProcessEnv): { base: string; key: string | undefined } {
  return { base: env['TRAINYARD_URL'] || 'http://127.0.0.1:3000', key: env['TRAINYARD_API_KEY'] || undefined };
}

/** Prints the verbose table as rows arrive; a new header when the job starts again from iteration 1 (its worker died). */
class TableWriter {
  private withValidation: boolean | null = null;
  private lastIteration = 0;

  row(r: ProgressRecord): void {
    if (!r.verbose) return;
    if (this.withValidation !== null && r.iteration <= this.lastIteration) {
      this.end();
      console.log('(the job started again)');
    }
    // Validation, when on, runs at iteration 1, which is always a verbose row: its first row says.
    if (this.withValidation === null) {
      this.withValidation = r.validationLoss !== undefined;
      console.log(verboseHeader(this.withValidation));
    }
    this.lastIteration = r.iteration;
    console.log(verboseRow(r, this.withValidation));
  }

  end(): void {
    if (this.withValidation !== null) console.log(verboseFooter(this.withValidation));
    this.withValidation = null;
  }
}

function outcome(event: StoredEvent): number {
  switch (event.type) {
    case 'completed': {
      const metrics = Object.entries(event.metrics).filter(([, v]) => typeof v === 'number');
      console.log(`completed: model ${event.modelId}`);
      for (const [name, value] of metrics) console.log(`  ${name}: ${(value as number).toFixed(4)}`);
      return exitCodes.completed;
    }
    case 'failed':
      console.log(`failed: ${event.error.title}: ${event.error.detail}`);
      return exitCodes.failed;
    default:
      console.log('cancelled');
      return exitCodes.cancelled;
  }
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(usage);
  process.exit(0);
}
if (args.length !== 1) fail(`expected one job id, got ${args.length}\n\n${usage}`);
const jobId = args[0]!;
const { base, key } = clientSettings(process.env);
const table = new TableWriter();
try {
  const terminal = await followJob({ base, jobId, key }, (event) => {
    if (event.type === 'status' && (event.status === 'resumed' || event.status === 'restarted')) console.log(`job ${jobId}: ${resumeSentence(event)}`);
    else if (event.type === 'status') console.log(`job ${jobId}: ${event.status}`);
    else if (event.type === 'progress') table.row(event);
  });
  table.end();
  process.exitCode = outcome(terminal);
} catch (err) {
  if (!(err instanceof FollowError)) throw err;
  table.end();
  console.error(`could not follow job ${jobId} at ${base}: ${err.message}`);
  process.exitCode = exitCodes.couldNotFollow;
}
