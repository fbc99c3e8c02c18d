import { describe, expect, it } from 'vitest';
import { describeAdapter, isSoftwareAdapter } from '../../../src/nn/backends/webgpu.js';

describe('the webgpu entry', () => {
  it('tells software adapters (never chosen by auto) from GPUs', () => {
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: '', description: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' })).toBe(false);
    expect(describeAdapter({ vendor: 'nvidia', architecture: '', description: 'NVIDIA H100' })).toBe('nvidia / NVIDIA H100');
  });
});
