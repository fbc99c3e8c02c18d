import { expressionError, type ExpressionError } from './errors.js';
import { showToken, tokenize, type Operator, type Token } from './tokens.js';

/**
 * The syntax tree of a layer expression, parsed by recursive descent. No part of it is ever handed
 * to eval, Function or vm: the tree is all there is, and it is evaluated node by node.
 *
 * Precedence, lowest first: `c ? a : b` (right to left), `||`, `&&`, `== !=`, `< <= > >=`, `+ -`,
 * `* /`, unary `- + !`, `^` (right to left, and tighter than unary minus: -2^2 is -4, as in MATLAB),
 * then numbers, strings, names, calls f(a, b) and parentheses.
 */
export type BinaryOperator = '+' | '-' | '*' | '/' | '^' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&&' | '||';

export type Node =
  | { kind: 'number'; value: number; column: number }
  | { kind: 'string'; value: string; column: number }
  | { kind: 'name'; name: string; column: number }
  | { kind: 'unary'; op: '-' | '!'; operand: Node; column: number }
  | { kind: 'binary'; op: BinaryOperator; left: Node; right: Node; column: number }
  | { kind: 'conditional'; test: Node; then: Node; otherwise: Node; column: number }
  | { kind: 'call'; name: string; args: Node[]; column: number };

/** Bounds on what one expression may cost to parse, check and evaluate. */
export const expressionLimits = {
  /** Characters in the source. */
  maxLength: 1000,
  /** Levels of nesting: parentheses, calls, unary operators, branches of ?:, exponents. */
  maxDepth: 32,
  /** Nodes in the tree: numbers, names, operators and calls. */
  maxNodes: 256,
};

export type Parsed = { ok: true; tree: Node } | { ok: false; error: ExpressionError };

/** Parses an expression; every mistake comes back as an error with its column, never as an exception. */
export function parseExpression(source: string, limits = expressionLimits): Parsed {
  if (source.length > limits.maxLength) {
    const message = `too long: ${source.length} characters, more than the ${limits.maxLength} allowed (from column ${limits.maxLength + 1})`;
    return { ok: false, error: expressionError('limit', message, limits.maxLength + 1) };
  }
  const tokens = tokenize(source);
  if (!tokens.ok) return tokens;
  try {
    return { ok: true, tree: new Parser(tokens.tokens, limits).parseAll() };
  } catch (err) {
    if (err instanceof ParseFailure) return { ok: false, error: err.error };
    throw err;
  }
}

class ParseFailure extends Error {
  constructor(readonly error: ExpressionError) {
    super(error.message);
  }
}

const binaryLevels: readonly (readonly BinaryOperator[])[] = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/']];

class Parser {
  private position = 0;
  private depth = 0;
  private nodes = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly limits: typeof expressionLimits,
  ) {}

  parseAll(): Node {
    const tree = this.conditional();
    const next = this.peek();
    if (next.type !== 'end') this.fail('syntax', `unexpected ${showToken(next)} at column ${next.column} after a complete expression`, next.column);
    return tree;
  }

  private conditional(): Node {
    const test = this.binary(0);
    const question = this.take('?');
    if (!question) return test;
    const then = this.nested(question.column, () => this.conditional());
    this.expect(':', `'?' at column ${question.column}`);
    const otherwise = this.nested(question.column, () => this.conditional());
    return this.node({ kind: 'conditional', test, then, otherwise, column: question.column });
  }

  /** Left-associative binary operators, one precedence level at a time. */
  private binary(level: number): Node {
    if (level === binaryLevels.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const op = this.takeAny(binaryLevels[level]!);
      if (!op) return left;
      const right = this.binary(level + 1);
      left = this.node({ kind: 'binary', op: op.value as BinaryOperator, left, right, column: op.column });
    }
  }

  private unary(): Node {
    const op = this.takeAny(['-', '!', '+']);
    if (!op) return this.power();
    const operand = this.nested(op.column, () => this.unary());
    if (op.value === '+') return operand;
    return this.node({ kind: 'unary', op: op.value as '-' | '!', operand, column: op.column });
  }

  private power(): Node {
    const base = this.primary();
    const op = this.take('^');
    if (!op) return base;
    const exponent = this.nested(op.column, () => this.unary());
    return this.node({ kind: 'binary', op: '^', left: base, right: exponent, column: op.column });
  }

  private primary(): Node {
    const token = this.next();
    switch (token.type) {
      case 'number':
        return this.node({ kind: 'number', value: token.value, column: token.column });
      case 'string':
        return this.node({ kind: 'string', value: token.value, column: token.column });
      case 'name': {
        const open = this.take('(');
        if (!open) return this.node({ kind: 'name', name: token.value, column: token.column });
        const args = this.nested(open.column, () => this.arguments(token));
        return this.node({ kind: 'call', name: token.value, args, column: token.column });
      }
      case 'operator':
        if (token.value === '(') {
          const inner = this.nested(token.column, () => this.conditional());
          this.expect(')', `'(' at column ${token.column}`);
          return inner;
        }
    }
    return this.fail('syntax', `expected a number, a name or '(' at column ${token.column}, found ${showToken(token)}`, token.column);
  }

  private arguments(callee: Token & { type: 'name' }): Node[] {
    const args: Node[] = [];
    if (this.take(')')) return args;
    for (;;) {
      args.push(this.conditional());
      if (this.take(')')) return args;
      const next = this.peek();
      if (!this.take(',')) {
        this.fail('syntax', `expected ',' or ')' in the call of ${callee.value} at column ${next.column}, found ${showToken(next)}`, next.column);
      }
    }
  }

  private nested<T>(column: number, parse: () => T): T {
    if (++this.depth > this.limits.maxDepth) {
      this.fail('limit', `too deep: more than ${this.limits.maxDepth} levels of nesting at column ${column}`, column);
    }
    const result = parse();
    this.depth--;
    return result;
  }

  private node(node: Node): Node {
    if (++this.nodes > this.limits.maxNodes) {
      this.fail('limit', `too large: more than ${this.limits.maxNodes} numbers, names and operations (at column ${node.column})`, node.column);
    }
    return node;
  }

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.position++;
    return token;
  }

  private take(op: Operator): (Token & { type: 'operator' }) | null {
    const token = this.peek();
    if (token.type !== 'operator' || token.value !== op) return null;
    this.position++;
    return token;
  }

  private takeAny(ops: readonly Operator[]): (Token & { type: 'operator' }) | null {
    const token = this.peek();
    return token.type === 'operator' && ops.includes(token.value) ? this.take(token.value) : null;
  }

  private expect(op: Operator, opener: string): void {
    const token = this.peek();
    if (!this.take(op)) this.fail('syntax', `expected '${op}' at column ${token.column} to match ${opener}, found ${showToken(token)}`, token.column);
  }

  private fail(kind: ExpressionError['kind'], message: string, column: number): never {
    throw new ParseFailure(expressionError(kind, message, column));
  }
}
