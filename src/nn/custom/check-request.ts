import { describe, isPlainObject, type Problem, type Validated } from '../problems.js';
import type { Size3 } from '../spec.js';
import { validateCustomLayer, type CustomLayerSpec } from './validate.js';

/** Bounds on one layer check: the float64 reference is plain JavaScript and the check runs while a caller waits. */
export const checkLimits = {
  maxObservations: 16,
  maxSide: 4096,
  /** observations x height x width x channels */
  maxValues: 1 << 22,
};

export interface CheckRequest {
  layer: CustomLayerSpec;
  observations: number;
}

/**
 * A layer-check request as the API receives it: {layer, inputSize: [h, w, c], observations?: 2}.
 * Every problem comes back with its path (inputSize, observations, layer.forward, ...), so a bad
 * expression is a 400 with its column before any check runs.
 */
export function validateCheckRequest(body: unknown, limits = checkLimits): Validated<CheckRequest> {
  if (!isPlainObject(body)) return { ok: false, problems: [{ path: '', message: `a check request must be an object {"layer": ..., "inputSize": [h, w, c]}, not ${describe(body)}` }] };
  const problems: Problem[] = [];
  for (const key of Object.keys(body)) {
    if (!['layer', 'inputSize', 'observations'].includes(key)) problems.push({ path: key, message: `unknown field '${key}' (known: layer, inputSize, observations)` });
  }
  const rawSize = body['inputSize'];
  const inputSize =
    Array.isArray(rawSize) && rawSize.length === 3 && rawSize.every((d) => Number.isInteger(d) && d >= 1 && d <= limits.maxSide) ? (rawSize as Size3) : null;
  if (!inputSize) problems.push({ path: 'inputSize', message: `inputSize must be [height, width, channels], integers from 1 to ${limits.maxSide}, not ${describe(rawSize)}` });
  const rawObservations = body['observations'] ?? 2;
  const observations = Number.isInteger(rawObservations) && (rawObservations as number) >= 1 && (rawObservations as number) <= limits.maxObservations ? (rawObservations as number) : null;
  if (observations === null) problems.push({ path: 'observations', message: `observations must be an integer from 1 to ${limits.maxObservations}, not ${describe(rawObservations)}` });
  if (inputSize && observations !== null && observations * inputSize[0] * inputSize[1] * inputSize[2] > limits.maxValues) {
    problems.push({
      path: 'inputSize',
      message: `observations x inputSize is ${(observations * inputSize[0] * inputSize[1] * inputSize[2]).toLocaleString('en-US')} values; the check's limit is ${limits.maxValues.toLocaleString('en-US')}`,
    });
  }
  const rawLayer = body['layer'];
  if (rawLayer === undefined) problems.push({ path: 'layer', message: 'layer is required: a custom layer {"type": "custom", "forward": ...}' });
  const layer = rawLayer !== undefined && inputSize ? validateCustomLayer(rawLayer, inputSize) : null;
  if (layer && !layer.ok) problems.push(...layer.problems);
  if (problems.length > 0 || !layer?.ok || observations === null) return { ok: false, problems };
  return { ok: true, value: { layer: layer.value, observations } };
}
