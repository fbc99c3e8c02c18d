import { build, type Plugin } from 'esbuild';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
export const tfjsLayersOutfile = fileURLToPath(new URL('../../dist/tfjs-layers.js', import.meta.url));

/**
 * Points every tfjs package the engine imports at `@tensorflow/tfjs` (which re-exports tfjs-core
 * and tfjs-layers), so the bundled classes extend the user's own tfjs, and leaves trainyard's wasm
 * kernels out: plain tfjs has none of them registered, so the ops' choice `hasKernel` is always
 * false there and every layer runs on plain tfjs ops.
 */
const plainTfjs: Plugin = {
  name: 'plain-tfjs',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs(-core|-layers)?$/ }, () => ({ path: '@tensorflow/tfjs', external: true }));
    b.onResolve({ filter: /\/kernels\/index\.js$/ }, () => ({ path: 'no-trainyard-kernels', namespace: 'plain-tfjs' }));
    b.onLoad({ filter: /.*/, namespace: 'plain-tfjs' }, () => ({ contents: 'export const hasKernel = () => false;', loader: 'js' }));
  },
};

/** Writes the `trainyard/tfjs-layers` module: one ES module that imports only `@tensorflow/tfjs`. */
export async function buildTfjsLayers(outfile = tfjsLayersOutfile): Promise<void> {
  await build({ entryPoints: [entry], outfile, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', logLevel: 'warning', plugins: [plainTfjs] });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildTfjsLayers();
