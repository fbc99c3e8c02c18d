import { api, ApiError } from '../api.js';
import type { Model, ModelEvaluation } from '../api-types.js';
import { confusionChart } from '../confusion-chart.js';
import { toModelInput, type Grey } from '../digit-image.js';
import { facts, h } from '../dom.js';
import { DrawingPad } from '../drawing-pad.js';
import * as format from '../format.js';
import { LatestOnly } from '../latest-only.js';
import { misclassifiedGallery } from '../misclassified-gallery.js';
import { networkGraph } from '../network-graph.js';
import { ProbabilityBars } from '../probability-bars.js';
import { initialModelPhrase } from '../initial-model.js';
import { href } from '../router.js';
import { setTitle, type View } from '../view.js';

/** A trained model: a pad to draw on with its predictions, live, then its manifest. */
export function modelView(id: string): View {
  setTitle('Model');
  const element = h('div', { class: 'model-view' }, h('p', { class: 'breadcrumb' }, h('a', { href: href({ view: 'jobs' }) }, '← All jobs')), h('h1', { tabindex: '-1' }, 'Model'));
  const status = h('p', { role: 'status' }, 'Loading the model…');
  element.append(status);
  api.model(id).then(
    (model) => {
      status.remove();
      element.querySelector('h1')!.textContent = `Model ${model.id}`;
      setTitle(`Model ${model.id}`);
      const [height, width, channels] = model.inputSize;
      element.append(height === 28 && width === 28 && channels === 1 ? tryIt(model) : tryAnImage(model), ...(model.evaluation ? [evaluationSection(model, model.evaluation)] : []), manifest(model));
    },
    (err: unknown) => {
      status.textContent = err instanceof ApiError && err.status === 404 ? `There is no model ${id}.` : `The model could not be loaded: ${(err as Error).message}`;
    },
  );
  return { element, dispose: () => {} };
}

/** The drawing pad and the bars: every change of the drawing asks for a prediction (one in flight at a time). */
function tryIt(model: Model): HTMLElement {
  const [height, width, channels] = model.inputSize;
  const bars = new ProbabilityBars(model.classes, 'Draw a digit on the pad.');
  const seen = h('canvas', { width: String(width), height: String(height), class: 'model-input', role: 'img', 'aria-label': 'The drawing as the model receives it' });
  const predictions = new LatestOnly(async (drawing: Grey) => {
    const input = toModelInput(drawing, width, height);
    showInput(seen, input);
    if (!input.some((v) => v > 0)) return bars.reset();
    const pixels = Array.from(input, (v) => Math.round(v * 1000) / 1000).flatMap((v) => Array<number>(channels).fill(v));
    try {
      bars.show(await api.predict(model.id, pixels));
    } catch (err) {
      bars.reset(`The prediction failed: ${(err as Error).message}`);
    }
  });
  const pad = new DrawingPad(width, height, (drawing) => predictions.push(drawing));
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  clear.addEventListener('click', () => pad.clear());
  return h(
    'section',
    { class: 'try-it', 'aria-labelledby': 'try-heading' },
    h('h2', { id: 'try-heading' }, 'Draw a digit'),
    h('p', { class: 'hint' }, `White on black, like the ${width}×${height} training images; the drawing is scaled and centred as they were before it is sent.`),
    h(
      'div',
      { class: 'try-columns' },
      h('div', {}, pad.element, h('p', {}, clear)),
      h('figure', { class: 'model-input-figure' }, seen, h('figcaption', {}, 'What the model sees')),
      bars.element,
    ),
  );
}

/**
 * For models of other sizes than the pad's: an image file (PNG or JPEG, any size), sent as it is;
 * the server converts it as the model's dataset's images were, and the bars show every class.
 */
function tryAnImage(model: Model): HTMLElement {
  const [height, width, channels] = model.inputSize;
  const bars = new ProbabilityBars(model.classes, 'Choose an image.');
  const input = h('input', { type: 'file', id: 'predict-image', accept: 'image/png,image/jpeg' });
  const preview = h('canvas', { class: 'image-preview', width: '0', height: '0', role: 'img', 'aria-label': 'The image sent' });
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return bars.reset();
    if (file.type !== 'image/png' && file.type !== 'image/jpeg') return bars.reset(`${file.name} is not a PNG or JPEG image.`);
    bars.reset('Predicting…');
    try {
      const bitmap = await createImageBitmap(file);
      [preview.width, preview.height] = [bitmap.width, bitmap.height];
      preview.getContext('2d')!.drawImage(bitmap, 0, 0);
      bitmap.close();
    } catch {
      // The server says what is wrong with an image the browser cannot show either.
    }
    try {
      bars.show(await api.predictImage(model.id, file, file.type));
    } catch (err) {
      bars.reset(`The prediction failed: ${(err as Error).message}`);
    }
  });
  return h(
    'section',
    { class: 'try-it', 'aria-labelledby': 'try-heading' },
    h('h2', { id: 'try-heading' }, 'Classify an image'),
    h('p', { class: 'hint' }, `A PNG or JPEG of any size: it is ${model.dataset?.sizeMode === 'centercrop' ? 'resized and cropped at the centre' : 'resized'} to ${width}×${height} ${channels === 1 ? 'grey' : 'colour'}, as the training images were.`),
    h(
      'div',
      { class: 'try-columns' },
      h('div', {}, h('label', { for: 'predict-image' }, 'Image file'), h('p', {}, input), preview),
      bars.element,
    ),
  );
}

/** Paints the model's input (grey values in [0, 1]) on a canvas of its size, which CSS enlarges without smoothing. */
function showInput(canvas: HTMLCanvasElement, input: Float32Array): void {
  const image = new ImageData(canvas.width, canvas.height);
  input.forEach((v, i) => {
    image.data.fill(Math.round(255 * v), 4 * i, 4 * i + 3);
    image.data[4 * i + 3] = 255;
  });
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

/** How the model did on the test split at the end of training: the confusion chart and the images it got wrong. */
function evaluationSection(model: Model, evaluation: ModelEvaluation): HTMLElement {
  return h(
    'section',
    { class: 'evaluation', 'aria-labelledby': 'evaluation-heading' },
    h('h2', { id: 'evaluation-heading' }, 'Test evaluation'),
    h('div', { class: 'table-scroll' }, confusionChart(evaluation, model.classes)),
    h('h3', {}, 'Misclassified test images'),
    misclassifiedGallery(model.id, evaluation),
  );
}

function manifest(model: Model): HTMLElement {
  const t = model.training;
  const m = model.metrics;
  return h(
    'section',
    { 'aria-labelledby': 'manifest-heading' },
    h('h2', { id: 'manifest-heading' }, 'Manifest'),
    facts([
      ['Created', format.dateTime(model.createdAt)],
      ['Job', model.jobId ? h('a', { href: href({ view: 'job', id: model.jobId }) }, model.jobId) : ''],
      ['Lineage', model.lineage ? lineage(model.lineage) : ''],
      ['Classes', model.classes.join(', ')],
      ['Input size', model.inputSize.join(' × ')],
      ['Normalization', model.normalization.type],
      ['Test accuracy', format.percent(m.testAccuracy)],
      ['Test loss', format.loss(m.testLoss)],
      ['Validation accuracy', format.percent(m.validationAccuracy)],
      ['Final mini-batch accuracy', format.percent(m.miniBatchAccuracy)],
      ['Dataset', `${t.dataset} (${t.trainImages} training images)`],
      ['Training', `${t.epochs} epochs, ${t.iterations} iterations in ${format.duration(t.trainingSeconds)} (${t.stopReason}); seed ${t.seed}`],
      ['Backend', `${t.backend.name} (${t.backend.device})`],
      ['Files', h('span', {}, ...model.files.flatMap((f, i) => [i > 0 ? ', ' : '', downloadButton(model.id, f)]))],
    ]),
    h('h3', {}, 'Network'),
    networkGraph(model.network),
    h('h3', {}, 'Training options'),
    facts(
      Object.entries(t.options).map(([name, value]) => [name, JSON.stringify(value)]),
      { class: 'facts options' },
    ),
  );
}

/** "Trained from model X (layers ...), on dataset Y, resumed N times", the parent model a link. */
function lineage(l: NonNullable<Model['lineage']>): HTMLElement {
  const parent = l.initialModel;
  const from = parent ? ['Trained from ', ...initialModelPhrase(parent, l.layersFromModel, l.layersNotFromModel), ', '] : ['Trained from scratch, '];
  const resumed = l.resumedCount === 0 ? 'never resumed' : `resumed ${l.resumedCount} time${l.resumedCount === 1 ? '' : 's'} from a checkpoint`;
  return h('span', { class: 'lineage' }, ...from, `on dataset ${l.dataset.name}, ${resumed}`);
}

/** Downloads a model file through the API client, so the key goes with it. */
function downloadButton(modelId: string, file: string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'link-button' }, file);
  button.addEventListener('click', async () => {
    const url = URL.createObjectURL(await api.modelFile(modelId, file));
    const link = h('a', { href: url, download: file });
    link.click();
    URL.revokeObjectURL(url);
  });
  return button;
}
