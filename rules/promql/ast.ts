/**
 * Vigie's own typed PromQL AST: the subset the rules engine evaluates, as a
 * discriminated union on `kind`. Built from the official lezer grammar by `parse.ts`.
 */

/** Label matcher operators. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One label matcher; `re` is the anchored regex for `=~` / `!~`. */
export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
  readonly re?: RegExp;
}

/** Arithmetic operators. */
export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
/** Comparison operators. */
export type CompareOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
/** Set operators. */
export type SetOp = 'and' | 'or' | 'unless';
/** Every binary operator. */
export type BinaryOp = ArithOp | CompareOp | SetOp;

/** Aggregation operators. */
export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'topk'
  | 'bottomk'
  | 'stddev'
  | 'stdvar'
  | 'quantile'
  | 'count_values';

/**
 * The `@` modifier: a fixed time (epoch ms), or the start / end of the query (for an
 * instant query both are the evaluation time).
 */
export type AtModifier = number | 'start' | 'end';

/** Result type of an expression, as in Prometheus. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** Vector matching of a binary expression (`on`/`ignoring`, `group_left`/`group_right`). */
export interface VectorMatching {
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** true for `on(...)`, false for `ignoring(...)` (or no modifier). */
  readonly on: boolean;
  readonly labels: readonly string[];
  /** Extra labels copied from the "one" side with group_left/group_right. */
  readonly include: readonly string[];
  /** `fill_left(v)` / `fill(v)`: value standing in for a missing left-hand series. */
  readonly fillLeft?: number;
  /** `fill_right(v)` / `fill(v)`: value standing in for a missing right-hand series. */
  readonly fillRight?: number;
}

/** A number literal. */
export interface NumberLiteral {
  readonly kind: 'number';
  readonly value: number;
}
/** A string literal (only as a function argument). */
export interface StringLiteral {
  readonly kind: 'string';
  readonly value: string;
}
/** `metric{matchers} offset d @ t`. */
export interface VectorSelector {
  readonly kind: 'vectorSelector';
  readonly name: string | undefined;
  readonly matchers: readonly LabelMatcher[];
  readonly offsetMs: number;
  readonly at?: AtModifier;
  /**
   * Prometheus 3's extended selectors (feature `promql-extended-range-selectors`):
   * `anchored` ranges also use the last sample before the window; `smoothed` ones and
   * instant vectors interpolate at the window edges.
   */
  readonly ext?: 'anchored' | 'smoothed';
}
/** `selector[range]`. */
export interface MatrixSelector {
  readonly kind: 'matrixSelector';
  readonly selector: VectorSelector;
  readonly rangeMs: number;
}
/** `expr[range:step] offset d @ t`: `expr` evaluated every step (aligned to multiples of it) over the range. */
export interface Subquery {
  readonly kind: 'subquery';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** Undefined: the default resolution (1 min, Prometheus' default evaluation interval). */
  readonly stepMs: number | undefined;
  readonly offsetMs: number;
  readonly at?: AtModifier;
}
/** A function call. */
export interface Call {
  readonly kind: 'call';
  readonly func: string;
  readonly args: readonly Expr[];
}
/** An aggregation, with `by`/`without` grouping and an optional parameter (topk). */
export interface Aggregate {
  readonly kind: 'aggregate';
  readonly op: AggregateOp;
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly param: Expr | undefined;
  readonly expr: Expr;
}
/** A binary operation. */
export interface Binary {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly returnBool: boolean;
  readonly matching: VectorMatching;
}
/** Unary minus or plus. */
export interface Unary {
  readonly kind: 'unary';
  readonly op: '-' | '+';
  readonly expr: Expr;
}
/** `( expr )`. */
export interface Paren {
  readonly kind: 'paren';
  readonly expr: Expr;
}

/** Any expression. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | Subquery
  | Call
  | Aggregate
  | Binary
  | Unary
  | Paren;
