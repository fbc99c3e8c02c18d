// A module of its own, free of the wasm heap: ops/conv.ts uses it too, and the plain-tfjs bundle
// (src/tfjs-layers) takes ops/conv.ts without trainyard's kernels.
/** The four paddings TF derives from a Conv2D's `pad` attribute for this input and output. */
export function explicitPadding(
  pad: 'valid' | 'same' | number | number[][],
  input: [number, number],
  output: [number, number],
  filter: [number, number],
  strides: [number, number],
): [number, number, number, number] {
  if (pad === 'valid') return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (Array.isArray(pad)) {
    const [, [t, b], [l, r]] = pad as [number[], [number, number], [number, number]];
    return [t, b, l, r];
  }
  const total = (k: 0 | 1) => Math.max(0, (output[k] - 1) * strides[k] + filter[k] - input[k]);
  const th = total(0);
  const tw = total(1);
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}
