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

export interface BatchNormTrainingAttrs {
  epsilon: number;
}

export interface Conv2DWithBiasAttrs {
  strides: [number, number];
  pad: 'valid' | 'same';
}

export interface SgdmUpdateAttrs {
  lr: number;
  momentum: number;
  l2: number;
}
