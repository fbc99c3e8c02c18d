/**
 * Training speed across a suite of networks (bench/zoo/*.json), each trained by trainyard and by
 * the same network in PyTorch (bench/torch_zoo.py: Debian's python3-torch, /usr/bin/python3, 2
 * threads) back to back in this invocation, on the same data: the digits (28x28x1), or for a
 * 32x32x3 input the digits made RGB (a 2-pixel border, the image, its negative and a shifted copy
 * as the three channels). Prints network, ms/iteration of both, their ratio and test accuracies.
 *
 *   npm run bench:train-zoo -- [--iterations 10] [--rounds 3] [--only seed,strided] [--threads 2] [--skip-reference]
 *
 * Each network's pair runs `--rounds` times, the two sides alternating, and the table gives each
 * side's median: single runs of a few iterations on a shared 2-core machine move by 20% and more.
 *
 * Beside them: each network's training GFLOP per iteration (bench/training-flops.ts, its
 * convolutions and fully connected layers), the rate each side reached, and the floor: the ratio
 * trainyard would have if every one of those FLOPs ran at wasm SIMD's peak on this machine
 * (bench/wasm-peak.ts, measured first), on trainyard's threads and on as many as PyTorch's. A floor
 * above 1 is a network that no wasm kernel can train as fast as PyTorch does here.
 *
 * Both sides get the network trainyard validated (padding resolved, sizes inferred, a custom
 * layer's expressions parsed and checked), so they cannot drift apart. trainyard runs in a child
 * process per network (as a worker would) on the backend TRAINYARD_BACKEND picks.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { loadConfig } from '../src/config.js';
import { loadDigits } from '../src/data/digits.js';
import { programFor } from '../src/nn/custom/program.js';
import { validateNetwork, type Layer, type Network, type Size3 } from '../src/nn/spec.js';
import { benchData } from './bench-data.js';
import { writeRawSplits } from './raw-data.js';
import { trainingFlops } from './training-flops.js';
import { wasmPeakGflops } from './wasm-peak.js';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    threads: { type: 'string', default: '2' },
    'skip-reference': { type: 'boolean', default: false },
  },
});

interface RunResult {
  impl: string;
  ms_per_iteration: number;
  test_accuracy: number;
}

/** What torch_zoo.py reads: the validated network, a custom layer as its checked forward expression. */
function referenceNetwork(network: Network): unknown {
  const layer = (spec: Layer) => {
    if (spec.type !== 'custom') return spec;
    const programmed = programFor(spec.definition, spec.inputSize);
    if (!programmed.ok) throw new Error(`custom layer ${spec.name} did not program`);
    const { forward, learnables } = programmed.program;
    const shaped = learnables.map((l) => ({ name: l.name, shape: l.shape, initializer: l.definition.initializer }));
    return { type: 'custom', name: spec.name, inputs: spec.inputs, inputSize: spec.inputSize, forward, learnables: shaped };
  };
  return { ...network, layers: network.layers.map(layer) };
}

const lastJsonLine = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;

async function runOurs(file: string, dataDir: string): Promise<RunResult> {
  const args = ['bench/zoo-run.ts', '--network', file, '--data', dataDir, '--iterations', values.iterations!];
  const { stdout } = await exec(path.join(root, 'node_modules/.bin/tsx'), args, { cwd: root, maxBuffer: 1 << 24 });
  return lastJsonLine(stdout);
}

async function runReference(networkFile: string, dataDir: string): Promise<RunResult> {
  const args = [path.join(root, 'bench/torch_zoo.py'), '--network', networkFile, '--data', dataDir, '--iterations', values.iterations!, '--threads', values.threads!];
  try {
    const { stdout } = await exec('/usr/bin/python3', args, { maxBuffer: 1 << 24 });
    return lastJsonLine(stdout);
  } catch (err) {
    console.error(`the PyTorch reference failed (install it with: apt-get install -y python3-torch): ${(err as Error).message}`);
    process.exit(2);
  }
}

const work = path.join(root, '.bench', 'zoo');
const digits = await loadDigits();
const dataDirs = new Map<string, string>();
/** The raw splits for this input size, written once. */
async function dataFor(size: Size3): Promise<string> {
  const key = size.join('x');
  const known = dataDirs.get(key);
  if (known) return known;
  const splits = benchData(digits, size);
  const dir = path.join(work, `data-${key}`);
  await writeRawSplits(dir, splits);
  dataDirs.set(key, dir);
  return dir;
}

const only = values.only?.split(',');
const files = readdirSync(path.join(root, 'bench/zoo'))
  .filter((f) => f.endsWith('.json') && (!only || only.includes(f.replace(/\.json$/, ''))))
  .sort();
await mkdir(work, { recursive: true });
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown cpu'}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
const ourThreads = loadConfig().threads;
const torchThreads = Number(values.threads);
console.log(`${values.iterations} iterations of batch 128 per network (the first 2 untimed), median of ${values.rounds} alternating rounds, test accuracy on 1000 test images; trainyard on TRAINYARD_THREADS=${ourThreads}, PyTorch on ${torchThreads} threads`);
const peak = { ours: await wasmPeakGflops(ourThreads), torch: await wasmPeakGflops(torchThreads) };
console.log(`wasm SIMD128 peak here: ${peak.ours.toFixed(1)} GFLOP/s on ${ourThreads} thread(s), ${peak.torch.toFixed(1)} on ${torchThreads}\n`);
// The load column is the 1-minute load average once a network's pair has run: on a shared machine it says which rows to trust.
const header = [
  'network'.padEnd(18), 'ours ms/it'.padStart(10), 'torch ms/it'.padStart(11), 'ratio'.padStart(6), 'ours acc'.padStart(8), 'torch acc'.padStart(9),
  'GFLOP/it'.padStart(8), 'ours GF/s'.padStart(9), 'torch GF/s'.padStart(10), `floor ${ourThreads}t`.padStart(8), `floor ${torchThreads}t`.padStart(8), 'load'.padStart(5),
].join(' ');
console.log(header);
const rows: { network: string; ours: RunResult[]; reference: RunResult[]; gflopPerIteration: number; floor: { ours?: number; torchThreads?: number } }[] = [];
/** The run of median time (the lower middle one of an even count). */
const median = (runs: RunResult[]) => [...runs].sort((a, b) => a.ms_per_iteration - b.ms_per_iteration)[Math.floor((runs.length - 1) / 2)];
for (const file of files) {
  const name = file.replace(/\.json$/, '');
  const full = path.join(root, 'bench/zoo', file);
  const validated = validateNetwork(JSON.parse(readFileSync(full, 'utf8')));
  if (!validated.ok) throw new Error(`bench/zoo/${file} did not validate: ${validated.problems.map((p) => p.message).join('; ')}`);
  const dataDir = await dataFor(validated.value.inputSize);
  const referenceFile = path.join(work, `${name}.reference.json`);
  await writeFile(referenceFile, JSON.stringify(referenceNetwork(validated.value)));
  const runs: { ours: RunResult[]; reference: RunResult[] } = { ours: [], reference: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    runs.ours.push(await runOurs(full, dataDir));
    if (!values['skip-reference']) runs.reference.push(await runReference(referenceFile, dataDir));
  }
  const ours = median(runs.ours)!;
  const reference = median(runs.reference);
  const gflop = trainingFlops(validated.value, 128) / 1e9;
  const torchMs = reference?.ms_per_iteration;
  const floor = (gflops: number) => (torchMs === undefined ? undefined : (1000 * gflop) / gflops / torchMs);
  rows.push({ network: name, ...runs, gflopPerIteration: gflop, floor: { ours: floor(peak.ours), torchThreads: floor(peak.torch) } });
  const cell = (v: number | undefined, width: number, digits: number) => (v === undefined ? '-' : v.toFixed(digits)).padStart(width);
  console.log(
    [
      name.padEnd(18), cell(ours.ms_per_iteration, 10, 1), cell(torchMs, 11, 1), cell(torchMs && ours.ms_per_iteration / torchMs, 6, 2),
      cell(ours.test_accuracy, 8, 4), cell(reference?.test_accuracy, 9, 4), cell(gflop, 8, 3), cell((1000 * gflop) / ours.ms_per_iteration, 9, 1),
      cell(torchMs && (1000 * gflop) / torchMs, 10, 1), cell(floor(peak.ours), 8, 2), cell(floor(peak.torch), 8, 2), cell(os.loadavg()[0], 5, 1),
    ].join(' '),
  );
}
console.log(JSON.stringify(rows));
