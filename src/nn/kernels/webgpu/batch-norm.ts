import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { BatchNormTraining, BatchNormTrainingGrad, type BatchNormTrainingAttrs } from '../names.js';
import { rowsAndChannels } from '../rows.js';
import { bindingsWgsl, MultiOutputProgram, reduceThreads, runMultiOutputProgram, workgroupSumWgsl } from './multi-output.js';

/**
 * Training-mode batch normalisation (src/nn/ops/batch-norm.ts) in WGSL, each direction one
 * dispatch in place of tfjs's two dozen (moments, batchNorm and their gradients: about 40% of a
 * seed iteration's kernel time on lavapipe). One workgroup per channel walks that channel's elements
 * (element k of channel c at k * channels + c), reducing in workgroup memory in a fixed order.
 */
abstract class ChannelProgram extends MultiOutputProgram {
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    protected readonly rows: number,
    protected readonly channels: number,
    protected readonly epsilon: number,
  ) {
    super();
    this.dispatch = [channels, 1, 1];
    this.shaderKey = `trainyard_${this.constructor.name}_${rows}_${channels}_${epsilon}`;
  }

  /** Constants and the loop over channel c's elements with `body` (it sees i, the element's index). */
  protected header(outputs: string[], inputs: string[]): string {
    return `
      ${bindingsWgsl(outputs, inputs)}
      const rows = ${this.rows}u;
      const channels = ${this.channels}u;
      const count = ${this.rows}.0;
      const epsilon = ${this.epsilon.toExponential()};
      ${workgroupSumWgsl}`;
  }

  static loop(body: string): string {
    return `
        for (var k = local; k < rows; k = k + ${reduceThreads}u) {
          let i = k * channels + c;
          ${body}
        }`;
  }
}

/**
 * [y, mean, variance]: the mean first, then the variance as the mean squared deviation (as
 * tf.moments, so the cpu backend's figures are met), then y; three passes over the channel.
 */
class BatchNormForwardProgram extends ChannelProgram {
  wgsl(): string {
    return `${this.header(['Y', 'Mean', 'Variance'], ['X', 'Gamma', 'Beta'])}
      @compute @workgroup_size(${reduceThreads})
      fn main(@builtin(workgroup_id) group : vec3<u32>, @builtin(local_invocation_index) local : u32) {
        _ = uniforms.nan;
        let c = group.x;
        var sum = 0.0;
        ${ChannelProgram.loop('sum = sum + X[i];')}
        let mean = workgroupSum(sum, local) / count;
        var squares = 0.0;
        ${ChannelProgram.loop('let d = X[i] - mean; squares = squares + d * d;')}
        let variance = workgroupSum(squares, local) / count;
        let scale = Gamma[c] * inverseSqrt(variance + epsilon);
        let shift = Beta[c];
        ${ChannelProgram.loop('Y[i] = (X[i] - mean) * scale + shift;')}
        if (local == 0u) {
          Mean[c] = mean;
          Variance[c] = variance;
        }
      }`;
  }
}

/**
 * [dx, dgamma, dbeta]: dbeta = sum dy, dgamma = sum dy * xhat over the channel, then
 * dx = gamma / sigma * (dy - dbeta / n - xhat * dgamma / n); two passes over the channel.
 */
class BatchNormBackwardProgram extends ChannelProgram {
  wgsl(): string {
    return `${this.header(['DX', 'DGamma', 'DBeta'], ['X', 'DY', 'Gamma', 'Mean', 'Variance'])}
      @compute @workgroup_size(${reduceThreads})
      fn main(@builtin(workgroup_id) group : vec3<u32>, @builtin(local_invocation_index) local : u32) {
        _ = uniforms.nan;
        let c = group.x;
        let mean = Mean[c];
        let inverseSigma = inverseSqrt(Variance[c] + epsilon);
        var dySum = 0.0;
        var dyXhatSum = 0.0;
        ${ChannelProgram.loop('let dy = DY[i]; dySum = dySum + dy; dyXhatSum = dyXhatSum + dy * (X[i] - mean) * inverseSigma;')}
        let dbeta = workgroupSum(dySum, local);
        let dgamma = workgroupSum(dyXhatSum, local);
        let scale = Gamma[c] * inverseSigma;
        ${ChannelProgram.loop('DX[i] = scale * (DY[i] - dbeta / count - (X[i] - mean) * inverseSigma * dgamma / count);')}
        if (local == 0u) {
          DGamma[c] = dgamma;
          DBeta[c] = dbeta;
        }
      }`;
  }
}

export const batchNormTrainingWebgpu: tf.KernelConfig = {
  kernelName: BatchNormTraining,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    const { rows, channels } = rowsAndChannels(x);
    return runMultiOutputProgram(backend as WebGPUBackend, new BatchNormForwardProgram(rows, channels, epsilon), [x, gamma, beta], [x.shape, [channels], [channels]]);
  },
};

export const batchNormTrainingGradWebgpu: tf.KernelConfig = {
  kernelName: BatchNormTrainingGrad,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy, gamma, mean, variance } = inputs as Record<'x' | 'dy' | 'gamma' | 'mean' | 'variance', tf.TensorInfo>;
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    const { rows, channels } = rowsAndChannels(x);
    const program = new BatchNormBackwardProgram(rows, channels, epsilon);
    return runMultiOutputProgram(backend as WebGPUBackend, program, [x, dy, gamma, mean, variance], [x.shape, [channels], [channels]]);
  },
};
