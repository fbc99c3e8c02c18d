import { api } from './api.js';
import type { ModelEvaluation } from './api-types.js';
import { h } from './dom.js';
import * as format from './format.js';

/**
 * The misclassified test images the model keeps, each on a canvas cut from the sprite (fetched
 * with the key; decoded with createImageBitmap, since the page's CSP admits no blob: images),
 * captioned with its true and predicted class.
 */
export function misclassifiedGallery(modelId: string, evaluation: ModelEvaluation): HTMLElement {
  const { examples, tileSize, sprite } = evaluation.misclassified;
  const status = h('p', { role: 'status', class: 'hint' }, sprite ? 'Loading the images…' : 'None: every test image was classified correctly.');
  const list = h('ul', { class: 'misclassified' });
  const element = h('div', {}, status, list);
  if (!sprite) return element;
  const [height, width] = tileSize;
  api.misclassifiedImages(modelId).then(
    async (blob) => {
      const bitmap = await createImageBitmap(blob);
      for (const e of examples) {
        const canvas = h('canvas', { width: String(width), height: String(height), role: 'img', 'aria-label': `test image ${e.index}: a ${e.trueClass} taken for ${e.predictedClass}` });
        canvas.getContext('2d')!.drawImage(bitmap, e.x, e.y, width, height, 0, 0, width, height);
        list.append(h('li', {}, h('figure', {}, canvas, h('figcaption', {}, `${e.trueClass} → ${e.predictedClass} (${format.percent(e.probability, 0)})`))));
      }
      bitmap.close();
      status.textContent = `Up to 3 per true class: true → predicted (probability).`;
    },
    (err: unknown) => {
      status.textContent = `The images could not be loaded: ${(err as Error).message}`;
    },
  );
  return element;
}
