import { h } from '../dom.js';
import { setTitle, type View } from '../view.js';
import { JobForm } from './job-form.js';
import { JobList } from './job-list.js';

/** The home view: the live job list, then the form to submit a job (on `dataset` when one is named). */
export function jobsView(dataset?: string): View {
  setTitle('Jobs');
  const announcer = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const list = new JobList((text) => (announcer.textContent = text));
  const form = new JobForm(dataset);
  const element = h(
    'div',
    {},
    h('h1', { tabindex: '-1' }, 'Jobs'),
    announcer,
    list.element,
    h('section', { 'aria-labelledby': 'submit-heading' }, h('h2', { id: 'submit-heading' }, 'Submit a job'), form.element),
  );
  return { element, dispose: () => list.dispose() };
}
