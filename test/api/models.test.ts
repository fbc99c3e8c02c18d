import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { crc32, deflateSync } from 'node:zlib';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
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
type Predictions = { predictions: { label: string; probabilities: Record<string, number>; warnings: string[] }[] };
type Problem = { status: number; detail: string; errors?: { path: string; message: string }[] };
const PNG_LIMIT = 2 ** 20;
const postPng = (body: Buffer) => fetch(`${api.base}/v1/models/${id}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body });

/** A valid all-black grey PNG of any size: megapixels of zeros deflate to a few kilobytes per megapixel. */
function blackPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const framed = Buffer.alloc(body.length + 8);
    framed.writeUInt32BE(data.length, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body), body.length + 4);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit grey, no interlace
  const scanlines = deflateSync(Buffer.alloc(height * (width + 1)), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', scanlines), chunk('IEND', Buffer.alloc(0))]);
}

/** A real PNG whose IHDR declares another size (CRC fixed up): what a "PNG bomb" looks like to a decoder. */
function lyingPng(width: number, height: number): Buffer {
  const png = Buffer.from(encodePng(new Array(28 * 28).fill(0), 28, 28, 1));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

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

  it("converts a PNG or JPEG of another size to the model's input as its dataset's images were, and says what it was sent", async () => {
    type Answer = Predictions & { input: { from: string; original?: { width: number; height: number } } };
    const post = (body: Buffer, type: string) => fetch(`${api.base}/v1/models/${id}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
    let compared = 0;
    for (let i = 0; i < 20 && compared < 5; i++) {
      const expected = (await api.json<Predictions>('POST', `/v1/models/${id}/predict`, { instances: [image(i)] })).body.predictions[0]!;
      // Only digits the model is sure of: a resize there and back moves a pixel's value a little.
      if (expected.probabilities[expected.label]! < 0.95) continue;
      compared++;
      const raw = sharp(Buffer.from(Uint8Array.from(image(i), (v) => Math.round(v * 255))), { raw: { width: 28, height: 28, channels: 1 } });
      const png = await post(await raw.clone().resize(56, 56).png().toBuffer(), 'image/png');
      const jpeg = await post(await raw.clone().resize(84, 84).toColourspace('srgb').jpeg({ quality: 95 }).toBuffer(), 'image/jpeg');
      for (const [res, from, side] of [[png, 'png', 56], [jpeg, 'jpeg', 84]] as const) {
        expect(res.status).toBe(200);
        const answer = (await res.json()) as Answer;
        expect(answer.input).toMatchObject({ from, original: { width: side, height: side }, width: 28, height: 28, channels: 1 });
        expect(answer.predictions[0]!.label).toBe(expected.label);
      }
    }
    expect(compared).toBe(5);
    const notPng = await post(Buffer.from('GIF89a....'), 'image/png');
    expect(notPng.status).toBe(400);
    expect(((await notPng.json()) as Problem).errors).toEqual([{ path: 'body', message: 'body: not a readable PNG image (no PNG signature)' }]);
    const pngAsJpeg = await post(encodePng(image(0), 28, 28, 1), 'image/jpeg');
    expect(pngAsJpeg.status).toBe(400);
    expect(((await pngAsJpeg.json()) as Problem).detail).toBe('the body is not a readable JPEG image');
  });

  it('refuses a PNG declaring 20000x20000 pixels from its header, at once, and stays responsive', async () => {
    const before = process.memoryUsage().rss;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const [bomb, health] = await Promise.all([postPng(lyingPng(20000, 20000)), fetch(`${api.base}/healthz`)]);
    loop.disable();
    expect(health.status).toBe(200);
    // The API runs in this process: decoding 20000x20000 would have held its loop for seconds.
    expect(loop.max / 1e6).toBeLessThan(200);
    expect(bomb.status).toBe(400);
    expect(bomb.headers.get('content-type')).toContain('application/problem+json');
    expect(((await bomb.json()) as Problem).detail).toMatch(/declares 20000x20000 = 400000000 pixels; at most 4194304/);
    // Decoding it would take 1.6 GB of RGBA; refusing it costs next to nothing.
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
    // A true bomb: 8000x8000 pixels in a few tens of kilobytes, over MAX_IMAGE_PIXELS.
    const bombBody = blackPng(8000, 8000);
    expect(bombBody.length).toBeLessThan(PNG_LIMIT);
    const beforeReal = process.memoryUsage().rss;
    const real = await postPng(bombBody);
    expect(real.status).toBe(400);
    expect(((await real.json()) as Problem).detail).toMatch(/declares 8000x8000 = 64000000 pixels/);
    expect(process.memoryUsage().rss - beforeReal).toBeLessThan(100 * 2 ** 20);
    // Within the cap, a header that lies about the data is found out by the decoder: a 400 that says so.
    const lying = await postPng(lyingPng(1000, 1000));
    expect(lying.status).toBe(400);
    expect(((await lying.json()) as Problem).errors![0]!.message).toMatch(/^body: not a readable PNG image \(corrupt image/);
  });

  it('holds each body type\'s limit: PNG 1 MiB, JSON 16 MiB', async () => {
    const big = Buffer.concat([encodePng(image(0), 28, 28, 1), Buffer.alloc(2 * 2 ** 20)]);
    const res = await postPng(big);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    // A 4 MB JSON body is over every other route's limit here (BODY_LIMIT_BYTES 3000000) and
    // within the JSON predict one (16 MiB).
    const json = JSON.stringify({ instances: [image(0)] }) + ' '.repeat(4_000_000);
    const viaJson = await fetch(`${api.base}/v1/models/${id}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
    expect(viaJson.status).toBe(200);
    // The predict limits are predict's alone: the other model routes keep BODY_LIMIT_BYTES.
    expect((await fetch(`${api.base}/v1/models/no-such-model`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: json })).status).toBe(413);
    const overJson = JSON.stringify({ instances: [image(0)] }) + ' '.repeat(17 * 2 ** 20);
    expect((await fetch(`${api.base}/v1/models/${id}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: overJson })).status).toBe(413);
  });

  it('states what it fed the network and warns about an image unlike the training images (black on white)', async () => {
    const digit = image(3);
    const inverted = digit.map((v) => 1 - v);
    const res = await api.json<Predictions & { input: Record<string, unknown> }>('POST', `/v1/models/${id}/predict`, { instances: [digit, inverted] });
    expect(res.status).toBe(200);
    expect(res.body.input).toMatchObject({ from: 'json', height: 28, width: 28, channels: 1, scale: 1, min: 0, max: 1, training: { polarity: 'light-on-dark', min: 0, max: 1 } });
    expect(res.body.predictions[0]!.warnings).toEqual([]);
    expect(res.body.predictions[1]!.warnings.join(' ')).toMatch(/background .* is light; the model was trained on images light on a dark background/);
    expect(res.body.predictions[1]!.warnings.join(' ')).toMatch(/mean brightness/);

    const viaPng = await postPng(encodePng(inverted, 28, 28, 1));
    const pngBody = (await viaPng.json()) as Predictions & { input: Record<string, unknown> };
    expect(pngBody.input).toMatchObject({ from: 'png', height: 28, width: 28, channels: 1 });
    expect(pngBody.predictions[0]!.warnings.length).toBeGreaterThan(0);
  });

  it('refuses 0-255 pixel values with a 400 naming the instance and the range, and takes them with "scale": 255', async () => {
    const pixels = image(5).map((v) => Math.round(v * 255));
    const refused = await api.json<Problem>('POST', `/v1/models/${id}/predict`, { instances: [image(4), pixels] });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/1 instance\(s\) have values outside the training images' range \[0, 1\].*"scale": 255/);
    expect(refused.body.errors).toEqual([{ path: 'instances[1]', message: expect.stringMatching(/^instances\[1\]: value \d+ is \d+, outside \[0, 1\]/) }]);

    const scaled = await api.json<Predictions & { input: { scale: number; max: number } }>('POST', `/v1/models/${id}/predict`, { instances: [pixels], scale: 255 });
    expect(scaled.status).toBe(200);
    expect(scaled.body.input.scale).toBe(255);
    expect(scaled.body.input.max).toBeCloseTo(Math.max(...pixels) / 255, 6);
    const plain = await api.json<Predictions>('POST', `/v1/models/${id}/predict`, { instances: [pixels.map((v) => v / 255)] });
    expect(scaled.body.predictions[0]!.label).toBe(plain.body.predictions[0]!.label);
    for (const k of Object.keys(plain.body.predictions[0]!.probabilities)) {
      expect(scaled.body.predictions[0]!.probabilities[k]).toBeCloseTo(plain.body.predictions[0]!.probabilities[k]!, 5);
    }
    expect((await api.json<Problem>('POST', `/v1/models/${id}/predict`, { instances: [pixels], scale: 0 })).status).toBe(400);
  });

  it('still predicts with a model trained before statistics were recorded, without range checks or warnings', async () => {
    const models = path.join(env.dataDir, 'models');
    await cp(path.join(models, id), path.join(models, 'old-model'), { recursive: true });
    const manifestFile = path.join(models, 'old-model', 'manifest.json');
    const { inputStatistics: _, ...old } = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
    await writeFile(manifestFile, JSON.stringify({ ...old, id: 'old-model' }));
    const res = await api.json<Predictions & { input: { training: unknown } }>('POST', '/v1/models/old-model/predict', { instances: [image(2).map((v) => 1 - v)] });
    expect(res.status).toBe(200);
    expect(res.body.input.training).toBeNull();
    expect(res.body.predictions[0]!.warnings).toEqual([]);
    expect((await api.json('DELETE', '/v1/models/old-model')).status).toBe(204);
  });

  it('answers a model whose files are missing or corrupt with a 409 saying so, and one removed behind its back with a 404, never from memory', async () => {
    const models = path.join(env.dataDir, 'models');
    const copy = async (to: string) => {
      await cp(path.join(models, id), path.join(models, to), { recursive: true });
      const manifestFile = path.join(models, to, 'manifest.json');
      await writeFile(manifestFile, JSON.stringify({ ...(JSON.parse(await readFile(manifestFile, 'utf8')) as object), id: to }));
    };
    await copy('no-weights');
    await rm(path.join(models, 'no-weights', 'weights.bin'));
    const missing = await api.json<Problem>('POST', '/v1/models/no-weights/predict', { instances: [image(0)] });
    expect(missing.status).toBe(409);
    expect(missing.body.detail).toBe("model 'no-weights' cannot be loaded: its weights.bin is missing; delete it and train it again");
    await writeFile(path.join(models, 'no-weights', 'weights.bin'), Buffer.alloc(10));
    const corrupt = await api.json<Problem>('POST', '/v1/models/no-weights/predict', { instances: [image(0)] });
    expect(corrupt.status).toBe(409);
    expect(corrupt.body.detail).toMatch(/^model 'no-weights' cannot be loaded: its files do not make a model/);
    await writeFile(path.join(models, 'no-weights', 'manifest.json'), '{"truncated');
    const unknownOwner = await api.json<Problem>('GET', '/v1/models/no-weights');
    expect(unknownOwner.status).toBe(409);
    expect(unknownOwner.body.detail).toBe("model 'no-weights' cannot be loaded: its manifest.json is not JSON; an operator must remove it from the model store");
    expect((await api.json('DELETE', '/v1/models/no-weights')).status).toBe(409);
    await rm(path.join(models, 'no-weights'), { recursive: true });

    await copy('vanishing');
    expect((await api.json('POST', '/v1/models/vanishing/predict', { instances: [image(0)] })).status).toBe(200);
    // removed by another process (another API replica): the loaded copy is not served
    await rm(path.join(models, 'vanishing'), { recursive: true });
    expect((await api.json<Problem>('POST', '/v1/models/vanishing/predict', { instances: [image(0)] })).status).toBe(404);
  });

  it('deletes a model; it is gone from the list, its files and predict', async () => {
    expect((await api.json('DELETE', `/v1/models/${id}`)).status).toBe(204);
    expect((await api.json('GET', `/v1/models/${id}`)).status).toBe(404);
    expect((await api.json('POST', `/v1/models/${id}/predict`, { instances: [image(0)] })).status).toBe(404);
    expect((await api.json<{ models: unknown[] }>('GET', '/v1/models')).body.models).toEqual([]);
  });
});
