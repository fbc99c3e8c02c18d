import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../random.js';
import type { Size3 } from '../spec.js';
import { compileLayer, type LayerFunction } from './compile.js';
import type { Expr } from './evaluate.js';
import type { Array64 } from './float64.js';
import { CustomLayer } from './layer.js';
import { numericalGradients, type NumericalGradient } from './numeric-gradient.js';
import type { LayerProgram } from './program.js';
import { validateCustomLayer, type CustomLayerSpec } from './validate.js';

/**
 * MATLAB's checkLayer for a custom layer: does it parse, run forward on one and on several
 * observations, give the output size and type the network assumes, give gradients of the right
 * sizes, agree with float64 finite differences and (when hand-written) with tfjs's automatic
 * differentiation, and stay finite for inputs up to 1e4 in magnitude? Every check says pass, fail
 * or skip with a sentence; the report is plain data for the API, the CLI and a failed job.
 */
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  details?: Record<string, unknown>;
}

export interface CheckReport {
  layer: string;
  inputSize: Size3;
  observations: number;
  /** Which gradient was checked: the user's backward or tfjs's autodiff; null when the definition is invalid. */
  gradients: 'backward' | 'autodiff' | null;
  checks: CheckResult[];
  summary: { ok: boolean; passed: number; failed: number; skipped: number; text: string };
}

export interface CheckOptions {
  /** Observations in the "several observations" batch (MATLAB's default is 2). */
  observations?: number;
  /** Seeds the inputs, dL/dZ and the learnables' initial values, so a report can be repeated. */
  seed?: number;
  /** Element-operations (values x expression nodes, summed over every evaluation) all the checks together may spend; a check that would overrun it is not run. */
  maxOperations?: number;
  /** Called with each result as it is decided, so a caller that stops the check early still has the part that finished. */
  onResult?: (result: CheckResult) => void;
}

/** The default of CheckOptions.maxOperations (LAYER_CHECK_MAX_OPERATIONS): a few seconds of one core. */
export const defaultMaxOperations = 200_000_000;

/** The entry a report ends with when not every check could run: the sentence says why (cost, time, memory). */
export const notCheckedFully = 'checkedFully';
export function tooExpensiveResult(reason: string): CheckResult {
  return { name: notCheckedFully, status: 'fail', message: `too expensive to check fully: ${reason}` };
}

/**
 * Tolerance of the gradient checks. tfjs computes in float32 (about 7 digits; sums lose a few
 * more), so MATLAB's double-precision 1e-6 cannot apply. Each error is relative to
 * |reference| + floor * (the largest |reference| in that tensor), so that entries near zero are
 * judged against the tensor's scale; a wrong formula is off by far more (1e-1 and up).
 */
export const gradientTolerance = { relative: 1e-3, floor: 1e-3 };

/** Entries of each tensor differentiated numerically: at most this many, fewer on big inputs (see sampleIndices). */
const maxSamplesPerTensor = 48;
/** Element-operations the float64 finite differences may spend at most, whatever the whole check's budget leaves. */
const numericalBudget = 3e7;
/** Inputs of every magnitude up to 1e4, and exact zeros, for the finiteness check. */
const extremeInputs = [0, 1e-4, -1e-4, 1, -1, 10, -10, 88, -88, 100, -100, 1e3, -1e3, 1e4, -1e4];

export async function checkCustomLayer(layer: unknown, inputSize: Size3, options: CheckOptions = {}): Promise<CheckReport> {
  const spec = validateCustomLayer(layer, inputSize);
  if (spec.ok) return checkCustomLayerSpec(spec.value, options);
  const name = typeof (layer as { name?: unknown } | null)?.name === 'string' ? (layer as { name: string }).name : 'layer';
  const definition: CheckResult = {
    name: 'definition',
    status: 'fail',
    message: spec.problems.map((p) => p.message).join('; '),
    details: { problems: spec.problems },
  };
  return report(name, inputSize, options.observations ?? 2, null, [definition, ...skipped('the definition is invalid')]);
}

/** The checks after the definition's, in order, each with the checks it needs to have run. */
const checkNeeds = {
  forwardOneObservation: [],
  forwardSeveralObservations: [],
  outputSize: ['forwardSeveralObservations'],
  outputDtype: ['forwardSeveralObservations'],
  backwardSizes: ['forwardSeveralObservations'],
  gradientsNumericallyCorrect: ['backwardSizes'],
  backwardMatchesAutodiff: ['backwardSizes'],
  finiteForLargeInputs: ['backwardSizes'],
} as const satisfies Record<string, readonly string[]>;
type CheckName = keyof typeof checkNeeds;
export const checkNames = Object.keys(checkNeeds) as CheckName[];

export function skipped(reason: string, names: readonly string[] = checkNames): CheckResult[] {
  return names.map((name) => ({ name, status: 'skip', message: `skipped: ${reason}` }));
}

export async function checkCustomLayerSpec(spec: CustomLayerSpec, options: CheckOptions = {}): Promise<CheckReport> {
  const observations = options.observations ?? 2;
  const rng = new Random(options.seed ?? 2017);
  const [h, w, c] = spec.inputSize;
  const layer = new CustomLayer({ name: spec.name, definition: spec.definition, seed: rng.nextUint32() });
  try {
    layer.build([null, h, w, c]);
    const { program, run } = layer.compiled;
    const gradients = program.backward ? 'backward' : 'autodiff';
    const learnables = layer.trainableWeights.map((v) => v.read());
    const x = normalValues(observations * h * w * c, rng);
    const [oh, ow, oc] = program.outputSize;
    const dLdZ = Float32Array.from({ length: observations * oh * ow * oc }, () => 2 * rng.next() - 1);
    const results: CheckResult[] = [];
    const record = (result: CheckResult) => {
      results.push(result);
      options.onResult?.(result);
    };
    record({
      name: 'definition',
      status: 'pass',
      message: `the expressions parse and use only known names; output ${program.outputSize.join('x')}, ${spec.learnables} learnable values, ${gradients === 'backward' ? 'hand-written backward' : 'gradients by autodiff'}`,
    });
    const budget = new OperationBudget(options.maxOperations ?? defaultMaxOperations);
    const checks = new LayerChecks(program, run, learnables, { x, dLdZ, observations }, rng, budget);
    // A check that fails blocks those that need it, and so on down; one the budget cannot pay for is not run.
    const blocked = new Set<string>();
    const unaffordable: string[] = [];
    for (const name of checkNames) {
      const missing = checkNeeds[name].filter((n) => blocked.has(n));
      const cost = missing.length > 0 ? 0 : checks.cost(name);
      let result: CheckResult;
      if (missing.length > 0) result = { name, status: 'skip', message: `skipped: ${missing.join(' and ')} did not pass` };
      else if (!budget.affords(cost)) {
        unaffordable.push(name);
        result = { name, status: 'skip', message: `skipped: too expensive: it needs about ${formatCount(cost)} element-operations and ${formatCount(budget.left)} are left` };
      } else {
        result = checks.run(name);
        budget.spend(cost);
      }
      if (result.status === 'fail' || missing.length > 0 || unaffordable.includes(name)) blocked.add(name);
      record(result);
      // The checks are synchronous tfjs work; let a server's other requests through between them.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (unaffordable.length > 0) {
      record(tooExpensiveResult(`${unaffordable.join(', ')} would pass the budget of ${formatCount(budget.limit)} element-operations (values x expression nodes, LAYER_CHECK_MAX_OPERATIONS); check a smaller inputSize or fewer observations`));
    }
    return report(spec.name, spec.inputSize, observations, gradients, results);
  } finally {
    // The layer was built, never applied, which tfjs's Layer.dispose refuses; its weights are all it holds.
    for (const weight of layer.weights) weight.dispose();
  }
}

export function report(layer: string, inputSize: Size3, observations: number, gradients: CheckReport['gradients'], checks: CheckResult[]): CheckReport {
  const count = (status: CheckStatus) => checks.filter((c) => c.status === status).length;
  const [passed, failed, skippedCount] = [count('pass'), count('fail'), count('skip')];
  const failing = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  const text = `${checks.length} checks: ${passed} passed, ${failed} failed${failing.length ? ` (${failing.join(', ')})` : ''}, ${skippedCount} skipped`;
  return { layer, inputSize, observations, gradients, checks, summary: { ok: failed === 0, passed, failed, skipped: skippedCount, text } };
}

/** The element-operations a check may still spend. */
class OperationBudget {
  private spent = 0;
  constructor(readonly limit: number) {}
  get left(): number {
    return Math.max(0, this.limit - this.spent);
  }
  affords(cost: number): boolean {
    return cost <= this.left;
  }
  spend(cost: number): void {
    this.spent += cost;
  }
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

interface CheckInputs {
  /** The batch of several observations; the first is the one-observation input. */
  x: Float32Array;
  dLdZ: Float32Array;
  observations: number;
}

/** The checks after the definition's, one method each. */
class LayerChecks {
  private readonly tensorNames: string[];
  private gradients: Float32Array[] | null = null;

  constructor(
    private readonly program: LayerProgram,
    private readonly forward: LayerFunction,
    private readonly learnables: tf.Tensor[],
    private readonly inputs: CheckInputs,
    private readonly rng: Random,
    private readonly budget: OperationBudget,
  ) {
    this.tensorNames = ['x', ...program.learnables.map((l) => l.name)];
  }

  /** Element-operations of one forward on the batch: its values times the forward's nodes. */
  private get forwardCost(): number {
    const [h, w, c] = this.program.inputSize;
    const [oh, ow, oc] = this.program.outputSize;
    return this.inputs.observations * Math.max(h * w * c, oh * ow * oc) * countNodes(this.program.forward);
  }

  /** One forward and the gradients of every tensor: autodiff costs about two forwards more, a hand-written backward its own nodes. */
  private get gradientCost(): number {
    const backward = this.program.backward;
    if (!backward) return 3 * this.forwardCost;
    const perNode = this.forwardCost / countNodes(this.program.forward);
    return this.forwardCost + perNode * [backward.x, ...backward.learnables].reduce((n, e) => n + countNodes(e), 0);
  }

  /** What a check will spend, in element-operations, before it runs (the numerical check: its smallest useful sample). */
  cost(name: CheckName): number {
    switch (name) {
      case 'forwardOneObservation':
        return this.forwardCost / this.inputs.observations;
      case 'forwardSeveralObservations':
        return this.forwardCost;
      case 'outputSize':
      case 'outputDtype':
        return 0;
      case 'backwardSizes':
        return this.gradientCost;
      case 'gradientsNumericallyCorrect':
        return this.forwardCost * (1 + 2 * this.tensorNames.length);
      case 'backwardMatchesAutodiff':
        return this.program.backward ? 3 * this.forwardCost : 0;
      case 'finiteForLargeInputs':
        return this.forwardCost + this.gradientCost;
    }
  }

  private get xShape(): [number, number, number, number] {
    return [this.inputs.observations, ...this.program.inputSize];
  }

  private get zShape(): [number, number, number, number] {
    return [this.inputs.observations, ...this.program.outputSize];
  }

  run(name: CheckName): CheckResult {
    try {
      return { name, ...this[name]() };
    } catch (err) {
      return { name, status: 'fail', message: `it threw: ${(err as Error).message}` };
    }
  }

  forwardOneObservation(): Omit<CheckResult, 'name'> {
    const [, h, w, c] = this.xShape;
    const shape = tf.tidy(() => this.forward(tf.tensor4d(this.inputs.x.subarray(0, h * w * c), [1, h, w, c]), this.learnables).shape);
    return { status: 'pass', message: `the forward ran on 1 observation, giving [${shape.join(', ')}]` };
  }

  forwardSeveralObservations(): Omit<CheckResult, 'name'> {
    if (this.inputs.observations === 1) {
      this.runForward();
      return { status: 'skip', message: 'skipped: observations is 1' };
    }
    const shape = this.runForward().shape;
    return { status: 'pass', message: `the forward ran on ${this.inputs.observations} observations, giving [${shape.join(', ')}]` };
  }

  outputSize(): Omit<CheckResult, 'name'> {
    const actual = this.runForward().shape;
    const expected = this.zShape;
    const ok = actual.length === 4 && actual.every((d, i) => d === expected[i]);
    const assumed = `[N, ${this.program.outputSize.join(', ')}]`;
    return ok
      ? { status: 'pass', message: `the output [${actual.join(', ')}] is the ${assumed} the network assumes` }
      : { status: 'fail', message: `the output is [${actual.join(', ')}] but the network assumes ${assumed}`, details: { actual, expected } };
  }

  outputDtype(): Omit<CheckResult, 'name'> {
    const { dtype } = this.runForward();
    return dtype === 'float32'
      ? { status: 'pass', message: 'a float32 input gives a float32 output' }
      : { status: 'fail', message: `a float32 input gives a ${dtype} output` };
  }

  backwardSizes(): Omit<CheckResult, 'name'> {
    const gradients = this.tfGradients(this.forward, this.inputs.x);
    const expected = [this.xShape, ...this.learnables.map((t) => t.shape)];
    const wrong = gradients
      .map((g, i) => ({ tensor: this.tensorNames[i]!, actual: g.shape, expected: expected[i]! }))
      .filter((g) => g.actual.join() !== g.expected.join());
    if (wrong.length > 0) {
      const list = wrong.map((g) => `d${g.tensor} is [${g.actual.join(', ')}], not [${g.expected.join(', ')}]`).join('; ');
      return { status: 'fail', message: list, details: { wrong } };
    }
    this.gradients = gradients.map((g) => g.values);
    const sizes = this.tensorNames.map((n, i) => `d${n} [${expected[i]!.join(', ')}]`).join(', ');
    return { status: 'pass', message: `the backward gives ${sizes}, the sizes of x and the learnables` };
  }

  gradientsNumericallyCorrect(): Omit<CheckResult, 'name'> {
    // Every sampled entry costs two forwards in float64; the samples share what the budget leaves (cost() already counts one each).
    const evaluations = Math.floor((Math.min(numericalBudget, this.budget.left) / this.forwardCost - 1) / 2);
    const samplesPerTensor = Math.max(1, Math.min(maxSamplesPerTensor, Math.floor(evaluations / this.tensorNames.length)));
    const samples = {
      x: this.sampleIndices(this.inputs.x.length, samplesPerTensor),
      learnables: this.learnables.map((t) => this.sampleIndices(t.size, samplesPerTensor)),
    };
    this.budget.spend(this.forwardCost * 2 * (samples.x.length + samples.learnables.reduce((n, s) => n + s.length, 0) - this.tensorNames.length));
    const numerical = numericalGradients(this.program, this.float64Inputs(), samples);
    const perTensor = [numerical.x, ...numerical.learnables].map((n, i) => ({
      tensor: this.tensorNames[i]!,
      ...agreement(this.gradients![i]!, n),
      entriesChecked: n.indices.length - n.kinks,
      entries: i === 0 ? this.inputs.x.length : this.learnables[i - 1]!.size,
      skippedAtKinks: n.kinks,
    }));
    return this.verdict(perTensor, 'the float64 central differences', 'the numerical gradient (float64 central differences)');
  }

  backwardMatchesAutodiff(): Omit<CheckResult, 'name'> {
    if (!this.program.backward) return { status: 'skip', message: 'skipped: no hand-written backward (the gradients are autodiff already)' };
    const autodiff = this.tfGradients(compileLayer(this.program, 'autodiff'), this.inputs.x);
    const perTensor = autodiff.map((reference, i) => {
      const all = { indices: Array.from(reference.values.keys()), values: Array.from(reference.values), kinks: 0 };
      return { tensor: this.tensorNames[i]!, ...agreement(this.gradients![i]!, all), entriesChecked: reference.values.length };
    });
    return this.verdict(perTensor, 'autodiff of the forward', 'tfjs autodiff of the forward');
  }

  finiteForLargeInputs(): Omit<CheckResult, 'name'> {
    const x = Float32Array.from(this.inputs.x, (_, i) => extremeInputs[i % extremeInputs.length]!);
    const z = tf.tidy(() => this.forward(tf.tensor4d(x, this.xShape), this.learnables).dataSync() as Float32Array);
    const gradients = this.tfGradients(this.forward, x);
    const bad = [{ tensor: 'z', values: z }, ...gradients.map((g, i) => ({ tensor: `d${this.tensorNames[i]}`, values: g.values }))]
      .map(({ tensor, values }) => ({ tensor, at: values.findIndex((v) => !Number.isFinite(v)), values }))
      .filter((b) => b.at >= 0);
    const inputs = `inputs of ${extremeInputs.join(', ')}`;
    if (bad.length === 0) return { status: 'pass', message: `no NaN or Inf in z or any gradient for ${inputs}` };
    const where = bad.map((b) => `${b.tensor} is ${b.values[b.at]}${b.tensor === 'z' || b.tensor === 'dx' ? ` where x = ${x[b.at]}` : ''}`);
    return { status: 'fail', message: `NaN or Inf for ${inputs}: ${where.join('; ')}`, details: { tensors: bad.map((b) => b.tensor) } };
  }

  private verdict(
    perTensor: { tensor: string; worstRelativeError: number; worstAt: number }[],
    short: string,
    reference: string,
  ): Omit<CheckResult, 'name'> {
    const details = {
      tolerance: { ...gradientTolerance, rule: '|tfjs - reference| <= relative * (|reference| + floor * max |reference| of the tensor)' },
      tensors: perTensor,
    };
    const failing = perTensor.filter((t) => !(t.worstRelativeError <= gradientTolerance.relative));
    const worst = perTensor.map((t) => `${t.tensor} ${t.worstRelativeError.toExponential(1)}`).join(', ');
    if (failing.length === 0) {
      return { status: 'pass', message: `the gradients agree with ${short}: worst relative error ${worst} (tolerance ${gradientTolerance.relative})`, details };
    }
    const sentences = failing.map(
      (t) => `the gradient for ${t.tensor} disagrees with ${reference}: worst relative error ${t.worstRelativeError.toExponential(2)} at ${this.entryName(t.tensor, t.worstAt)} (tolerance ${gradientTolerance.relative})`,
    );
    return { status: 'fail', message: sentences.join('; '), details };
  }

  private entryName(tensor: string, index: number): string {
    const shape = tensor === 'x' ? this.xShape : this.learnables[this.tensorNames.indexOf(tensor) - 1]!.shape;
    const position: number[] = [];
    for (let axis = shape.length - 1, rest = index; axis >= 0; axis--) {
      position.unshift(rest % shape[axis]!);
      rest = Math.floor(rest / shape[axis]!);
    }
    return `${tensor}[${position.join(', ')}]`;
  }

  private forwardCache: { shape: number[]; dtype: string } | null = null;

  /** The forward on the several-observations batch (run once). */
  private runForward(): { shape: number[]; dtype: string } {
    this.forwardCache ??= tf.tidy(() => {
      const z = this.forward(tf.tensor4d(this.inputs.x, this.xShape), this.learnables);
      return { shape: z.shape, dtype: z.dtype };
    });
    return this.forwardCache;
  }

  /** dL/dx and dL/d(each learnable) for L = sum(dLdZ * forward(x)), through tfjs. */
  private tfGradients(forward: LayerFunction, x: Float32Array): { shape: number[]; values: Float32Array }[] {
    return tf.tidy(() => {
      const dLdZ = tf.tensor4d(this.inputs.dLdZ, this.zShape);
      const loss = (xx: tf.Tensor, ...ws: tf.Tensor[]) => tf.sum(tf.mul(forward(xx, ws), dLdZ));
      const grads = tf.grads(loss as (...args: tf.Tensor[]) => tf.Tensor)([tf.tensor4d(x, this.xShape), ...this.learnables]);
      return grads.map((g) => ({ shape: g.shape, values: g.dataSync() as Float32Array }));
    });
  }

  private float64Inputs(): { x: Array64; learnables: Array64[]; dLdZ: Array64 } {
    const array = (data: ArrayLike<number>, shape: readonly (number | 'N')[]): Array64 => ({
      shape: shape.map((d) => (d === 'N' ? this.inputs.observations : d)) as Array64['shape'],
      data: Float64Array.from(data),
    });
    return {
      x: array(this.inputs.x, this.xShape),
      learnables: this.learnables.map((t, i) => array(t.dataSync(), this.program.learnables[i]!.shape)),
      dLdZ: array(this.inputs.dLdZ, this.zShape),
    };
  }

  /** Distinct entries to differentiate: all when few, else `wanted` of them at random. */
  private sampleIndices(size: number, wanted: number): number[] {
    const count = Math.min(size, wanted);
    const order = Array.from({ length: size }, (_, i) => i);
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.rng.next() * (size - i));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order.slice(0, count).sort((a, b) => a - b);
  }
}

/** Worst relative error of tfjs's gradient against a reference, over the reference's entries (kinks, NaN, left out). */
function agreement(actual: Float32Array, reference: NumericalGradient): { worstRelativeError: number; worstAt: number } {
  const usable = reference.indices.map((index, k) => ({ index, ref: reference.values[k]! })).filter((e) => !Number.isNaN(e.ref));
  // A loop, not Math.max(...spread): a whole tensor's entries overflow the call stack as arguments.
  const scale = usable.reduce((m, e) => Math.max(m, Math.abs(e.ref)), 0);
  let worst = { worstRelativeError: 0, worstAt: usable[0]?.index ?? 0 };
  for (const { index, ref } of usable) {
    const error = Math.abs(actual[index]! - ref) / (Math.abs(ref) + gradientTolerance.floor * scale || 1);
    // NaN counts as the worst possible agreement.
    if (!(error <= worst.worstRelativeError)) worst = { worstRelativeError: Number.isNaN(error) ? Infinity : error, worstAt: index };
  }
  return worst;
}

function countNodes(expr: Expr): number {
  switch (expr.kind) {
    case 'apply':
      return 1 + expr.args.reduce((n, a) => n + countNodes(a), 0);
    case 'reduce':
      return 1 + countNodes(expr.arg);
    default:
      return 1;
  }
}

/** Standard normal values (Box-Muller), rounded to float32. */
function normalValues(count: number, rng: Random): Float32Array {
  return Float32Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next()));
}
