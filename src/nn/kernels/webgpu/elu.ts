import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { EluWithAlpha, EluWithAlphaGrad } from '../names.js';
import { rowsAndChannels } from '../rows.js';
import { bindingsWgsl, MultiOutputProgram, reduceThreads, runMultiOutputProgram, workgroupSumWgsl } from './multi-output.js';

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

/**
 * The ELU gradient in one dispatch and one pass over the data: one workgroup per alpha element (per
 * channel, or the one shared alpha) walks that alpha's elements, writes dx = dz where x > 0,
 * dz * (alpha + z) elsewhere, and sums dalpha = dz * (exp(min(x, 0)) - 1) in registers, then in
 * workgroup memory, in a fixed order (the same result every run).
 */
class EluGradProgram extends MultiOutputProgram {
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  /** @param count elements per alpha element; @param stride between them (channels, or 1 when shared). */
  constructor(
    private readonly count: number,
    private readonly stride: number,
    alphas: number,
  ) {
    super();
    this.dispatch = [alphas, 1, 1];
    this.shaderKey = `trainyard_elu_grad_${count}_${stride}`;
  }

  wgsl(): string {
    return `
      ${bindingsWgsl(['DX', 'DAlpha'], ['X', 'Z', 'Alpha', 'DZ'])}
      const count = ${this.count}u;
      const stride = ${this.stride}u;
      ${workgroupSumWgsl}

      @compute @workgroup_size(${reduceThreads})
      fn main(@builtin(workgroup_id) group : vec3<u32>, @builtin(local_invocation_index) local : u32) {
        _ = uniforms.nan;
        let c = group.x;
        let alpha = Alpha[c];
        var sum = 0.0;
        for (var k = local; k < count; k = k + ${reduceThreads}u) {
          let i = k * stride + c;
          let x = X[i];
          let g = DZ[i];
          if (x > 0.0) {
            DX[i] = g;
          } else {
            DX[i] = g * (alpha + Z[i]);
            sum = sum + g * (exp(x) - 1.0);
          }
        }
        let dalpha = workgroupSum(sum, local);
        if (local == 0u) {
          DAlpha[c] = dalpha;
        }
      }`;
  }
}

/** [dx, dalpha] from x, the forward's z, alpha and dz. */
export const eluWithAlphaGradWebgpu: tf.KernelConfig = {
  kernelName: EluWithAlphaGrad,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const { x, z, alpha, dz } = inputs as { x: tf.TensorInfo; z: tf.TensorInfo; alpha: tf.TensorInfo; dz: tf.TensorInfo };
    const { rows, channels } = rowsAndChannels(x);
    // Per channel: element k of channel c is at k * channels + c; shared: every element, in order.
    const program = isPerChannel(alpha) ? new EluGradProgram(rows, channels, channels) : new EluGradProgram(rows * channels, 1, 1);
    return runMultiOutputProgram(backend as WebGPUBackend, program, [x, z, alpha, dz], [x.shape, alpha.shape]);
  },
};

function isPerChannel(alpha: tf.TensorInfo): boolean {
  return alpha.shape.reduce((a, b) => a * b, 1) > 1;
}

function channelsUniform(x: tf.TensorInfo): { type: string; data: number[] }[] {
  return [{ type: 'int32', data: [rowsAndChannels(x).channels] }];
}
