import { describe, expect, it } from 'vitest';
import { expressionLimits, parseExpression, type Node } from '../../../src/nn/custom/syntax.js';

/** The tree in a compact, parenthesised form, to check precedence and associativity. */
function show(node: Node): string {
  switch (node.kind) {
    case 'number':
      return String(node.value);
    case 'string':
      return JSON.stringify(node.value);
    case 'name':
      return node.name;
    case 'unary':
      return `(${node.op}${show(node.operand)})`;
    case 'binary':
      return `(${show(node.left)} ${node.op} ${show(node.right)})`;
    case 'conditional':
      return `(${show(node.test)} ? ${show(node.then)} : ${show(node.otherwise)})`;
    case 'call':
      return `${node.name}(${node.args.map(show).join(', ')})`;
  }
}

function parsed(source: string): string {
  const result = parseExpression(source);
  if (!result.ok) throw new Error(result.error.message);
  return show(result.tree);
}

function error(source: string) {
  const result = parseExpression(source);
  if (result.ok) throw new Error(`expected ${source} to be rejected`);
  return result.error;
}

describe('parseExpression', () => {
  it('parses the seed ELU forward and backward', () => {
    expect(parsed('x > 0 ? x : alpha * (exp(min(x, 0)) - 1)')).toBe('((x > 0) ? x : (alpha * (exp(min(x, 0)) - 1)))');
    expect(parsed('dz * ((x > 0) + (alpha + z) * (x <= 0))')).toBe('(dz * ((x > 0) + ((alpha + z) * (x <= 0))))');
    expect(parsed('sum(dz * (exp(min(x, 0)) - 1), "spatial+batch")')).toBe('sum((dz * (exp(min(x, 0)) - 1)), "spatial+batch")');
  });

  it('follows the usual precedence; ^ is right-associative and binds tighter than unary minus', () => {
    expect(parsed('1 + 2 * 3 - 4 / 5')).toBe('((1 + (2 * 3)) - (4 / 5))');
    expect(parsed('-2^2')).toBe('(-(2 ^ 2))');
    expect(parsed('2^3^2')).toBe('(2 ^ (3 ^ 2))');
    expect(parsed('2^-x')).toBe('(2 ^ (-x))');
    expect(parsed('a || b && !c == d < e + f')).toBe('(a || (b && ((!c) == (d < (e + f)))))');
    expect(parsed('a ? b : c ? d : e')).toBe('(a ? b : (c ? d : e))');
    expect(parsed('+x')).toBe('x');
    expect(parsed(' 1.5e-3 + .5 + 2. ')).toBe('((0.0015 + 0.5) + 2)');
    expect(parsed("mean(x, 'all')")).toBe('mean(x, "all")');
  });

  it('keeps the column of every node', () => {
    const result = parseExpression('x + alpha');
    if (!result.ok || result.tree.kind !== 'binary') throw new Error('expected a sum');
    expect([result.tree.column, result.tree.left.column, result.tree.right.column]).toEqual([3, 1, 5]);
  });

  it.each([
    ['x +', "expected a number, a name or '(' at column 4, found the end of the expression", 4],
    ['(x + 1', "expected ')' at column 7 to match '(' at column 1, found the end of the expression", 7],
    ['x ? 1', "expected ':' at column 6 to match '?' at column 3, found the end of the expression", 6],
    ['min(x 0)', "expected ',' or ')' in the call of min at column 7, found number 0", 7],
    ['x y', "unexpected 'y' at column 3 after a complete expression", 3],
    ['x # 2', "unexpected character '#' at column 3", 3],
    ['x = 2', "unexpected character '=' at column 3 (use == to compare)", 3],
    ['x & 2', "unexpected character '&' at column 3 (use &&)", 3],
    ['sum(x, "spatial)', 'string starting at column 8 has no closing "', 8],
    ['1e999', 'number 1e999 at column 1 is too large', 1],
    ['', "expected a number, a name or '(' at column 1, found the end of the expression", 1],
  ])('reports the syntax error in %j with its column', (source, message, column) => {
    expect(error(source)).toEqual({ kind: 'syntax', message, column });
  });

  it('limits length, nesting and size', () => {
    const long = error('x'.padEnd(expressionLimits.maxLength + 1, ' '));
    expect(long).toMatchObject({ kind: 'limit', column: 1001 });
    expect(long.message).toBe('too long: 1001 characters, more than the 1000 allowed (from column 1001)');

    const deep = error(`${'('.repeat(40)}x${')'.repeat(40)}`);
    expect(deep).toEqual({ kind: 'limit', message: 'too deep: more than 32 levels of nesting at column 33', column: 33 });
    expect(error(`${'-'.repeat(40)}x`)).toMatchObject({ kind: 'limit', column: 33 });
    expect(parseExpression(`${'('.repeat(30)}x${')'.repeat(30)}`).ok).toBe(true);

    const big = error(Array(200).fill('x').join('+'));
    expect(big).toMatchObject({ kind: 'limit', message: expect.stringMatching(/^too large: more than 256 numbers, names and operations \(at column \d+\)$/) });
  });

  it('never throws, whatever the input (random strings over the language alphabet)', () => {
    const alphabet = ['x', 'alpha', 'z', 'dz', 'exp', 'sum', 'min', '(', ')', ',', '+', '-', '*', '/', '^', '?', ':', '<', '<=', '==', '!', '&&', '||', '1', '0.5', '"spatial"', "'", '"', ' ', '#', '.', 'e', '1e', '\u00e9'];
    let seed = 12345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const source = Array.from({ length: 1 + random(25) }, () => alphabet[random(alphabet.length)]).join('');
      const result = parseExpression(source);
      if (result.ok) accepted++;
      else {
        expect(result.error.column).toBeGreaterThanOrEqual(1);
        expect(result.error.column).toBeLessThanOrEqual(source.length + 1);
        expect(result.error.message).toContain(`column ${result.error.column}`);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
