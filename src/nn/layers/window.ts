import type { LayerContext } from './kind.js';
import { describe } from '../problems.js';
import type { Padding4, Size3 } from '../spec.js';

/** What sliding-window layers (convolution, pooling) share: padding, output size, TF's padding mode. */

/**
 * MATLAB's (and TF's) 'same' padding: output = ceil(input / stride); an odd total goes to the
 * bottom and right.
 */
export function samePadding(input: Size3, window: [number, number], stride: [number, number]): Padding4 {
  const total = (i: 0 | 1) => Math.max(0, (Math.ceil(input[i] / stride[i]) - 1) * stride[i] + window[i] - input[i]);
  const [th, tw] = [total(0), total(1)];
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}

/** TF's padding mode for this explicit padding, or null when TF has none that matches. */
export function tfPaddingMode(padding: Padding4, input: Size3, window: [number, number], stride: [number, number]): 'valid' | 'same' | null {
  if (padding.every((p) => p === 0)) return 'valid';
  const same = samePadding(input, window, stride);
  return padding.every((p, i) => p === same[i]) ? 'same' : null;
}

/** The padding field: "same" (resolved to numbers), n, [vertical, horizontal] or [top, bottom, left, right]. */
export function readPadding(ctx: LayerContext, window: [number, number] | undefined, stride: [number, number] | undefined): Padding4 | undefined {
  const { f, input } = ctx;
  const v = f.raw('padding');
  if (v === undefined) return [0, 0, 0, 0];
  if (v === 'same') return input && window && stride ? samePadding(input, window, stride) : undefined;
  if (typeof v === 'number') {
    const n = f.checkInt('padding', v, 0);
    return n === undefined ? undefined : [n, n, n, n];
  }
  if (Array.isArray(v) && (v.length === 2 || v.length === 4)) {
    const nums = v.map((x) => f.checkInt('padding', x, 0));
    if (nums.some((x) => x === undefined)) return undefined;
    const [a, b, c, d] = nums as number[];
    return v.length === 2 ? [a!, a!, b!, b!] : [a!, b!, c!, d!];
  }
  f.problem('padding', `padding must be "same", an integer, [vertical, horizontal] or [top, bottom, left, right], not ${describe(v)}`);
  return undefined;
}

/** Output size of a sliding window, or a problem if the window does not fit its padded input. */
export function slide(
  ctx: LayerContext,
  key: string,
  window: [number, number],
  stride: [number, number],
  padding: Padding4,
  channels: number,
): Size3 | null {
  const input = ctx.input!;
  const paddedH = input[0] + padding[0] + padding[1];
  const paddedW = input[1] + padding[2] + padding[3];
  if (window[0] > paddedH || window[1] > paddedW) {
    const shown = window[0] === window[1] ? `${window[0]}` : `[${window[0]}, ${window[1]}]`;
    const padded = paddedH === input[0] && paddedW === input[1] ? '' : ` (${paddedH}x${paddedW} padded)`;
    const effective = key === 'filterSize' && ctx.f.has('dilationFactor') ? ' (dilated)' : '';
    ctx.f.problem(key, `${key} ${shown}${effective} is larger than its ${input[0]}x${input[1]} input${padded}`);
    return null;
  }
  return [Math.floor((paddedH - window[0]) / stride[0]) + 1, Math.floor((paddedW - window[1]) / stride[1]) + 1, channels];
}

/** numChannels is optional (MATLAB's 'auto'); when given it must agree with the inferred input. */
export function readChannels(ctx: LayerContext): void {
  if (ctx.f.has('numChannels') && ctx.f.raw('numChannels') === 'auto') return;
  const n = ctx.f.optionalInt('numChannels');
  if (typeof n === 'number' && ctx.input && n !== ctx.input[2]) {
    ctx.f.problem('numChannels', `numChannels ${n} does not match its ${ctx.input[2]} input channels`);
  }
}
