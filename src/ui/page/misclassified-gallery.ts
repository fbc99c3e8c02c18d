import { api } from './api.js';
import type { ModelEvaluation } from './api-types.js';
import { h } from './dom.js';
import * as format from './format.js';
import { tileCanvases } from './sprite-tiles.js';

/** The misclassified test images the model keeps, each on a canvas cut from the sprite, captioned with its true and predicted class. */
export function misclassifiedGallery(modelId: string, evaluation: ModelEvaluation): HTMLElement {
  const { examples, tileSize, sprite } = evaluation.misclassified;
  const status = h('p', { role: 'status', class: 'hint' }, sprite ? 'Loading the images…' : 'None: every test image was classified correctly.');
  const list = h('ul', { class: 'misclassified' });
  const element = h('div', {}, status, list);
  if (!sprite) return element;
  api.misclassifiedImages(modelId).then(
    async (blob) => {
      const canvases = await tileCanvases(blob, tileSize, examples.map((e) => ({ x: e.x, y: e.y, label: `test image ${e.index}: a ${e.trueClass} taken for ${e.predictedClass}` })));
      examples.forEach((e, i) => list.append(h('li', {}, h('figure', {}, canvases[i]!, h('figcaption', {}, `${e.trueClass} → ${e.predictedClass} (${format.percent(e.probability, 0)})`)))));
      status.textContent = `Up to 3 per true class: true → predicted (probability).`;
    },
    (err: unknown) => {
      status.textContent = `The images could not be loaded: ${(err as Error).message}`;
    },
  );
  return element;
}
