import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import customNetwork from '../../examples/seed-custom-elu.json' with { type: 'json' };
import { ModelStore } from '../../src/store/models.js';
import { buildTfjsLayers } from '../../src/tfjs-layers/build.js';
import { useTestBackend } from '../helpers/backend.js';
import { digits, graphNetworkJson, seedNetworkJson } from '../helpers/data.js';
import { saveTestModel } from '../helpers/models.js';

const repo = path.resolve(import.meta.dirname, '../..');
let dataDir: string;
let scratch: string;

// What a plain TensorFlow.js user writes: @tensorflow/tfjs, trainyard/tfjs-layers and nothing else of ours.
const userScript = `
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import 'trainyard/tfjs-layers';

const [dir, inputFile] = process.argv.slice(2);
const modelJson = JSON.parse(readFileSync(dir + '/model.json', 'utf8'));
const weights = readFileSync(dir + '/weights.bin');
const model = await tf.loadLayersModel(tf.io.fromMemory({
  modelTopology: modelJson.modelTopology,
  weightSpecs: modelJson.weightsManifest[0].weights,
  weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
}));
const { shape, values } = JSON.parse(readFileSync(inputFile, 'utf8'));
const output = model.predict(tf.tensor(values, shape));
console.log('RESULT ' + JSON.stringify({ backend: tf.getBackend(), metadata: modelJson.userDefinedMetadata, probabilities: Array.from(await output.data()) }));
`;

beforeAll(async () => {
  await useTestBackend();
  // The package's own export (package.json "exports"), built as `npm run build` builds it.
  await buildTfjsLayers();
  dataDir = await mkdtemp(path.join(tmpdir(), 'trainyard-tfjs-'));
  // Inside the package, so `import 'trainyard/tfjs-layers'` resolves to it by self-reference.
  await mkdir(path.join(repo, '.scratch'), { recursive: true });
  scratch = await mkdtemp(path.join(repo, '.scratch', 'tfjs-layers-'));
  await writeFile(path.join(scratch, 'predict.mjs'), userScript);
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

/** A padded average pooling after the custom layer, so the model also holds a trainyard>Pad2D. */
const customWithPadding = {
  layers: [...customNetwork.layers.slice(0, 4), { type: 'averagePooling2d', poolSize: 2, stride: 2, padding: 1 }, ...customNetwork.layers.slice(4)],
};

describe('trainyard/tfjs-layers', () => {
  it.each([
    ['seed-elu', seedNetworkJson, ['trainyard>ImageInput', 'trainyard>Elu']],
    ['custom-padded', customWithPadding, ['trainyard>ImageInput', 'trainyard>Custom', 'trainyard>Pad2D']],
    // A graph: a functional tfjs model, the learnable ELU and a custom layer among its branches.
    ['graph', graphNetworkJson, ['trainyard>ImageInput', 'trainyard>Elu', 'trainyard>Custom']],
  ])('loads model %s saved by the service in plain tfjs and predicts the numbers the service does', async (id, networkJson, classes) => {
    await saveTestModel(dataDir, id, { networkJson, trainImages: 64, maxEpochs: 1 });
    const folder = path.join(dataDir, 'models', id);
    const modelJson = JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')) as { userDefinedMetadata: { customLayers: string[] } };
    expect(modelJson.userDefinedMetadata.customLayers).toEqual(expect.arrayContaining(classes));

    const { test } = await digits(1, 8);
    const inputFile = path.join(scratch, `${id}-input.json`);
    await writeFile(inputFile, JSON.stringify({ shape: [test.count, 28, 28, 1], values: Array.from(test.images) }));
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(scratch, 'predict.mjs'), folder, inputFile], { cwd: scratch });
    const plain = JSON.parse(stdout.split('\n').find((line) => line.startsWith('RESULT '))!.slice('RESULT '.length)) as {
      backend: string;
      metadata: { input: Record<string, unknown>; inputStatistics: Record<string, unknown> };
      probabilities: number[];
    };

    const { classifier } = (await ModelStore.inDataDir(dataDir).load(id))!;
    try {
      const service = await classifier.predict(test.images, test.count);
      expect(plain.probabilities).toHaveLength(service.length);
      // float32 on two backends (plain tfjs: cpu; the service here: wasm): equal to rounding.
      expect(plain.backend).toBe('cpu');
      console.log(`${id}: largest difference ${Math.max(...plain.probabilities.map((p, i) => Math.abs(p - service[i]!)))} over ${service.length} probabilities`);
      plain.probabilities.forEach((p, i) => expect(Math.abs(p - service[i]!), `probability ${i}`).toBeLessThan(1e-4));
    } finally {
      classifier.dispose();
    }
    expect(plain.metadata.input).toMatchObject({ size: [28, 28, 1], normalization: 'zerocenter', formula: '(x - offset) * scale' });
    expect(plain.metadata.inputStatistics).toMatchObject({ min: 0, max: 1, polarity: 'light-on-dark' });
  });
});
