/**
 * `npm run build:ui`: bundles the web page with esbuild into dist/ui, which src/api/ui.ts serves:
 * app.js (src/ui/page/main.ts and uPlot, minified), app.css (the page's stylesheet with uPlot's),
 * and index.html as it is. `npm start` runs it first, `npm run build` after tsc, and the browser
 * test before it starts the API, so the page served is always built from the sources at hand.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { uiBuildDir, uiSourceDir } from './location.js';

export interface BuiltFile {
  name: string;
  bytes: number;
  gzipBytes: number;
}

export async function buildUi(outDir = uiBuildDir): Promise<BuiltFile[]> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [
      { in: path.join(uiSourceDir, 'page', 'main.ts'), out: 'app' },
      { in: path.join(uiSourceDir, 'page', 'style.css'), out: 'app' },
    ],
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    logLevel: 'warning',
  });
  await copyFile(path.join(uiSourceDir, 'page', 'index.html'), path.join(outDir, 'index.html'));
  return Promise.all(
    ['index.html', 'app.js', 'app.css'].map(async (name) => {
      const body = await readFile(path.join(outDir, name));
      return { name, bytes: body.length, gzipBytes: gzipSync(body).length };
    }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const file of await buildUi()) {
    console.log(`dist/ui/${file.name}  ${(file.bytes / 1024).toFixed(1)} kB  (${(file.gzipBytes / 1024).toFixed(1)} kB gzip)`);
  }
}
