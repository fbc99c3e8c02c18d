/**
 * trainyard's layer classes for plain TensorFlow.js: `import 'trainyard/tfjs-layers'` beside
 * `@tensorflow/tfjs`, and `tf.loadLayersModel` reads a model.json the service saved.
 *
 * These are the engine's own classes, not copies: the build (build.ts) bundles src/nn/layers with
 * every import of @tensorflow/tfjs-core and @tensorflow/tfjs-layers pointed at @tensorflow/tfjs,
 * which re-exports both, so the classes extend the user's tfjs and register with its serialization
 * registry. The wasm kernels stay out: without them each layer runs on plain tfjs ops.
 */
export { CustomLayer, Elu, ImageInput, Pad2D, customLayerClasses } from '../nn/layers/index.js';

