import { api, ApiError } from '../api.js';
import type { Dataset, DatasetUploadOptions, FieldProblem } from '../api-types.js';
import { oneLine } from '../dataset-description.js';
import { h } from '../dom.js';
import * as format from '../format.js';
import { IngestionProgress, type IngestionEnd } from '../ingestion-progress.js';
import { href } from '../router.js';

const archiveTypes = '.zip,.tar,.tar.gz,.tgz,application/zip,application/x-tar,application/gzip';

/**
 * Uploading a dataset: an archive dropped on the zone or picked with the file input, the optional
 * conversion fields, then a bar of the bytes sent, then the ingestion's progress from the dataset's
 * events, then how it ended (what it holds, or the sentence that says why it failed).
 */
export class DatasetUpload {
  readonly element: HTMLFormElement;
  private readonly file = h('input', { type: 'file', id: 'dataset-file', accept: archiveTypes, required: true });
  private readonly name = h('input', { type: 'text', id: 'dataset-name', maxlength: '100', autocomplete: 'off', placeholder: 'the file name' });
  private readonly height = h('input', { type: 'number', id: 'dataset-height', min: '1', step: '1', placeholder: 'most common' });
  private readonly width = h('input', { type: 'number', id: 'dataset-width', min: '1', step: '1', placeholder: 'most common' });
  private readonly channels = h('select', { id: 'dataset-channels' }, h('option', { value: '' }, 'most common'), h('option', { value: '1' }, '1 (grey)'), h('option', { value: '3' }, '3 (colour)'));
  private readonly sizeMode = h('select', { id: 'dataset-size-mode' }, h('option', { value: 'resize' }, 'resize'), h('option', { value: 'centercrop' }, 'resize and crop at the centre'));
  private readonly submit = h('button', { type: 'submit' }, 'Upload');
  private readonly chosen = h('p', { class: 'chosen-file', 'aria-live': 'polite' }, 'No archive chosen.');
  private readonly sendBar = h('progress', { max: '1', value: '0', id: 'upload-bar' });
  private readonly sendText = h('span', { class: 'progress-text' });
  private readonly sending = h('div', { class: 'progress-line upload', hidden: true }, h('label', { for: 'upload-bar' }, 'Upload'), this.sendBar, this.sendText);
  private readonly stages = h('div', { class: 'upload-stages' });
  private readonly outcome = h('div', { class: 'upload-outcome' });
  private ingestion: IngestionProgress | null = null;

  constructor(private readonly onChange: () => void) {
    const zone = h(
      'div',
      { class: 'drop-zone' },
      h('p', {}, 'Drop a zip, tar or tar.gz archive of images here (a folder per class), or choose it: '),
      h('label', { for: 'dataset-file', class: 'visually-hidden' }, 'Archive'),
      this.file,
      this.chosen,
    );
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('dragging');
      if (e.dataTransfer?.files.length) this.file.files = e.dataTransfer.files;
      this.showChosen();
    });
    this.file.addEventListener('change', () => this.showChosen());
    const field = (label: string, control: HTMLElement, hint?: string) => h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('p', { class: 'hint' }, hint) : null);
    this.element = h(
      'form',
      { class: 'dataset-upload', novalidate: true, 'aria-label': 'Upload a dataset' },
      zone,
      h(
        'fieldset',
        {},
        h('legend', {}, 'Conversion (optional)'),
        field('Name', this.name),
        field('Height', this.height, 'Every image is converted to this size…'),
        field('Width', this.width, '…and stored as uint8, once.'),
        field('Channels', this.channels),
        field('Size mode', this.sizeMode, 'How an image of another shape is fitted.'),
      ),
      h('p', { class: 'actions' }, this.submit),
      this.stages,
      this.outcome,
    );
    this.stages.append(this.sending);
    this.element.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
  }

  dispose(): void {
    this.ingestion?.close();
  }

  private showChosen(): void {
    const file = this.file.files?.[0];
    this.chosen.textContent = file ? `${file.name} (${format.bytes(file.size)})` : 'No archive chosen.';
  }

  /** The query the fields describe, or what is wrong with them. */
  private options(): DatasetUploadOptions | FieldProblem[] {
    const [height, width] = [this.height.value, this.width.value];
    if ((height === '') !== (width === '')) return [{ path: 'imageSize', message: 'give both the height and the width, or neither' }];
    const name = this.name.value.trim();
    const channels = this.channels.value;
    return {
      ...(name ? { name } : {}),
      ...(height ? { imageSize: `${height},${width}` } : {}),
      ...(channels ? { channels: Number(channels) as 1 | 3 } : {}),
      ...(this.sizeMode.value === 'centercrop' ? { sizeMode: 'centercrop' as const } : {}),
    };
  }

  private async send(): Promise<void> {
    const file = this.file.files?.[0];
    const options = this.options();
    this.outcome.replaceChildren();
    if (!file) return this.fail([{ path: 'file', message: 'choose an archive (zip, tar or tar.gz) first' }]);
    if (Array.isArray(options)) return this.fail(options);
    this.ingestion?.close();
    this.ingestion?.element.remove();
    this.submit.disabled = true;
    this.sending.hidden = false;
    this.sendBar.value = 0;
    this.sendText.textContent = `0 of ${format.bytes(file.size)} sent`;
    let dataset: Dataset;
    try {
      dataset = await api.uploadDataset(file, options, (sent, total) => {
        this.sendBar.max = total;
        this.sendBar.value = sent;
        this.sendText.textContent = `${format.bytes(sent)} of ${format.bytes(total)} sent`;
      });
    } catch (err) {
      this.sendText.textContent = 'Not uploaded.';
      this.submit.disabled = false;
      const problem = err instanceof ApiError ? err.problem : null;
      return this.fail(problem?.errors ?? [{ path: '', message: problem ? `${problem.title}: ${problem.detail}` : (err as Error).message }]);
    }
    this.sendText.textContent = `${format.bytes(dataset.uploadBytes)} sent.`;
    this.submit.disabled = false;
    this.onChange();
    this.ingestion = new IngestionProgress(dataset.id, (end) => this.ended(dataset, end));
    this.stages.append(this.ingestion.element);
  }

  private async ended(dataset: Dataset, end: IngestionEnd): Promise<void> {
    this.onChange();
    const link = h('a', { href: href({ view: 'dataset', id: dataset.id }) }, `Open ${dataset.name}`);
    if (end.type === 'failed') {
      this.outcome.replaceChildren(h('div', { class: 'ending-failed', role: 'alert' }, h('p', {}, h('strong', {}, `${dataset.name} failed`), `: ${end.error}`)));
      return;
    }
    const ready = await api.dataset(dataset.id).catch(() => null);
    this.outcome.replaceChildren(
      h('div', { class: 'ending-completed', role: 'status' }, h('p', {}, h('strong', {}, `${dataset.name} is ready`), ready?.description ? `: ${oneLine(ready.description)}. ` : '. ', link)),
    );
  }

  private fail(problems: FieldProblem[]): void {
    this.outcome.replaceChildren(
      h('div', { class: 'error-summary', role: 'alert' }, h('h3', {}, 'The dataset was not uploaded'), h('ul', {}, ...problems.map((p) => h('li', {}, p.message)))),
    );
  }
}
