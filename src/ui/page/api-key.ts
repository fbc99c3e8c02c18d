import { h } from './dom.js';

/**
 * The API key the page sends, kept for this browser tab only (sessionStorage). When the server
 * answers 401 the page asks for a key in a dialog; one prompt serves every request waiting on it.
 */
const storageKey = 'trainyard.apiKey';
let asking: Promise<string | null> | null = null;

export function currentKey(): string | null {
  return sessionStorage.getItem(storageKey);
}

export function forgetKey(): void {
  sessionStorage.removeItem(storageKey);
}

/** Asks the user for a key; null when they cancel. */
export function askForKey(reason: string): Promise<string | null> {
  asking ??= prompt(reason).finally(() => {
    asking = null;
  });
  return asking;
}

function prompt(reason: string): Promise<string | null> {
  const input = h('input', { type: 'password', id: 'api-key-input', autocomplete: 'off', required: true, spellcheck: 'false' });
  const dialog = h(
    'dialog',
    { class: 'api-key-dialog', 'aria-labelledby': 'api-key-title' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'api-key-title' }, 'API key'),
      h('p', { role: 'status' }, reason),
      h('label', { for: 'api-key-input' }, 'Key'),
      input,
      h('div', { class: 'actions' }, h('button', { type: 'submit', value: 'save' }, 'Use this key'), h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Cancel')),
    ),
  );
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const key = dialog.returnValue === 'save' ? input.value.trim() : '';
      dialog.remove();
      if (key) sessionStorage.setItem(storageKey, key);
      resolve(key || null);
    });
  });
}
