import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { heaviestJobBody, heavyLayerCheck, largestPng, largestPredict } from '../helpers/heavy-requests.js';
import { describeLoopDelay, expectLoopFree, loopDelayAgainstIdle } from '../helpers/loop-delay.js';
import { saveTestModel } from '../helpers/models.js';
import { encodeShard, manifestName, sha256, shardName, type DatasetManifest } from '../../src/data/ingest/shards.js';
import { summarize } from '../../src/queue/dataset-records.js';
import { newJobId } from '../../src/queue/ids.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * No request of any kind holds the API's event loop for more than 200 ms: the loop delay of the
 * API's process (perf_hooks.monitorEventLoopDelay; the API runs in this process) is measured while
 * each of the heaviest accepted requests runs, and compared with the same stretch without it.
 */
let env: ServiceEnv;
let api: Api;
const modelId = 'loop-model';
const lines: string[] = [];

beforeAll(async () => {
  env = await serviceEnv('event-loop', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { RATE_LIMIT_PER_MINUTE: '100000', LAYER_CHECK_TIMEOUT_MS: '5000' });
  api = await Api.start(env.config);
  await saveTestModel(env.dataDir, modelId, { trainImages: 64, seed: 2 });
});

afterAll(async () => {
  // The README quotes these lines.
  for (const line of lines) console.log(line);
  await api.close();
  await env.cleanup();
});

/**
 * A ready dataset of 224x224 colour images in 4 shards of 64, the last class only in the last shard
 * (so the strip reads them all), stored and recorded as ingestion would leave it.
 */
async function storeLargeColourDataset(): Promise<string> {
  const id = newJobId();
  const size: [number, number, 1 | 3] = [224, 224, 3];
  const classes = Array.from({ length: 10 }, (_, k) => `class ${k}`);
  const writer = api.services.storedDatasets.writer(id);
  const shards = [];
  const perClass = new Array<number>(classes.length).fill(0);
  for (let s = 0; s < 4; s++) {
    const labels = Array.from({ length: 64 }, (_, i) => (s === 3 && i === 0 ? 9 : i % 9));
    labels.forEach((k) => perClass[k]!++);
    const bytes = encodeShard(new Uint8Array(64 * 224 * 224 * 3).map((_, i) => ((i >> 10) + s) & 255), labels);
    const name = shardName('train', s);
    await writer.putObject(name, bytes);
    shards.push({ name, count: 64, bytes: bytes.length, sha256: sha256(bytes) });
  }
  const train = { count: 256, perClass, shards };
  const manifest: DatasetManifest = {
    format: 'trainyard-shards-1', layout: 'folders', classes, size, sizeMode: 'resize', sizeFrom: 'options',
    splits: { train, test: { count: 0, perClass: new Array<number>(classes.length).fill(0), shards: [] } },
    testSplit: { drawn: false }, shuffleSeed: 1, imagesPerShard: 64, bytes: shards.reduce((n, s) => n + s.bytes, 0), skipped: [], emptyClasses: [],
    statistics: { min: 0, max: 1, imageMean: { mean: 0.5, std: 0.1 }, background: 0.5, polarity: 'dark-on-light' },
  };
  await writer.putObject(manifestName, new TextEncoder().encode(JSON.stringify(manifest)));
  await writer.publish();
  const records = api.services.datasetRecords;
  await records.create({ id, tenant: 'local', name: 'large colour', createdAt: new Date().toISOString(), uploadBytes: 1, options: {} }, { count: 100, bytes: 2 ** 40 });
  const taken = await records.take(id);
  if (!taken.ok) throw new Error('the dataset record could not be taken');
  await records.ready(id, taken.attempt, summarize(manifest));
  return id;
}

async function post(url: string, body: string | Buffer, contentType = 'application/json'): Promise<number> {
  const res = await fetch(api.base + url, { method: 'POST', headers: { 'content-type': contentType }, body });
  await res.arrayBuffer();
  return res.status;
}

async function measure(what: string, work: () => Promise<number[]>, expected: number[]): Promise<void> {
  const measured = await loopDelayAgainstIdle(api, work);
  lines.push(describeLoopDelay(what, measured));
  expect(measured.result).toEqual(expected);
  expectLoopFree(what, measured);
}

describe('the event loop under the heaviest accepted requests', () => {
  // Instances are read, run through the network and described 32 at a time, with the loop let run between.
  it('a JSON predict of MAX_PREDICT_INSTANCES images (model already loaded)', async () => {
    const { json } = await largestPredict(env.config);
    expect(await post(`/v1/models/${modelId}/predict`, JSON.stringify({ instances: [new Array(784).fill(0.5)] }))).toBe(200);
    await measure(`a JSON predict of ${env.config.predict.maxInstances} images`, async () => [await post(`/v1/models/${modelId}/predict`, json)], [200]);
  });

  it('MAX_PREDICT_INSTANCES PNG predicts at once', async () => {
    const { pngs } = await largestPredict(env.config);
    await measure(`${pngs.length} PNG predicts at once`, () => Promise.all(pngs.map((png) => post(`/v1/models/${modelId}/predict`, png, 'image/png'))), pngs.map(() => 200));
  });

  it('a PNG of MAX_IMAGE_PIXELS pixels, decoded and resized to 28x28 off the loop (sharp)', async () => {
    const png = largestPng(env.config);
    await measure('a PNG of MAX_IMAGE_PIXELS pixels, 8 at once', () => Promise.all(Array.from({ length: 8 }, () => post(`/v1/models/${modelId}/predict`, png, 'image/png'))), Array(8).fill(200));
  });

  it('samples.png of large colour images: four shards streamed and checksummed, the strip encoded by sharp', async () => {
    const id = await storeLargeColourDataset();
    const get = async () => {
      const res = await fetch(`${api.base}/v1/datasets/${id}/samples.png`);
      await res.arrayBuffer();
      return res.status;
    };
    await measure('samples.png of 224x224 colour images (4 shards of 9.6 MB), 4 at once', () => Promise.all(Array.from({ length: 4 }, get)), Array(4).fill(200));
  });

  // Networks of more than 32 layers are validated in a worker thread (0.1-0.4 s of work for these 196 custom layers).
  it('a job body of just under JOB_BODY_LIMIT_BYTES with MAX_LAYERS layers of long custom expressions', async () => {
    const body = heaviestJobBody(env.config);
    expect(Buffer.byteLength(body)).toBeGreaterThan(0.9 * env.config.limits.jobBodyBytes);
    await measure(`a ${(Buffer.byteLength(body) / 2 ** 20).toFixed(2)} MiB job of ${env.config.networkLimits.maxLayers} layers`, async () => [await post('/v1/jobs', body)], [202]);
  });

  // Both networks, the request's and its initial model's, are validated off the loop (each as big as the one above).
  it('the same job starting from a model of the same MAX_LAYERS layers (initialModel)', async () => {
    const job = JSON.parse(heaviestJobBody(env.config)) as { network: unknown; initialModel?: string };
    // The model's layers scale by about 0.8 where the job's scale by 8 (which overflows in training): the same length to check, the same names and learnables to match.
    const trainable = JSON.parse(JSON.stringify(job.network).replaceAll('x * 1.', 'x * 0.')) as unknown;
    await saveTestModel(env.dataDir, 'loop-big-model', { trainImages: 16, networkJson: trainable, evaluated: false });
    const body = JSON.stringify({ ...job, initialModel: 'loop-big-model' });
    await measure(`that job with an initialModel of ${env.config.networkLimits.maxLayers} layers`, async () => [await post('/v1/jobs', body)], [202]);
  });

  it('a layer check that runs to its time limit (5 s here)', async () => {
    await measure('a layer check cut at its 5 s time limit', async () => [await post('/v1/layers/check', JSON.stringify(heavyLayerCheck))], [200]);
  });

  it('TENANT_MAX_EVENT_SOCKETS event sockets opened at once, and one more refused', async () => {
    const job = await api.submit({ network: { layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }] }, dataset: 'digits' });
    expect(job.status).toBe(202);
    const cap = env.config.events.socketsPerTenant;
    const sockets: WebSocket[] = [];
    const open = (socket: WebSocket) => new Promise<number>((resolve) => {
      socket.once('open', () => resolve(0));
      socket.once('close', (code) => resolve(code));
      socket.once('error', () => resolve(-1));
    });
    await measure(`${cap} event sockets at once, and one more`, async () => {
      const url = `${api.base.replace('http', 'ws')}/v1/jobs/${job.body.id}/events`;
      for (let i = 0; i < cap; i++) sockets.push(new WebSocket(url));
      const opened = await Promise.all(sockets.map(open));
      const extra = new WebSocket(url);
      const refused = await new Promise<number>((resolve) => extra.once('close', (code) => resolve(code)));
      return [...new Set(opened), refused];
    }, [0, 4429]);
    await Promise.all(sockets.map((s) => new Promise((resolve) => (s.once('close', resolve), s.close(1000)))));
  });
});
