import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { analyzeNetwork } from '../../nn/analyze.js';
import { invalid } from '../problem.js';
import { AnalyzeBody, AnalyzeResponse } from '../schemas/networks.js';
import { authenticatedProblems, problemResponses } from '../schemas/problem.js';
import type { Services } from '../services.js';

const analyzeSchema = {
  operationId: 'analyzeNetwork',
  summary: "Check a network and give each layer's output size and learnables, as MATLAB's analyzeNetwork.",
  description:
    'Validates a network (a chain or a graph with connections) as a training job would, without queueing anything: a bad network is a 400 ' +
    'naming every problem with its JSON path; a valid one answers each layer with the layers feeding it, its output size and its learnable count.',
  body: AnalyzeBody,
  response: { 200: AnalyzeResponse, ...problemResponses(400, 413, 415, ...authenticatedProblems) },
};

/** POST /v1/networks/analyze: validation and sizes of a network, for checking a graph before queueing a job. */
export const networkRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { networkLimits } = services.config;
  app.post('/v1/networks/analyze', { schema: analyzeSchema, bodyLimit: services.config.limits.jobBodyBytes }, async (request) => {
    const { network } = request.body;
    const analysed = await analyzeNetwork(network, networkLimits);
    if (!analysed.ok) {
      const n = analysed.problems.length;
      throw invalid(`the network has ${n} problem${n > 1 ? 's' : ''}`, analysed.problems.map((p) => ({ ...p, path: p.path ? `network.${p.path}` : 'network' })));
    }
    return analysed.value;
  });
};
