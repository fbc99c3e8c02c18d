import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/**
 * One WGSL dispatch that writes several tensors. tfjs-backend-webgpu's programs (WebGPUProgram)
 * have one output, so a kernel with more (the ELU gradient: dX and dAlpha; batch norm: y, mean and
 * variance) would cost a dispatch and a read of its inputs per output. This builds the pipeline
 * from WGSL of our own and records it through the backend's recordAndSubmit, as tfjs records its
 * programs: it joins the open compute pass and the batched submission, is timed by tf.profile under
 * its class name, and the tensors it touches are kept alive until the GPU is done with them.
 *
 * The bindings recordAndSubmit makes are [output, ...inputs, uniforms]; passing the other outputs
 * first among the inputs gives the layout the WGSL must declare (bindingsWgsl writes it):
 *   @binding(0 .. k-1): the k outputs, var<storage, read_write> array<f32>
 *   @binding(k + i): input i, var<storage, read> array<f32>
 *   @binding(k + inputs): tfjs's uniforms (NaN, Infinity, shapes), var<uniform>; the shader must use
 *     it (`_ = uniforms.nan;`) for 'auto' layout to keep the binding. Sizes are WGSL constants.
 *
 * Relies on tfjs-backend-webgpu 4.22's internals (recordAndSubmit, uploadToGPU, pipelineCache);
 * test/nn/backends/webgpu.test.ts checks every kernel built on it against the cpu backend.
 */
// recordAndSubmit also reads a program's `size`, `pixelsOpType` and `outputComponent`: a subclass
// must not have fields of those names.
export abstract class MultiOutputProgram {
  /** The workgroups to dispatch. */
  abstract readonly dispatch: [number, number, number];
  /** Names the pipeline in the backend's cache: the same key must always give the same WGSL. */
  abstract readonly shaderKey: string;
  abstract wgsl(): string;
  /** Set before recording: the compiled pipeline. */
  pipeline?: GPUComputePipeline;
}

/** What this module uses of WebGPUBackend beyond its public declarations. */
interface RecordingBackend {
  device: GPUDevice;
  pipelineCache: Record<string, GPUComputePipeline | Promise<GPUComputePipeline>>;
  uploadToGPU(dataId: object): void;
  recordAndSubmit(program: MultiOutputProgram, output: tf.TensorInfo, inputs: tf.TensorInfo[]): void;
}

/** The WGSL declarations of the bindings, for the outputs and inputs named in order. */
export function bindingsWgsl(outputs: string[], inputs: string[]): string {
  return [
    ...outputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read_write> ${name} : array<f32>;`),
    ...inputs.map((name, i) => `@group(0) @binding(${outputs.length + i}) var<storage, read> ${name} : array<f32>;`),
    'struct Uniforms { nan : f32 }',
    `@group(0) @binding(${outputs.length + inputs.length}) var<uniform> uniforms : Uniforms;`,
  ].join('\n');
}

/** Runs `program` over float32 `inputs` once, returning its float32 outputs of the given shapes. */
export function runMultiOutputProgram(backend: WebGPUBackend, program: MultiOutputProgram, inputs: tf.TensorInfo[], shapes: number[][]): tf.TensorInfo[] {
  const gpu = backend as unknown as RecordingBackend;
  const outputs = shapes.map((shape) => backend.makeTensorInfo(shape, 'float32'));
  for (const t of [...outputs, ...inputs]) gpu.uploadToGPU(t.dataId);
  let pipeline = gpu.pipelineCache[program.shaderKey];
  if (!pipeline) {
    const module = gpu.device.createShaderModule({ code: program.wgsl(), label: program.shaderKey });
    pipeline = gpu.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: program.shaderKey });
    gpu.pipelineCache[program.shaderKey] = pipeline;
  }
  // Only tfjs's parallel compilation (WEBGPU_ENGINE_COMPILE_ONLY, off in trainyard) caches promises.
  if (pipeline instanceof Promise) throw new Error(`${program.shaderKey}: the pipeline is still compiling`);
  program.pipeline = pipeline;
  gpu.recordAndSubmit(program, outputs[0]!, [...outputs.slice(1), ...inputs]);
  return outputs;
}

/** Threads of a workgroup that reduces one channel (a power of two). */
export const reduceThreads = 256;

/**
 * WGSL: a function that sums `value` over the workgroup's reduceThreads invocations (in a fixed
 * order, so every run gives the same sum) and returns it to all of them. Needs `local`, the
 * invocation's local_invocation_index, passed in.
 */
export const workgroupSumWgsl = `
  var<workgroup> partial : array<f32, ${reduceThreads}>;
  fn workgroupSum(value : f32, local : u32) -> f32 {
    partial[local] = value;
    workgroupBarrier();
    for (var width = ${reduceThreads / 2}u; width > 0u; width = width / 2u) {
      if (local < width) {
        partial[local] = partial[local] + partial[local + width];
      }
      workgroupBarrier();
    }
    let sum = partial[0];
    workgroupBarrier();
    return sum;
  }`;
