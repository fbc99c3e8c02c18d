/**
 * What is wrong with one expression, and where. The message already names the column (its wording
 * decides where the position reads best); `kind` lets a caller tell problems that depend on the
 * input size ('shape') from those that do not.
 */
export interface ExpressionError {
  kind: 'syntax' | 'limit' | 'name' | 'arity' | 'shape';
  message: string;
  /** 1-based character position in the expression. */
  column: number;
}

export function expressionError(kind: ExpressionError['kind'], message: string, column: number): ExpressionError {
  return { kind, message, column };
}
