import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
let out: string;

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'trainyard-cli-'));
});
afterAll(() => rm(out, { recursive: true, force: true }));

describe('npm run train / npm run predict', () => {
  it('prints the verbose table and the test accuracy, saves a model, and predict agrees', async () => {
    const model = path.join(out, 'seed');
    const trained = await run(
      tsx,
      ['src/cli/train.ts', '--network', 'examples/seed-elu.json', '--options', '{"maxEpochs":2,"miniBatchSize":32,"verboseFrequency":4,"seed":5}', '--train-size', '160', '--out', model],
      { cwd: root, env: { ...process.env, TRAINYARD_BACKEND: 'wasm', DATA_DIR: out } },
    );
    const lines = trained.stdout.split('\n');
    expect(lines.find((l) => l.includes('Epoch'))).toMatch(/Epoch.*Iteration.*Time Elapsed.*Mini-batch.*Mini-batch.*Base Learning/);
    // 160 images in batches of 32: 5 iterations an epoch; rows at 1, every 4th and the last
    const rows = lines.filter((l) => /^\|\s+\d+ \|/.test(l)).map((l) => l.split('|').slice(1, 3).map((c) => Number(c.trim())));
    expect(rows).toEqual([[1, 1], [1, 4], [2, 8], [2, 10]]);
    const accuracy = /^test accuracy: (0\.\d{4})$/m.exec(trained.stdout);
    expect(accuracy).not.toBeNull();
    const manifest = JSON.parse(await readFile(path.join(model, 'manifest.json'), 'utf8')) as { metrics: { testAccuracy: number }; training: { iterations: number } };
    expect(manifest.training.iterations).toBe(10);
    expect(manifest.metrics.testAccuracy.toFixed(4)).toBe(accuracy![1]);

    const predicted = await run(tsx, ['src/cli/predict.ts', '--model', model, '--dataset', 'digits'], {
      cwd: root,
      env: { ...process.env, TRAINYARD_BACKEND: 'wasm', DATA_DIR: out },
    });
    expect(predicted.stdout).toContain(`test accuracy: ${accuracy![1]}`);

    // --initial-model: a new head on the model's other layers, the lineage in the new manifest.
    const head = path.join(out, 'head.json');
    const json = JSON.parse(await readFile(path.join(root, 'examples/seed-elu.json'), 'utf8')) as { layers: Record<string, unknown>[] };
    await writeFile(head, JSON.stringify({ layers: json.layers.map((l) => (l['type'] === 'fullyConnected' ? { ...l, name: 'fc_new' } : l)) }));
    const tuned = path.join(out, 'tuned');
    const again = await run(tsx, ['src/cli/train.ts', '--network', head, '--options', '{"maxEpochs":1,"miniBatchSize":32}', '--train-size', '64', '--out', tuned, '--initial-model', model], {
      cwd: root,
      env: { ...process.env, TRAINYARD_BACKEND: 'wasm', DATA_DIR: out },
    });
    expect(again.stdout).toContain(`initial model: ${model}; from it: conv_1, batchnorm_1, elu_1; fc_new: not in the model`);
    const lineage = (JSON.parse(await readFile(path.join(tuned, 'manifest.json'), 'utf8')) as { lineage: unknown }).lineage;
    expect(lineage).toEqual({
      initialModel: { id: 'seed' },
      layersFromModel: ['conv_1', 'batchnorm_1', 'elu_1'],
      layersNotFromModel: [{ layer: 'fc_new', reason: 'not in the model' }],
      dataset: { id: 'digits', name: 'digits' },
      resumedCount: 0,
    });
  });

  it('explains a bad network and exits with status 2', async () => {
    const bad = path.join(out, 'bad.json');
    const layers = [{ type: 'imageInput', inputSize: [28, 28, 1] }, { type: 'elu', numChannels: 3 }, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }];
    await writeFile(bad, JSON.stringify({ layers }));
    const failed = await run(tsx, ['src/cli/train.ts', '--network', bad, '--out', path.join(out, 'x')], {
      cwd: root,
      env: { ...process.env, TRAINYARD_BACKEND: 'wasm', DATA_DIR: out },
    }).catch((err: { code: number; stderr: string }) => err);
    expect('code' in failed && failed.code).toBe(2);
    expect((failed as { stderr: string }).stderr).toContain('layers[1] (elu): numChannels 3 does not match its 1 input channels');
  });
});
