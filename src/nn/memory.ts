import { programFor } from './custom/program.js';
import type { Expr } from './custom/evaluate.js';
import type { TrainingOptions } from './options.js';
import type { Layer, Network } from './spec.js';

/**
 * An upper estimate of the memory training a network takes, to refuse before queueing what would
 * overflow a worker. tfjs-backend-wasm keeps every tensor in one WebAssembly memory that can never
 * exceed 4 GiB (32-bit addresses) and never shrinks; past it, the next allocation fails with
 * "memory access out of bounds" and the process's heap is unusable (see out-of-memory.ts).
 *
 * What one training iteration holds at once, all float32 (the factors were checked against the
 * wasm heap's real peak with bench/memory-calibration.ts; figures in the README):
 *   - every layer's output for the mini-batch, kept for the backward pass, its gradient, and about
 *     as much again in temporaries: 3 x output x batch;
 *   - inside a custom layer, every node of its parsed forward expression is a tensor of its own
 *     kept for the backward pass, with a gradient of the same size when tfjs differentiates it
 *     (2 x nodes), or the nodes of the written backward expressions instead;
 *   - every learnable's value, gradient, solver state (sgdm's velocity, rmsprop's mean square,
 *     adam's two moments) and the copy XNNPACK packs a weight matrix into: (3 + states) x values;
 *   - the solver's update of the largest layer's weights, whose temporaries live until that
 *     layer's update ends (adam makes 14 of them, rmsprop 9, sgdm's fused kernel 2).
 * Measured peaks against estimates: README, "Training memory".
 * Whole-dataset passes (population statistics, evaluation, predict over a split) run in batches
 * of `wholeDatasetBatchSize`, so they hold the inference outputs of that many images at most.
 */
export interface MemoryEstimate {
  bytes: number;
  activationBytes: number;
  learnableBytes: number;
  /** The biggest part one layer contributes (activations, custom intermediates, its learnables), and where. */
  largest: { index: number; name: string; bytes: number };
}

/** The batch of every pass over a whole split (statistics, evaluation, predict): what they hold at once is bounded by it. */
export const wholeDatasetBatchSize = 256;

const bytesPerValue = 4;
const activationCopies = 3;
const learnableCopiesBeforeState = 3;
const solverStates: Record<TrainingOptions['solver'], number> = { sgdm: 1, rmsprop: 1, adam: 2 };
const updateTemporaries: Record<TrainingOptions['solver'], number> = { sgdm: 2, rmsprop: 9, adam: 14 };

export function estimateTrainingMemory(network: Network, options: Pick<TrainingOptions, 'miniBatchSize' | 'solver'>): MemoryEstimate {
  const batch = options.miniBatchSize;
  const perLayer = network.layers.map((layer) => {
    const activations = bytesPerValue * activationCopies * batch * valuesOf(layer.outputSize);
    const custom = bytesPerValue * customIntermediates(layer, batch, true);
    const learnables = bytesPerValue * (learnableCopiesBeforeState + solverStates[options.solver]) * layer.learnables;
    return { activations: activations + custom, learnables, update: bytesPerValue * updateTemporaries[options.solver] * layer.learnables };
  });
  // Inference keeps no gradients: the outputs and a custom layer's forward nodes of one batch.
  const evaluation = network.layers.reduce((sum, layer) => sum + bytesPerValue * (wholeDatasetBatchSize * valuesOf(layer.outputSize) + customIntermediates(layer, wholeDatasetBatchSize, false)), 0);
  const training = perLayer.reduce((sum, l) => sum + l.activations, 0);
  const activationBytes = Math.max(training, evaluation);
  const learnableBytes = perLayer.reduce((sum, l) => sum + l.learnables, 0) + Math.max(0, ...perLayer.map((l) => l.update));
  let largest = { index: 0, name: network.layers[0]?.name ?? '', bytes: 0 };
  perLayer.forEach((l, index) => {
    const bytes = l.activations + l.learnables + l.update;
    if (bytes > largest.bytes) largest = { index, name: network.layers[index]!.name, bytes };
  });
  return { bytes: activationBytes + learnableBytes, activationBytes, learnableBytes, largest };
}

/**
 * The most memory a job may be estimated to need: the configured limit, and on wasm three quarters
 * of its heap. The estimate matches the heap's peak over the first iterations within 3%
 * (bench/memory-calibration.ts), but tensors of hundreds of MiB allocated and freed every
 * iteration fragment emscripten's malloc over a run: 784->60000 fully connected with adam,
 * estimated at 3.3 GiB, died after 90 s (issue 10). The quarter kept back covers that and the
 * 16 MiB tfjs-wasm and XNNPACK hold before the first tensor.
 */
export function trainingMemoryLimit(configured: number, heapCeilingBytes: number | null): number {
  return heapCeilingBytes === null ? configured : Math.min(configured, (heapCeilingBytes / 4) * 3);
}

/** Values a custom layer's intermediate tensors hold for a batch: the forward's, and in training the backward's too. */
function customIntermediates(layer: Layer, batch: number, training: boolean): number {
  if (layer.type !== 'custom') return 0;
  const programmed = programFor(layer.definition, layer.inputSize);
  if (!programmed.ok) return 0;
  const { forward, backward } = programmed.program;
  const forwardValues = nodeValues(forward, batch);
  if (!training) return forwardValues;
  return backward ? forwardValues + [backward.x, ...backward.learnables].reduce((sum, e) => sum + nodeValues(e, batch), 0) : 2 * forwardValues;
}

/** Values of every tensor an expression's evaluation creates: each operation's result (inputs and constants exist already). */
function nodeValues(expr: Expr, batch: number): number {
  if (expr.kind === 'constant' || expr.kind === 'input') return 0;
  const own = (expr.shape[0] === 'N' ? batch : 1) * expr.shape[1] * expr.shape[2] * expr.shape[3];
  const children = expr.kind === 'apply' ? expr.args : [expr.arg];
  return own + children.reduce((sum, child) => sum + nodeValues(child, batch), 0);
}

function valuesOf(size: readonly number[]): number {
  return size.reduce((a, b) => a * b, 1);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}
