import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json, found from this file whether it runs from src/ or dist/src/. */
export const projectRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

/** A module next to the running one: `.ts` under tsx, `.js` once compiled. */
export function siblingModule(from: string, relative: string): string {
  const extension = path.extname(fileURLToPath(from));
  return fileURLToPath(new URL(relative.replace(/\.ts$/, extension), from));
}
