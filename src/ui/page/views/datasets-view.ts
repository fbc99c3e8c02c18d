import { h } from '../dom.js';
import { setTitle, type View } from '../view.js';
import { DatasetList } from './dataset-list.js';
import { DatasetUpload } from './dataset-upload.js';

/** The datasets: the form that uploads one (with its progress), then the list. */
export function datasetsView(): View {
  setTitle('Datasets');
  const list = new DatasetList();
  const upload = new DatasetUpload(() => void list.refresh());
  const element = h(
    'div',
    {},
    h('h1', { tabindex: '-1' }, 'Datasets'),
    h('section', { 'aria-labelledby': 'upload-heading' }, h('h2', { id: 'upload-heading' }, 'Upload a dataset'), upload.element),
    h('section', { 'aria-labelledby': 'list-heading' }, h('h2', { id: 'list-heading' }, 'Your datasets'), list.element),
  );
  return {
    element,
    dispose() {
      list.dispose();
      upload.dispose();
    },
  };
}
