import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

const residual = JSON.parse(readFileSync(new URL('../../examples/residual-digits.json', import.meta.url), 'utf8')) as { layers: Record<string, unknown>[]; connections: unknown[] };

let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('networks', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

interface Analysis {
  layers: { name: string; type: string; inputs: string[]; outputSize: number[]; learnables: number }[];
  learnables: number;
  numClasses: number;
  errors?: { path: string; message: string }[];
}

const analyze = (body: unknown) => api.json<Analysis>('POST', '/v1/networks/analyze', body);

describe('POST /v1/networks/analyze', () => {
  it("gives each layer of a graph its inputs, output size and learnables, as MATLAB's analyzeNetwork", async () => {
    const res = await analyze({ network: residual });
    expect(res.status).toBe(200);
    const add = res.body.layers.find((l) => l.name === 'add_1')!;
    expect(add).toEqual({ name: 'add_1', type: 'addition', inputs: ['bn_3', 'relu_1'], outputSize: [14, 14, 8], learnables: 0 });
    expect(res.body.layers.find((l) => l.name === 'conv_2')).toMatchObject({ outputSize: [14, 14, 8], learnables: 9 * 8 * 8 + 8 });
    expect(res.body.learnables).toBe(res.body.layers.reduce((sum, l) => sum + l.learnables, 0));
    expect(res.body.numClasses).toBe(10);
  });

  it('answers 400 with every problem under network., a graph of many layers too (checked in a thread)', async () => {
    const relus = Array.from({ length: 40 }, (_, i) => ({ type: 'relu', name: `r${i}` }));
    const big = { ...residual, layers: [...residual.layers.slice(0, 4), ...relus, ...residual.layers.slice(4)], connections: [{ from: 'nope', to: 'add_1/in3' }] };
    for (const network of [{ ...residual, connections: [{ from: 'nope', to: 'add_1/in3' }] }, big]) {
      const res = await analyze({ network });
      expect(res.status).toBe(400);
      expect(res.body.errors).toContainEqual({ path: 'network.connections[0].from', message: 'connections[0]: there is no layer named "nope"' });
    }
  });

});
