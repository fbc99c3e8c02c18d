import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTar, type TestEntry } from '../data/ingest/archives.js';
import { digits } from '../helpers/data.js';
import { pngOf } from '../helpers/datasets.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const classNames = ['zero', 'one', 'two'];
let out: string;
let entries: TestEntry[];

/** The first digits of three classes as grey PNGs, `<class>/<n>.png`: a folder as a user keeps one. */
beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'trainyard-cli-dataset-'));
  const { train } = await digits(600);
  entries = [];
  for (let i = 0; i < train.count; i++) {
    const label = train.labels[i]!;
    if (label < classNames.length) entries.push({ name: `${classNames[label]}/${i}.png`, bytes: await pngOf(train.images.subarray(i * 784, (i + 1) * 784), 28, 28, 1) });
  }
  await writeFile(path.join(out, 'net.json'), JSON.stringify({ layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, { type: 'fullyConnected', outputSize: 3 }, { type: 'softmax' }, { type: 'classification' }] }));
});
afterAll(() => rm(out, { recursive: true, force: true }));

function train(dataset: string, model: string, extra: string[] = []) {
  return run(tsx, ['src/cli/train.ts', '--network', path.join(out, 'net.json'), '--dataset', dataset, '--options', '{"maxEpochs":2,"miniBatchSize":32,"seed":3}', '--out', path.join(out, model), ...extra], {
    cwd: root,
    env: { ...process.env, TRAINYARD_BACKEND: 'wasm', DATA_DIR: path.join(out, 'data') },
  });
}

async function modelClasses(model: string): Promise<string[]> {
  return (JSON.parse(await readFile(path.join(out, model, 'manifest.json'), 'utf8')) as { classes: string[] }).classes;
}

describe('npm run train -- --dataset PATH', () => {
  it('ingests a folder of class folders once, trains on it, and reuses it on the next run', async () => {
    const folder = path.join(out, 'my-images');
    for (const e of entries) {
      await mkdir(path.dirname(path.join(folder, e.name)), { recursive: true });
      await writeFile(path.join(folder, e.name), e.bytes!);
    }
    const first = await train(folder, 'from-folder', ['--test-fraction', '0.25']);
    const ingested = /^dataset: ingested .* into (.*)$/m.exec(first.stdout);
    expect(ingested, first.stdout).not.toBeNull();
    const [, trainCount, testCount] = /3 classes, 28x28x1 images: (\d+) train, (\d+) test$/m.exec(first.stdout)!.map(Number);
    expect(trainCount! + testCount!).toBe(entries.length);
    expect(testCount! / entries.length).toBeCloseTo(0.25, 1);
    expect(first.stdout).toMatch(/^test accuracy: 0\.\d{4}$/m);
    expect(await modelClasses('from-folder')).toEqual(['one', 'two', 'zero']);
    expect(await readdir(path.join(out, 'data', 'datasets'))).toContain(path.basename(ingested![1]!));

    const second = await train(folder, 'again', ['--test-fraction', '0.25']);
    expect(second.stdout).toContain(`dataset: reusing ${ingested![1]}`);
    expect(/^test accuracy: (.*)$/m.exec(second.stdout)![1]).toBe(/^test accuracy: (.*)$/m.exec(first.stdout)![1]);

    // Other conversion options are another dataset; so is a changed file.
    const resized = await train(folder, 'small', ['--image-size', '14x14', '--test-fraction', '0.25']).catch((err: { stdout: string }) => err);
    expect(resized.stdout).toMatch(/^dataset: ingested/m);
    await writeFile(path.join(folder, entries[0]!.name), entries[1]!.bytes!);
    const changed = await train(folder, 'changed', ['--test-fraction', '0.25']);
    expect(changed.stdout).toMatch(/^dataset: ingested/m);
  });

  it('ingests an archive (.tar.gz) the same way', async () => {
    const archive = path.join(out, 'my-images.tar.gz');
    await writeTar(archive, entries.map((e) => ({ ...e, name: `my-images/${e.name}` })), true);
    const trained = await train(archive, 'from-archive');
    expect(trained.stdout).toMatch(/^dataset: ingested .*my-images\.tar\.gz into /m);
    expect(await modelClasses('from-archive')).toEqual(['one', 'two', 'zero']);
  });

  it('says what is wrong with a source or a flag, with status 2', async () => {
    const empty = path.join(out, 'empty');
    await mkdir(path.join(empty, 'a'), { recursive: true });
    const cases: [string, string[], RegExp][] = [
      [empty, [], /--dataset .*empty: the archive holds no image in a class folder/],
      [path.join(out, 'missing'), [], /no such folder or file/],
      [empty, ['--image-size', '28'], /--image-size must be HEIGHTxWIDTH/],
      ['digits', ['--channels', '3'], /apply to a folder or archive/],
    ];
    for (const [dataset, extra, message] of cases) {
      const failed = (await train(dataset, 'x', extra).catch((err: unknown) => err)) as { code: number; stderr: string };
      expect(failed.code, dataset).toBe(2);
      expect(failed.stderr).toMatch(message);
    }
  });
});
