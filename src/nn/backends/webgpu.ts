import type { AdapterInfo, BackendEntry, StartOptions, Started } from './entry.js';
import { useTfjsBackend } from './entry.js';

/** Names of software rasterisers: far slower than wasm, so auto never trains on them. */
const softwareAdapter = /llvmpipe|lavapipe|softpipe|swiftshader/i;

/** Whether an adapter is a software implementation rather than a GPU. */
export function isSoftwareAdapter(info: AdapterInfo): boolean {
  return info.architecture === 'software' || softwareAdapter.test(`${info.vendor} ${info.description}`);
}

/** Gives Node the browser's navigator.gpu (Node 20 has no navigator; Node 22's has no gpu). */
function exposeGpu(gpu: GPU): void {
  const global = globalThis as { navigator?: object };
  global.navigator ??= {};
  Object.defineProperty(global.navigator, 'gpu', { value: gpu, configurable: true });
}

/** An adapter in one line, for the reason text and the logs. */
export function describeAdapter(info: AdapterInfo): string {
  return [info.vendor, info.architecture, info.description].filter((s) => s !== '').join(' / ') || 'an adapter that names nothing';
}

/**
 * WebGPU through Dawn's Node bindings (the `webgpu` package) and tfjs-backend-webgpu: the GPU path
 * that needs no libtensorflow. On Linux Dawn drives Vulkan: the NVIDIA driver's ICD on a GPU
 * machine, Mesa's lavapipe (llvmpipe) in CI. A hardware adapter comes after native TensorFlow and
 * before wasm in auto; a software adapter only when named (the tests name it).
 */
export const webgpuBackend = {
  name: 'webgpu',
  summary: 'WebGPU (Dawn, tfjs-backend-webgpu) on a hardware adapter; a software one (llvmpipe) only when named',
  auto: { priority: 15 },
  memoryCeilingBytes: null,
  async start(options?: StartOptions): Promise<Started> {
    const tf = await import('@tensorflow/tfjs-core');
    const dawn = await import('webgpu');
    // tfjs-backend-webgpu reads GPUBufferUsage, GPUMapMode… as globals, as in a browser.
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('Dawn found no WebGPU adapter (no Vulkan driver with the features Dawn needs)');
    const { vendor, architecture, description } = adapter.info;
    const info: AdapterInfo = { vendor, architecture, description };
    const software = isSoftwareAdapter(info);
    if (software && options?.auto) {
      throw new Error(`only a software adapter (${describeAdapter(info)}), slower than wasm; name TRAINYARD_BACKEND=webgpu to use it`);
    }
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
      // The defaults are a browser's minimums; tfjs sizes its buffers and dispatches to the adapter's.
      requiredLimits: {
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      },
    });
    // Imported before navigator.gpu exists, so that its own registration (a second adapter) stays
    // out; WebGPUBackend's constructor then asks for navigator.gpu, which Node does not have.
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    exposeGpu(gpu);
    tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info));
    try {
      await useTfjsBackend('webgpu');
    } catch (err) {
      tf.removeBackend('webgpu');
      device.destroy();
      throw err;
    }
    return {
      package: '@tensorflow/tfjs-backend-webgpu',
      device: software ? 'cpu' : 'gpu',
      outcome: `webgpu on ${describeAdapter(info)}${software ? ' (a software adapter, named)' : ''}`,
      adapter: info,
      // Every WGSL program is compiled into a pipeline the first time tfjs-backend-webgpu runs it.
      compilesKernels: true,
    };
  },
  async kernels() {
    return (await import('../kernels/webgpu/index.js')).webgpuKernels;
  },
} as const satisfies BackendEntry<'webgpu'>;
