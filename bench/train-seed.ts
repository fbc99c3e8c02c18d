/**
 * The seed run on trainyard and on the PyTorch reference, back to back on the same machine and the
 * same 5000/5000 digits split, and the ratio of their training times.
 *
 *   npm run bench:train-seed -- [--epochs 30] [--threads 2] [--reference ../shared/reference/torch_seed.py] [--skip-reference] [--concurrent]
 *
 * trainyard runs in a child process (as a worker would), on the backend TRAINYARD_BACKEND picks.
 * The reference needs Debian's python3-torch, run with /usr/bin/python3. With --concurrent the
 * trainyard run is then repeated as two children at once (two workers on one machine, WORKERS=2),
 * and their times are printed against the single run's.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { exportDigits } from './raw-data.js';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '30' },
    threads: { type: 'string', default: '2' },
    reference: { type: 'string', default: path.resolve(root, '../shared/reference/torch_seed.py') },
    'skip-reference': { type: 'boolean', default: false },
    concurrent: { type: 'boolean', default: false },
  },
});

interface RunResult {
  impl: string;
  iterations: number;
  seconds: number;
  ms_per_iteration: number;
  test_accuracy: number;
  final_minibatch_loss: number;
  peak_rss_mb?: number;
  finalize_seconds?: number;
}

async function runOurs(): Promise<RunResult> {
  const { stdout } = await exec(path.join(root, 'node_modules/.bin/tsx'), ['bench/seed-run.ts', '--epochs', values.epochs!], {
    cwd: root,
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
}

/** Two trainyard runs started together, as two workers on one machine train two jobs. */
async function runTwoAtOnce(): Promise<{ runs: RunResult[]; wallSeconds: number }> {
  const start = performance.now();
  const runs = await Promise.all([runOurs(), runOurs()]);
  return { runs, wallSeconds: (performance.now() - start) / 1000 };
}

async function runReference(files: Record<string, string>): Promise<RunResult | null> {
  if (values['skip-reference']) return null;
  if (!existsSync(values.reference!)) {
    console.error(`reference script not found at ${values.reference}; pass --reference PATH or --skip-reference`);
    process.exit(2);
  }
  const args = [values.reference!, ...Object.entries(files).flat(), '--epochs', values.epochs!, '--threads', values.threads!];
  try {
    const { stdout } = await exec('/usr/bin/python3', args, { maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
  } catch (err) {
    console.error(`the PyTorch reference failed (install it with: apt-get install -y python3-torch): ${(err as Error).message.split('\n')[0]}`);
    process.exit(2);
  }
}

const files = await exportDigits(path.join(root, '.bench', 'digits'));
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
console.log(`seed run: ${values.epochs} epochs, batch 128, 5000 training and 5000 test digits\n`);
const ours = await runOurs();
const reference = await runReference(files);
const rows = [ours, ...(reference ? [reference] : [])];
console.log('impl                      iterations  seconds   ms/iter  test acc  final loss  peak RSS');
for (const r of rows) {
  console.log(
    `${r.impl.padEnd(25)} ${String(r.iterations).padStart(10)} ${r.seconds.toFixed(2).padStart(8)} ${r.ms_per_iteration.toFixed(1).padStart(9)} ${r.test_accuracy.toFixed(4).padStart(9)} ${r.final_minibatch_loss.toFixed(4).padStart(11)} ${r.peak_rss_mb ? `${r.peak_rss_mb} MB`.padStart(9) : ''}`,
  );
}
if (ours.finalize_seconds) console.log(`(trainyard also spent ${ours.finalize_seconds.toFixed(2)} s on population batch-norm statistics after training)`);
const concurrent = values.concurrent ? await runTwoAtOnce() : null;
if (concurrent) {
  console.log(`\ntwo trainyard seed runs at once (two workers):`);
  for (const r of concurrent.runs) {
    console.log(`  ${r.seconds.toFixed(2)} s training, ${r.ms_per_iteration.toFixed(1)} ms/iter, test acc ${r.test_accuracy.toFixed(4)}, peak RSS ${r.peak_rss_mb} MB`);
  }
  const slowest = Math.max(...concurrent.runs.map((r) => r.seconds));
  console.log(`  both done in ${concurrent.wallSeconds.toFixed(2)} s wall; the slower trained in ${slowest.toFixed(2)} s = ${(slowest / ours.seconds).toFixed(2)} x one run alone (${ours.seconds.toFixed(2)} s)`);
}
if (reference) {
  console.log(`\nratio ours/pytorch: ${(ours.seconds / reference.seconds).toFixed(2)} (training time), test accuracy difference ${(ours.test_accuracy - reference.test_accuracy).toFixed(4)}`);
}
console.log(JSON.stringify({ ours, reference, concurrent }));
