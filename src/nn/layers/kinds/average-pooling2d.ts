import { poolingKind } from './pooling.js';

export const averagePooling2d = poolingKind('averagePooling2d', 'avgpool');
