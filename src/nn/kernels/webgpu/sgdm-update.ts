import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { SgdmUpdate, type SgdmUpdateAttrs } from '../names.js';
import { bindingsWgsl, MultiOutputProgram, runMultiOutputProgram } from './multi-output.js';

const threads = 64;
/** Workgroups a dispatch may have in one dimension (WebGPU's guaranteed minimum); larger tensors loop. */
const maxWorkgroups = 65535;

/**
 * One sgdm step of one learnable, w' = w + v' with v' = momentum v - lr (g + l2 w) (sgdm.c on
 * wasm), as one dispatch writing both, where tfjs ops take six. The step's numbers are WGSL
 * constants: a run has one program per learnable's size until the learn rate drops.
 */
class SgdmUpdateProgram extends MultiOutputProgram {
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    private readonly count: number,
    private readonly attrs: SgdmUpdateAttrs,
  ) {
    super();
    this.dispatch = [Math.min(Math.ceil(count / threads), maxWorkgroups), 1, 1];
    this.shaderKey = `trainyard_sgdm_${count}_${attrs.lr}_${attrs.momentum}_${attrs.l2}`;
  }

  wgsl(): string {
    const f = (n: number) => n.toExponential();
    return `
      ${bindingsWgsl(['WOut', 'VOut'], ['W', 'V', 'G'])}
      @compute @workgroup_size(${threads})
      fn main(@builtin(global_invocation_id) id : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
        _ = uniforms.nan;
        for (var i = id.x; i < ${this.count}u; i = i + groups.x * ${threads}u) {
          let w = W[i];
          let v = V[i] * ${f(this.attrs.momentum)} - (G[i] + w * ${f(this.attrs.l2)}) * ${f(this.attrs.lr)};
          VOut[i] = v;
          WOut[i] = w + v;
        }
      }`;
  }
}

/** [w', v'] of one sgdm step from w, the velocity v and the gradient g. */
export const sgdmUpdateWebgpu: tf.KernelConfig = {
  kernelName: SgdmUpdate,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { w, v, g } = inputs as { w: tf.TensorInfo; v: tf.TensorInfo; g: tf.TensorInfo };
    const size = w.shape.reduce((a, b) => a * b, 1);
    const program = new SgdmUpdateProgram(size, attrs as unknown as SgdmUpdateAttrs);
    return runMultiOutputProgram(backend as WebGPUBackend, program, [w, v, g], [w.shape, w.shape]);
  },
};
