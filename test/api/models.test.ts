import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/data/png.js';
import '../../src/nn/layers/index.js';
import { digits, seedNetworkJson } from '../helpers/data.js';
import { saveTestModel } from '../helpers/models.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

let env: ServiceEnv;
let api: Api;
let test: Awaited<ReturnType<typeof digits>>['test'];
const id = 'seed-model';

beforeAll(async () => {
  env = await serviceEnv('models', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { MAX_PREDICT_INSTANCES: '200', BODY_LIMIT_BYTES: '3000000' });
  api = await Api.start(env.config);
  test = (await digits(10, 200)).test;
  await saveTestModel(env.dataDir, id, { trainImages: 640, maxEpochs: 2, seed: 3 });
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

const image = (i: number) => Array.from(test.images.subarray(i * 784, (i + 1) * 784));
const nested = (flat: number[]) => Array.from({ length: 28 }, (_, y) => flat.slice(y * 28, (y + 1) * 28));
type Predictions = { predictions: { label: string; probabilities: Record<string, number> }[] };

describe('models', () => {
  it('lists and describes the model, with links to its files and predict', async () => {
    const list = await api.json<{ models: { id: string; backend: string }[] }>('GET', '/v1/models');
    expect(list.body.models).toEqual([expect.objectContaining({ id, backend: 'wasm' })]);
    const one = await api.json<{ network: unknown; links: Record<string, unknown> }>('GET', `/v1/models/${id}`);
    expect(one.body.network).toEqual(seedNetworkJson);
    expect(one.body.links).toMatchObject({
      predict: `/v1/models/${id}/predict`,
      files: { 'model.json': `/v1/models/${id}/files/model.json`, 'weights.bin': `/v1/models/${id}/files/weights.bin` },
    });
  });

  it('serves model.json and weights.bin so tfjs loads the model over HTTP', async () => {
    const model = await tfl.loadLayersModel(`${api.base}/v1/models/${id}/files/model.json`);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    model.dispose();
    expect((await api.json('GET', `/v1/models/${id}/files/manifest.json`)).status).toBe(404);
  });
});

describe('POST /v1/models/:id/predict', () => {
  it('classifies 200 test digits with the accuracy the model has', async () => {
    const instances = Array.from({ length: 200 }, (_, i) => image(i));
    const res = await api.json<Predictions>('POST', `/v1/models/${id}/predict`, { instances });
    expect(res.status).toBe(200);
    const correct = res.body.predictions.filter((p, i) => p.label === String(test.labels[i])).length;
    expect(correct / 200).toBeGreaterThan(0.7);
    for (const p of res.body.predictions.slice(0, 5)) {
      expect(Object.keys(p.probabilities)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
  });

  it('takes [h][w], [h][w][c] and flat instances alike, and a PNG of the model input size', async () => {
    const flat = image(7);
    const forms = [flat, nested(flat), nested(flat).map((row) => row.map((v) => [v]))];
    const res = await api.json<Predictions>('POST', `/v1/models/${id}/predict`, { instances: forms });
    expect(res.status).toBe(200);
    expect(new Set(res.body.predictions.map((p) => JSON.stringify(p))).size).toBe(1);

    const png = encodePng(flat, 28, 28, 1);
    const quantized = Array.from(flat, (v) => Math.round(v * 255) / 255);
    const viaPng = await fetch(`${api.base}/v1/models/${id}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
    expect(viaPng.status).toBe(200);
    const pngPrediction = ((await viaPng.json()) as Predictions).predictions[0]!;
    const jsonPrediction = (await api.json<Predictions>('POST', `/v1/models/${id}/predict`, { instances: [quantized] })).body.predictions[0]!;
    expect(pngPrediction.label).toBe(jsonPrediction.label);
    for (const k of Object.keys(pngPrediction.probabilities)) expect(pngPrediction.probabilities[k]).toBeCloseTo(jsonPrediction.probabilities[k]!, 3);
  });

  it('answers 400 with the expected shape for malformed instances', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ instances: [image(0).slice(1)] }, 'instances[0]', /expected a 28x28x1 image.*got an array of 783/],
      [{ instances: [image(0), nested(image(0)).slice(0, 27)] }, 'instances[1]', /got an array of 27/],
      [{ instances: [[...image(0).slice(0, 783), null]] }, 'instances[0]', /value 783 is null, not a finite number/],
      [{ instances: [[...image(0).slice(0, 783), 'x']] }, 'instances[0]', /not a finite number/],
      [{ instances: ['a picture'] }, 'instances[0]', /got string/],
      [{ instances: [] }, 'instances', /fewer than 1/],
      [{ images: [image(0)] }, 'images', /unknown field/],
      [{ instances: Array.from({ length: 201 }, () => [0]) }, 'instances', /more than 200/],
    ];
    for (const [body, path, message] of cases) {
      const res = await api.json<{ errors: { path: string; message: string }[] }>('POST', `/v1/models/${id}/predict`, body);
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const error = res.body.errors.find((e) => e.path === path);
      expect(error?.message, JSON.stringify(res.body.errors)).toMatch(message);
    }
  });

  it('rejects a PNG of another size, saying which size it takes, and a body that is not a PNG', async () => {
    const small = await fetch(`${api.base}/v1/models/${id}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: encodePng(new Array(16 * 16).fill(0), 16, 16, 1) });
    expect(small.status).toBe(400);
    expect(((await small.json()) as { detail: string }).detail).toBe('the image is 16x16; this model takes 28x28 (width x height)');
    const notPng = await fetch(`${api.base}/v1/models/${id}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from('GIF89a....') });
    expect(notPng.status).toBe(400);
  });

  it('deletes a model; it is gone from the list, its files and predict', async () => {
    expect((await api.json('DELETE', `/v1/models/${id}`)).status).toBe(204);
    expect((await api.json('GET', `/v1/models/${id}`)).status).toBe(404);
    expect((await api.json('POST', `/v1/models/${id}/predict`, { instances: [image(0)] })).status).toBe(404);
    expect((await api.json<{ models: unknown[] }>('GET', '/v1/models')).body.models).toEqual([]);
  });
});
