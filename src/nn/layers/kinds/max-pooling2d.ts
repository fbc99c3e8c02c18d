import { poolingKind } from './pooling.js';

export const maxPooling2d = poolingKind('maxPooling2d', 'maxpool');
