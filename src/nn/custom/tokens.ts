import { expressionError, type ExpressionError } from './errors.js';

/**
 * The tokens of a layer expression. Columns are 1-based character positions in the source, so an
 * error can point at them.
 */
export const operators = ['<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '^', '(', ')', ',', '?', ':', '<', '>', '!'] as const;
export type Operator = (typeof operators)[number];

export type Token =
  | { type: 'number'; value: number; column: number }
  | { type: 'name'; value: string; column: number }
  | { type: 'string'; value: string; column: number }
  | { type: 'operator'; value: Operator; column: number }
  | { type: 'end'; column: number };

const numberPattern = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/;
const namePattern = /^[A-Za-z_][A-Za-z0-9_]*/;

export function tokenize(source: string): { ok: true; tokens: Token[] } | { ok: false; error: ExpressionError } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const column = i + 1;
    const rest = source.slice(i);
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const number = numberPattern.exec(rest);
    if (number) {
      const value = Number(number[0]);
      if (!Number.isFinite(value)) return fail('syntax', `number ${number[0]} at column ${column} is too large`, column);
      tokens.push({ type: 'number', value, column });
      i += number[0].length;
      continue;
    }
    const name = namePattern.exec(rest);
    if (name) {
      tokens.push({ type: 'name', value: name[0], column });
      i += name[0].length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) return fail('syntax', `string starting at column ${column} has no closing ${ch}`, column);
      tokens.push({ type: 'string', value: source.slice(i + 1, end), column });
      i = end + 1;
      continue;
    }
    const op = operators.find((o) => rest.startsWith(o));
    if (!op) {
      const hint = ch === '=' ? " (use == to compare)" : ch === '&' || ch === '|' ? ` (use ${ch}${ch})` : '';
      return fail('syntax', `unexpected character '${ch}' at column ${column}${hint}`, column);
    }
    tokens.push({ type: 'operator', value: op, column });
    i += op.length;
  }
  tokens.push({ type: 'end', column: source.length + 1 });
  return { ok: true, tokens };
}

function fail(kind: ExpressionError['kind'], message: string, column: number) {
  return { ok: false as const, error: expressionError(kind, message, column) };
}

/** How a token reads in an error message. */
export function showToken(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'the end of the expression';
    case 'string':
      return `"${token.value}"`;
    case 'number':
      return `number ${token.value}`;
    default:
      return `'${token.value}'`;
  }
}
