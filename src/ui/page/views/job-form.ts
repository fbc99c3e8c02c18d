import { api, ApiError } from '../api.js';
import type { DatasetDescription, FieldProblem, JobRequest } from '../api-types.js';
import { imageSize } from '../dataset-description.js';
import { h } from '../dom.js';
import { fieldFor } from '../form-fields.js';
import { href } from '../router.js';

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

interface Field {
  /** The request path the field fills in; server problems under it are shown beside it. */
  path: string;
  control: Control;
  errors: HTMLUListElement;
}

/** A network as examples/seed-elu.json lays it out, one layer a line, for the form to start from. */
function networkText(network: unknown): string {
  const layers = (network as { layers?: unknown[] }).layers;
  if (!Array.isArray(layers)) return JSON.stringify(network, null, 2);
  return `{\n  "layers": [\n${layers.map((l) => `    ${oneLine(l)}`).join(',\n')}\n  ]\n}`;
}

/**
 * The seed network fitted to a dataset: its input layer takes the dataset's image size and its
 * last fully connected layer has an output per class. Other networks are the user's to fit.
 */
function fitted(network: unknown, description: DatasetDescription | undefined): unknown {
  const layers = (network as { layers?: unknown[] }).layers;
  if (!description || !Array.isArray(layers)) return network;
  const lastDense = layers.map((l) => (l as { type?: string }).type).lastIndexOf('fullyConnected');
  return {
    ...(network as object),
    layers: layers.map((layer, i) => {
      const type = (layer as { type?: string }).type;
      if (type === 'imageInput') return { ...(layer as object), inputSize: description.size };
      if (i === lastDense) return { ...(layer as object), outputSize: description.classes.length };
      return layer;
    }),
  };
}

/** JSON on one line with a space after each comma and colon: { "type": "elu", "numChannels": 20 }. */
function oneLine(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(oneLine).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `{ ${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`).join(', ')} }`;
  return JSON.stringify(value);
}

function createControls() {
  return {
    name: h('input', { type: 'text', maxlength: '100', autocomplete: 'off' }),
    dataset: h('select', {}, h('option', { value: 'digits' }, 'digits (built in: MNIST, 28×28 grey)')),
    trainImages: h('input', { type: 'number', min: '1', step: '1', placeholder: 'all' }),
    solver: h('select', {}, ...['sgdm', 'adam', 'rmsprop'].map((s) => h('option', { value: s }, s))),
    maxEpochs: h('input', { type: 'number', min: '1', step: '1', placeholder: '30' }),
    miniBatchSize: h('input', { type: 'number', min: '1', step: '1', placeholder: '128' }),
    initialLearnRate: h('input', { type: 'number', min: '0', step: 'any', placeholder: 'solver default' }),
    validate: h('input', { type: 'checkbox' }),
    validationFrequency: h('input', { type: 'number', min: '1', step: '1', placeholder: '50' }),
    otherOptions: h('textarea', { rows: '3', spellcheck: 'false', class: 'code' }, '{}'),
    network: h('textarea', { rows: '12', spellcheck: 'false', class: 'code', disabled: true }, 'Loading the seed network…'),
  };
}

/**
 * The form that submits a job: a name, the dataset, the usual training options as fields (the rest
 * as JSON), and the network as JSON, prefilled with the seed network. The server validates
 * everything; each problem it reports is shown next to the field its path names, and all of them
 * in a summary at the top that links to those fields.
 */
export class JobForm {
  readonly element: HTMLFormElement;
  private readonly fields: Field[] = [];
  private readonly summary = h('div', { class: 'error-summary', tabindex: '-1', hidden: true });
  private readonly submit = h('button', { type: 'submit' }, 'Submit job');
  private readonly status = h('span', { class: 'form-status', role: 'status' });
  private readonly controls = createControls();
  private seed: unknown = null;
  /** The tenant's ready datasets by id, as the dataset list offers them. */
  private readonly datasets = new Map<string, DatasetDescription>();
  /** The network text the form last filled in: replaced when the dataset changes, unless the user edited it. */
  private filled = '';

  constructor(private readonly preselected?: string) {
    const c = this.controls;
    const reset = h('button', { type: 'button', class: 'secondary' }, 'Reset to the seed network');
    reset.addEventListener('click', () => this.fillSeed());
    c.dataset.addEventListener('change', () => {
      if (c.network.value === this.filled) this.fillSeed();
    });

    this.element = h(
      'form',
      { class: 'job-form', novalidate: true, 'aria-labelledby': 'submit-heading' },
      this.summary,
      h(
        'div',
        { class: 'form-columns' },
        h(
          'div',
          {},
          this.field('name', 'Name', c.name, 'Optional; shown in the job list.'),
          h('fieldset', {}, h('legend', {}, 'Data'), this.field('dataset', 'Dataset', c.dataset, 'The built-in digits or one of your ready datasets; the seed network is fitted to it.'), this.field('dataset.trainImages', 'Training images', c.trainImages, 'Train on the first N images of the training split.')),
          h(
            'fieldset',
            {},
            h('legend', {}, 'Training options'),
            this.field('options.solver', 'Solver', c.solver),
            this.field('options.maxEpochs', 'Max epochs', c.maxEpochs),
            this.field('options.miniBatchSize', 'Mini-batch size', c.miniBatchSize),
            this.field('options.initialLearnRate', 'Initial learn rate', c.initialLearnRate),
            this.field('options.validationData', 'Validate on the held-out split', c.validate),
            this.field('options.validationFrequency', 'Validation frequency (iterations)', c.validationFrequency),
            this.field('options', 'Other options (JSON)', c.otherOptions, 'MATLAB trainingOptions names, e.g. {"shuffle": "every-epoch", "verboseFrequency": 10}.'),
          ),
        ),
        h('div', {}, this.field('network', 'Network (JSON)', c.network, 'A MATLAB-style layer list; see the README for every layer type.'), reset),
      ),
      h('p', { class: 'actions' }, this.submit, ' ', this.status),
    );
    this.element.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
    void this.loadDatasets().then(() => this.loadSeed());
  }

  /** The seed network, fitted to the dataset chosen. */
  private fillSeed(): void {
    if (this.seed === null) return;
    this.filled = networkText(fitted(this.seed, this.datasets.get(this.controls.dataset.value)));
    this.controls.network.value = this.filled;
  }

  private async loadSeed(): Promise<void> {
    try {
      this.seed = await api.seedNetwork();
      this.fillSeed();
    } catch (err) {
      this.controls.network.value = '';
      this.status.textContent = `The seed network could not be loaded (${(err as Error).message}); paste a network.`;
    }
    this.controls.network.disabled = false;
  }

  /** Offers the tenant's ready datasets beside the digits (the API refuses the others), choosing the one the URL named. */
  private async loadDatasets(): Promise<void> {
    try {
      const { datasets } = await api.listDatasets();
      for (const d of datasets) {
        if (d.status !== 'ready' || !d.description) continue;
        this.datasets.set(d.id, d.description);
        this.controls.dataset.append(h('option', { value: d.id }, `${d.name} (${d.description.classes.length} classes, ${imageSize(d.description)})`));
      }
    } catch (err) {
      this.status.textContent = `Your datasets could not be listed (${(err as Error).message}); the digits are still there.`;
    }
    if (this.preselected && this.datasets.has(this.preselected)) this.controls.dataset.value = this.preselected;
  }

  /** A labelled control with its hint and the list its problems go into, registered under `path`. */
  private field(path: string, label: string, control: Control, hint?: string): HTMLElement {
    const id = `job-${path.replace(/\W+/g, '-')}`;
    control.id = id;
    control.name = path;
    const errors = h('ul', { class: 'field-errors', id: `${id}-errors` });
    const described = [hint ? `${id}-hint` : '', errors.id].filter(Boolean).join(' ');
    control.setAttribute('aria-describedby', described);
    this.fields.push({ path, control, errors });
    const labelElement = h('label', { for: id }, label);
    const hintElement = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
    const checkbox = control instanceof HTMLInputElement && control.type === 'checkbox';
    return h('div', { class: checkbox ? 'field checkbox' : 'field' }, ...(checkbox ? [control, labelElement] : [labelElement, control]), hintElement, errors);
  }

  /** The request the fields describe, or the problems that stop it being made (bad JSON, not a number). */
  private request(): JobRequest | FieldProblem[] {
    const c = this.controls;
    const problems: FieldProblem[] = [];
    const json = (path: string, text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch (err) {
        problems.push({ path, message: `${path}: not valid JSON (${(err as Error).message})` });
        return undefined;
      }
    };
    const number = (path: string, input: HTMLInputElement): number | undefined => {
      if (input.validity.badInput) problems.push({ path, message: `${path}: enter a number` });
      return input.value === '' ? undefined : input.valueAsNumber;
    };
    const network = json('network', c.network.value);
    const other = json('options', c.otherOptions.value.trim() || '{}');
    if (other !== undefined && (typeof other !== 'object' || other === null || Array.isArray(other))) {
      problems.push({ path: 'options', message: 'options: other options must be a JSON object, such as {"shuffle": "never"}' });
    }
    const options: Record<string, unknown> = { ...(other as Record<string, unknown>), solver: c.solver.value };
    const numbers = { maxEpochs: c.maxEpochs, miniBatchSize: c.miniBatchSize, initialLearnRate: c.initialLearnRate, validationFrequency: c.validationFrequency };
    for (const [key, input] of Object.entries(numbers)) {
      const value = number(`options.${key}`, input);
      if (value !== undefined) options[key] = value;
    }
    if (c.validate.checked) options['validationData'] = 'test';
    const trainImages = number('dataset.trainImages', c.trainImages);
    if (problems.length > 0) return problems;
    const name = c.name.value.trim();
    return {
      // Whatever parsed: the API answers a network that is not an object with a problem naming it.
      network: network as JobRequest['network'],
      dataset: trainImages === undefined ? c.dataset.value : { id: c.dataset.value, trainImages },
      options,
      ...(name ? { name } : {}),
    };
  }

  private async send(): Promise<void> {
    this.showProblems([]);
    const request = this.request();
    if (Array.isArray(request)) return this.showProblems(request);
    this.submit.disabled = true;
    this.status.textContent = 'Submitting…';
    try {
      const job = await api.submitJob(request);
      this.status.textContent = '';
      location.hash = href({ view: 'job', id: job.id });
    } catch (err) {
      this.status.textContent = '';
      const problem = err instanceof ApiError ? err.problem : null;
      this.showProblems(problem?.errors ?? [{ path: '', message: problem ? `${problem.title}: ${problem.detail}` : (err as Error).message }]);
    } finally {
      this.submit.disabled = false;
    }
  }

  /** Shows each problem beside its field and all of them in the summary (which takes the focus); none clears them. */
  private showProblems(problems: FieldProblem[]): void {
    for (const f of this.fields) {
      f.errors.replaceChildren();
      f.control.removeAttribute('aria-invalid');
    }
    this.summary.replaceChildren();
    this.summary.hidden = problems.length === 0;
    if (problems.length === 0) return;
    const paths = this.fields.map((f) => f.path);
    const items = problems.map((p) => {
      const field = this.fields.find((f) => f.path === fieldFor(p.path, paths));
      if (!field) return h('li', {}, p.message);
      field.errors.append(h('li', {}, p.message));
      field.control.setAttribute('aria-invalid', 'true');
      const link = h('a', { href: `#${field.control.id}` }, p.message);
      link.addEventListener('click', (e) => {
        e.preventDefault();
        field.control.focus();
      });
      return h('li', {}, link);
    });
    const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
    this.summary.append(h('h3', {}, `The job was not submitted: ${count}`), h('ul', {}, ...items));
    this.summary.focus();
  }
}
