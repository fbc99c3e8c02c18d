/**
 * trainyard's own kernels: registered for the wasm backend only (C code in src/nn/wasm/c), used by
 * the ops in src/nn/ops, which fall back to plain tfjs ops on every other backend.
 */
export const EluWithAlpha = 'TrainyardEluWithAlpha';
export const EluWithAlphaGrad = 'TrainyardEluWithAlphaGrad';
export const BatchNormTraining = 'TrainyardBatchNormTraining';
export const BatchNormTrainingGrad = 'TrainyardBatchNormTrainingGrad';
export const ChannelSums = 'TrainyardChannelSums';
export const MatMulAtB = 'TrainyardMatMulAtB';
export const Conv2DWithBias = 'TrainyardConv2DWithBias';
export const SgdmUpdate = 'TrainyardSgdmUpdate';
export const SpreadPad = 'TrainyardSpreadPad';
export const FlipFilter = 'TrainyardFlipFilter';
export const InterleavePhases = 'TrainyardInterleavePhases';
export const ConvInputGradient = 'TrainyardConvInputGradient';
export const Expression = 'TrainyardExpression';
export const ActivationGrad = 'TrainyardActivationGrad';
export const SpatialMeanGrad = 'TrainyardSpatialMeanGrad';

/** Which input gradient (the order of activation_grad.c's kinds), and clip's bounds or leakyRelu's alpha. */
export interface ActivationGradAttrs {
  kind: 0 | 1 | 2 | 3;
  a: number;
  b: number;
}

/** Value kinds of expression.c: a whole [N, h, w, c] tensor, one value per channel, one value. */
// Here with the kernel names, not beside the kernel: the custom layer's compiler uses it, and the
// plain-tfjs module (src/tfjs-layers) bundles that compiler without the wasm kernels.
export const enum ValueKind {
  Full = 0,
  PerChannel = 1,
  Scalar = 2,
}

/**
 * A custom layer's expressions compiled for expression.c: inputs in0, in1, ... of the given kinds
 * (0 full tensor, 1 per channel, 2 scalar); outputs read from slots (inputs, then constants, then
 * registers), full tensors or sums.
 */
export interface ExpressionAttrs {
  code: number[];
  constants: number[];
  inputKinds: number[];
  outputSlots: number[];
  outputKinds: number[];
  registers: number;
  channels: number;
}

/** dy [n, h, w, c] written at rows top + r*strides[0], columns left + q*strides[1] of zeros [n, outHeight, outWidth, c]. */
export interface SpreadPadAttrs {
  strides: [number, number];
  top: number;
  left: number;
  outHeight: number;
  outWidth: number;
}

/** Which taps FlipFilter takes: every strides[0]-th row from first[0], every strides[1]-th column from first[1] (default all). */
export interface FlipFilterAttrs {
  first: [number, number];
  strides: [number, number];
}

/**
 * The phases of a strided convolution's input gradient, inputs p0, p1, ... [n, rows, cols, c] in
 * this order, written to dx [n, height, width, c] at rows row + r*strides[0], columns col + q*strides[1].
 */
export interface InterleavePhasesAttrs {
  strides: [number, number];
  height: number;
  width: number;
  phases: { row: number; col: number }[];
}

/** dx [inputShape] of a convolution with these attributes, from dy and its filter. */
export interface ConvInputGradientAttrs {
  inputShape: [number, number, number, number];
  strides: [number, number];
  pad: 'valid' | 'same';
  dilations: [number, number];
}

export interface BatchNormTrainingAttrs {
  epsilon: number;
}

export interface Conv2DWithBiasAttrs {
  strides: [number, number];
  pad: 'valid' | 'same';
  dilations: [number, number];
}

export interface SgdmUpdateAttrs {
  lr: number;
  momentum: number;
  l2: number;
}
