/** Prints the WebGPU adapter Dawn finds here (vendor, architecture, description), as one JSON line. */
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter?.info;
console.log(JSON.stringify(info ? { vendor: info.vendor, architecture: info.architecture, description: info.description, device: info.device } : { adapter: null }));
