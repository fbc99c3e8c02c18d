/**
 * The layer classes trainyard registers with tfjs serialization ("trainyard>Name"): importing this
 * module is what lets a saved model load again. A tfjs user outside trainyard registers classes of
 * the same names (see model.json's userDefinedMetadata).
 */
export { Elu } from './elu.js';
export { ImageInput } from './image-input.js';
export { Pad2D } from './pad2d.js';
export { CustomLayer } from '../custom/layer.js';

export const customLayerClasses = ['trainyard>Elu', 'trainyard>ImageInput', 'trainyard>Pad2D', 'trainyard>Custom'] as const;
