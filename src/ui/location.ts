import path from 'node:path';
import { projectRoot } from '../paths.js';

/** The page's sources, and the folder `npm run build:ui` writes and src/api/ui.ts serves. */
export const uiSourceDir = path.join(projectRoot, 'src', 'ui');
export const uiBuildDir = path.join(projectRoot, 'dist', 'ui');
