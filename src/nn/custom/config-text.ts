/**
 * tfjs-layers rewrites every string in a layer's config when it saves a model (snake_case, and
 * lower case throughout) and again when it loads one (camelCase, dropping underscores), so an
 * expression such as "x * my_alpha" or a learnable named "Alpha" would not survive the trip. Text
 * stored in a config is therefore escaped so that it has neither capitals nor underscores, which
 * both rewrites leave alone; everything else stays readable in model.json.
 *   "~" -> "~~", "_" -> "~-", a capital -> "~" + its small letter, a character outside printable
 *   ASCII -> "~#" + its code in 4 hex digits.
 */
/** The rule in a sentence that both rewrites leave alone, stored beside the text for a reader of model.json. */
export const configTextEncoding =
  'escaped json: ~ then a small letter is that capital letter, ~- is an underscore, ~~ is ~, ~# then 4 hex digits is the character of that code';

export function escapeConfigText(text: string): string {
  return text.replace(/[~_A-Z]|[^\x20-\x7e]/g, (ch) => {
    if (ch === '~') return '~~';
    if (ch === '_') return '~-';
    if (/[A-Z]/.test(ch)) return `~${ch.toLowerCase()}`;
    return `~#${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export function unescapeConfigText(text: string): string {
  return text.replace(/~(~|-|[a-z]|#[0-9a-f]{4})/g, (_, code: string) => {
    if (code === '~') return '~';
    if (code === '-') return '_';
    if (code.startsWith('#')) return String.fromCharCode(parseInt(code.slice(1), 16));
    return code.toUpperCase();
  });
}
