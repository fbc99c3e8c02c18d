import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { EluWithAlpha, EluWithAlphaGrad } from '../names.js';
import { rowsAndChannels } from '../rows.js';

/**
 * The seed's ELU (src/nn/ops/elu.ts) in WGSL. Alpha is per channel ([C], channels last) or shared
 * ([1]); `alphaIndex` picks its element for a flat index either way.
 */
const alphaIndex = (perChannel: boolean) => (perChannel ? 'index % uniforms.channels' : '0');

const flatThreads = 128;

/** A program over every element of `shape`, one invocation each. */
function elementwise(shape: number[], variableNames: string[], shaderKey: string, body: string): WebGPUProgram {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    variableNames,
    outputShape: shape,
    shaderKey,
    size: true,
    uniforms: 'channels : i32,',
    workgroupSize: [flatThreads, 1, 1],
    dispatchLayout: { x: shape.map((_, i) => i) },
    dispatch: [Math.ceil(size / flatThreads), 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
}

/** z = x where x > 0, alpha * (exp(min(x, 0)) - 1) elsewhere. */
export const eluWithAlphaWebgpu: tf.KernelConfig = {
  kernelName: EluWithAlpha,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const { x, alpha } = inputs as { x: tf.TensorInfo; alpha: tf.TensorInfo };
    const perChannel = isPerChannel(alpha);
    const program = elementwise(x.shape, ['X', 'Alpha'], `trainyard_elu_${perChannel}`, `
          let v = X[index];
          setOutputAtIndex(index, select(Alpha[${alphaIndex(perChannel)}] * (exp(min(v, 0.0)) - 1.0), v, v > 0.0));`);
    return (backend as WebGPUBackend).runWebGPUProgram(program, [x, alpha], 'float32', channelsUniform(x));
  },
};

/** dx = dz where x > 0, dz * (alpha + z) elsewhere. */
function eluDx(backend: WebGPUBackend, x: tf.TensorInfo, z: tf.TensorInfo, alpha: tf.TensorInfo, dz: tf.TensorInfo): tf.TensorInfo {
  const perChannel = isPerChannel(alpha);
  const program = elementwise(x.shape, ['X', 'Z', 'Alpha', 'DZ'], `trainyard_elu_dx_${perChannel}`, `
          let g = DZ[index];
          setOutputAtIndex(index, select(g * (Alpha[${alphaIndex(perChannel)}] + Z[index]), g, X[index] > 0.0));`);
  return backend.runWebGPUProgram(program, [x, z, alpha, dz], 'float32', channelsUniform(x));
}

const reduceThreads = 256;

/**
 * dalpha = sum of dz * (exp(min(x, 0)) - 1) over every element sharing an alpha: one workgroup per
 * alpha element reads its elements once and reduces them in workgroup memory, one dispatch.
 */
function eluDalpha(backend: WebGPUBackend, x: tf.TensorInfo, alpha: tf.TensorInfo, dz: tf.TensorInfo): tf.TensorInfo {
  const perChannel = isPerChannel(alpha);
  const { rows, channels } = rowsAndChannels(x);
  // Per channel: element k of channel c is at k * channels + c; shared: every element, in order.
  const [count, stride] = perChannel ? [rows, channels] : [rows * channels, 1];
  const program: WebGPUProgram = {
    variableNames: ['X', 'DZ'],
    outputShape: alpha.shape,
    shaderKey: `trainyard_elu_dalpha_${perChannel}`,
    size: true,
    uniforms: 'count : i32, stride : i32,',
    workgroupSize: [reduceThreads, 1, 1],
    dispatchLayout: { x: alpha.shape.map((_, i) => i) },
    dispatch: [perChannel ? channels : 1, 1, 1],
    getUserCode: () => `
      var<workgroup> partial : array<f32, ${reduceThreads}>;
      fn main(index : i32) {
        let c = i32(workgroupId.x);
        var sum = 0.0;
        for (var k = i32(localId.x); k < uniforms.count; k = k + ${reduceThreads}) {
          let i = k * uniforms.stride + c;
          sum = sum + DZ[i] * (exp(min(X[i], 0.0)) - 1.0);
        }
        partial[localId.x] = sum;
        workgroupBarrier();
        for (var width = ${reduceThreads / 2}u; width > 0u; width = width / 2u) {
          if (localId.x < width) {
            partial[localId.x] = partial[localId.x] + partial[localId.x + width];
          }
          workgroupBarrier();
        }
        if (localId.x == 0u) {
          setOutputAtIndex(c, partial[0]);
        }
      }`,
  };
  return backend.runWebGPUProgram(program, [x, dz], 'float32', [{ type: 'int32', data: [count, stride] }]);
}

/** [dx, dalpha] from x, the forward's z, alpha and dz. */
export const eluWithAlphaGradWebgpu: tf.KernelConfig = {
  kernelName: EluWithAlphaGrad,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const { x, z, alpha, dz } = inputs as { x: tf.TensorInfo; z: tf.TensorInfo; alpha: tf.TensorInfo; dz: tf.TensorInfo };
    const gpu = backend as WebGPUBackend;
    return [eluDx(gpu, x, z, alpha, dz), eluDalpha(gpu, x, alpha, dz)];
  },
};

function isPerChannel(alpha: tf.TensorInfo): boolean {
  return alpha.shape.reduce((a, b) => a * b, 1) > 1;
}

function channelsUniform(x: tf.TensorInfo): { type: string; data: number[] }[] {
  return [{ type: 'int32', data: [rowsAndChannels(x).channels] }];
}
