/**
 * PromQL text → Vigie AST. Parsing uses the official grammar
 * (`@prometheus-io/lezer-promql`); this module walks the lezer tree, rejects what the
 * engine does not evaluate, type-checks as Prometheus does, and reports errors with the
 * position and the offending text.
 */
import { parser } from '@prometheus-io/lezer-promql';
import { DecodeError } from '../../core/errors.ts';
import { tryParseDuration } from '../duration.ts';
import { VIGIE_FUNCTIONS, type VigieArgType } from './vigie.ts';
import type {
  AggregateOp,
  AtModifier,
  BinaryOp,
  Expr,
  LabelMatcher,
  MatchOp,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.ts';

/** A lezer syntax node (type taken from the parser so no extra dependency is needed). */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** A PromQL expression that cannot be parsed or is outside the supported subset. */
export class PromQLError extends DecodeError {
  /** 0-based offset of the offending text in the expression. */
  readonly position: number;
  /** The offending text (empty at end of input). */
  readonly offending: string;
  /**
   * Set when the expression is valid PromQL that Vigie does not evaluate: the construct
   * (e.g. `subquery`, `function info()`), so rule checks can name it.
   */
  readonly unsupported: string | undefined;
  constructor(expr: string, from: number, to: number, what: string, unsupported?: string) {
    const offending = expr.slice(from, Math.max(to, from));
    const near = offending === '' ? (from >= expr.length ? 'at end of input' : `before "${expr.slice(from, from + 12)}"`) : `at "${offending}"`;
    super('promql', `PromQL parse error at position ${from + 1} ${near}: ${what} (in \`${expr}\`)`);
    this.position = from;
    this.offending = offending;
    this.unsupported = unsupported;
  }
}

/**
 * Argument and return types of a supported function; `minArgs` for optional trailing
 * args. `scalar|vector` (Vigie extensions only) accepts either.
 */
export interface FunctionSignature {
  readonly args: readonly (ValueType | VigieArgType)[];
  readonly minArgs?: number;
  /** The last argument may repeat (label_join, sort_by_label). */
  readonly variadic?: boolean;
  readonly returns: ValueType;
}

const M2V: FunctionSignature = { args: ['matrix'], returns: 'vector' };
const V2V: FunctionSignature = { args: ['vector'], returns: 'vector' };

/** Every function the engine evaluates. */
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = {
  rate: M2V,
  increase: M2V,
  irate: M2V,
  delta: M2V,
  idelta: M2V,
  deriv: M2V,
  changes: M2V,
  resets: M2V,
  avg_over_time: M2V,
  min_over_time: M2V,
  max_over_time: M2V,
  sum_over_time: M2V,
  count_over_time: M2V,
  last_over_time: M2V,
  absent_over_time: M2V,
  present_over_time: M2V,
  stddev_over_time: M2V,
  stdvar_over_time: M2V,
  mad_over_time: M2V,
  first_over_time: M2V,
  ts_of_first_over_time: M2V,
  ts_of_last_over_time: M2V,
  ts_of_min_over_time: M2V,
  ts_of_max_over_time: M2V,
  quantile_over_time: { args: ['scalar', 'matrix'], returns: 'vector' },
  integral: { args: ['matrix', 'scalar'], minArgs: 1, returns: 'vector' },
  double_exponential_smoothing: { args: ['matrix', 'scalar', 'scalar'], returns: 'vector' },
  info: { args: ['vector', 'vector'], minArgs: 1, returns: 'vector' },
  start: { args: [], returns: 'scalar' },
  end: { args: [], returns: 'scalar' },
  range: { args: [], returns: 'scalar' },
  step: { args: [], returns: 'scalar' },
  min_of: { args: ['scalar', 'scalar'], returns: 'scalar' },
  max_of: { args: ['scalar', 'scalar'], returns: 'scalar' },
  predict_linear: { args: ['matrix', 'scalar'], returns: 'vector' },
  histogram_quantile: { args: ['scalar', 'vector'], returns: 'vector' },
  histogram_fraction: { args: ['scalar', 'scalar', 'vector'], returns: 'vector' },
  histogram_quantiles: { args: ['vector', 'string', 'scalar', 'scalar'], minArgs: 3, variadic: true, returns: 'vector' },
  abs: V2V,
  ceil: V2V,
  floor: V2V,
  sqrt: V2V,
  exp: V2V,
  ln: V2V,
  log2: V2V,
  log10: V2V,
  sgn: V2V,
  timestamp: V2V,
  round: { args: ['vector', 'scalar'], minArgs: 1, returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], returns: 'vector' },
  clamp: { args: ['vector', 'scalar', 'scalar'], returns: 'vector' },
  time: { args: [], returns: 'scalar' },
  vector: { args: ['scalar'], returns: 'vector' },
  scalar: { args: ['vector'], returns: 'scalar' },
  absent: V2V,
  sin: V2V, cos: V2V, tan: V2V, asin: V2V, acos: V2V, atan: V2V,
  sinh: V2V, cosh: V2V, tanh: V2V, asinh: V2V, acosh: V2V, atanh: V2V,
  deg: V2V, rad: V2V,
  pi: { args: [], returns: 'scalar' },
  year: { args: ['vector'], minArgs: 0, returns: 'vector' },
  month: { args: ['vector'], minArgs: 0, returns: 'vector' },
  day_of_month: { args: ['vector'], minArgs: 0, returns: 'vector' },
  day_of_week: { args: ['vector'], minArgs: 0, returns: 'vector' },
  day_of_year: { args: ['vector'], minArgs: 0, returns: 'vector' },
  days_in_month: { args: ['vector'], minArgs: 0, returns: 'vector' },
  hour: { args: ['vector'], minArgs: 0, returns: 'vector' },
  minute: { args: ['vector'], minArgs: 0, returns: 'vector' },
  sort: V2V,
  sort_desc: V2V,
  sort_by_label: { args: ['vector', 'string'], minArgs: 1, variadic: true, returns: 'vector' },
  sort_by_label_desc: { args: ['vector', 'string'], minArgs: 1, variadic: true, returns: 'vector' },
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], returns: 'vector' },
  label_join: { args: ['vector', 'string', 'string', 'string'], minArgs: 3, variadic: true, returns: 'vector' },
  // Vigie's own extensions (rules/promql/vigie.ts); not Prometheus functions.
  ...VIGIE_FUNCTIONS,
};

/** Functions Prometheus allows on `anchored` / `smoothed` range selectors. */
const ANCHORED_SAFE = ['changes', 'delta', 'increase', 'rate', 'resets'];
const SMOOTHED_SAFE = ['delta', 'increase', 'rate'];

const FUNCTION_KEYS: ReadonlyMap<string, string> = new Map(Object.keys(FUNCTIONS).map((k) => [k, k]));

const AGGREGATES: ReadonlySet<string> = new Set<AggregateOp>(['sum', 'avg', 'min', 'max', 'count', 'group', 'topk', 'bottomk', 'stddev', 'stdvar', 'quantile', 'count_values']);

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^',
  Atan2: 'atan2',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=',
  And: 'and', Or: 'or', Unless: 'unless',
};
const COMPARISONS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['and', 'or', 'unless']);

/** True for comparison operators. */
export function isComparison(op: BinaryOp): boolean {
  return COMPARISONS.has(op);
}
/** True for and/or/unless. */
export function isSetOp(op: BinaryOp): boolean {
  return SET_OPS.has(op);
}

/** Parses a PromQL expression; throws {@link PromQLError}. */
export function parsePromQL(expr: string): Expr {
  const { masked, names } = maskVigieCalls(expr);
  const tree = parser.parse(masked);
  let firstError: SyntaxNode | undefined;
  tree.iterate({
    enter(n) {
      if (firstError) return false;
      if (n.type.isError) {
        firstError = n.node;
        return false;
      }
      return undefined;
    },
  });
  if (firstError) {
    const from = firstError.from;
    // An empty error node marks where the parser gave up; show the token it stopped at.
    const to = firstError.to > from ? firstError.to : nextTokenEnd(expr, from);
    // Valid Prometheus 3 syntax the grammar of this release lacks: named, not a syntax error.
    const construct = grammarGap(expr);
    if (construct) throw new PromQLError(expr, from, to, `${construct} is not supported by the Vigie engine`, construct);
    // The grammar knows PromQL's function names only: name an unknown call as such.
    const call = unknownCallAt(expr, from);
    if (call !== undefined) {
      throw new PromQLError(expr, call.from, call.from + call.name.length, `unknown function "${call.name}" (supported: ${Object.keys(FUNCTIONS).join(', ')})`);
    }
    throw new PromQLError(expr, from, to, from >= expr.trim().length ? 'unexpected end of input' : 'unexpected token');
  }
  const top = tree.topNode.firstChild;
  if (!top) throw new PromQLError(expr, 0, 0, 'empty expression');
  const w = new Walker(expr, names);
  const out = w.expr(top);
  const t = typeOf(out);
  if (t === 'matrix' || t === 'string') {
    // Valid as a Prometheus query, but a rule must yield an instant vector or scalar.
    w.unsupported(top, `${t === 'matrix' ? 'range vector' : 'string'} as the result`, `expression must evaluate to an instant vector or scalar, got ${t === 'matrix' ? 'a range vector' : 'a string'}`);
  }
  return out;
}

/**
 * The official grammar only knows the function names of its own release, so a call to a
 * Vigie extension (`vigie_…(`) or to a function newer than the grammar is parsed as a
 * call to `abs` padded with spaces to the same length (positions in error messages stay
 * right); `names` maps the call's offset back to the real name, which `FUNCTIONS` then
 * accepts or refuses by name. String literals are left alone.
 */
function maskVigieCalls(src: string): { masked: string; names: Map<number, string> } {
  const names = new Map<number, string>();
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' && c !== '`' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    // `1.` (a number with a trailing dot, valid PromQL) trips the lezer grammar: the dot
    // becomes a space, which keeps the same value and positions.
    if (/[0-9]/.test(c) && (i === 0 || !/[A-Za-z0-9_:.]/.test(src[i - 1]!))) {
      const m = /^[0-9]+\.(?![0-9eE])/.exec(src.slice(i, i + 40));
      if (m) {
        out += m[0].slice(0, -1) + ' ';
        i += m[0].length;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c) && (i === 0 || !/[A-Za-z0-9_:.]/.test(src[i - 1]!))) {
      const m = /^[A-Za-z_][A-Za-z0-9_:]*/.exec(src.slice(i, i + 80))!;
      const call = /^\s*\(/.test(src.slice(i + m[0].length, i + m[0].length + 40));
      if (call && m[0].length >= 3 && (m[0].startsWith('vigie_') || !grammarKnowsCall(m[0]))) {
        names.set(i, m[0]);
        out += 'abs' + ' '.repeat(m[0].length - 3);
      } else out += m[0];
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return { masked: out, names };
}

const grammarCalls = new Map<string, boolean>();
const CONTEXT_KEYWORDS: ReadonlySet<string> = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'fill', 'fill_left', 'fill_right',
  'and', 'or', 'unless', 'atan2', 'start', 'end', 'step', 'range', 'smoothed', 'anchored',
  'sum', 'avg', 'min', 'max', 'count', 'group', 'topk', 'bottomk', 'stddev', 'stdvar', 'quantile', 'count_values', 'limitk', 'limit_ratio',
]);

/** Whether the lezer grammar parses `name(x)` (a function, aggregation or keyword it knows). */
function grammarKnowsCall(name: string): boolean {
  let known = grammarCalls.get(name);
  if (known === undefined) {
    known = true;
    parser.parse(`${name}(x)`).iterate({
      enter(n) {
        if (n.type.isError) known = false;
        return known ? undefined : false;
      },
    });
    // `foo(x)` for an unknown identifier is an error; keywords such as `by(` or `on(` parse only in context.
    if (CONTEXT_KEYWORDS.has(name.toLowerCase())) known = true;
    grammarCalls.set(name, known);
  }
  return known;
}

/**
 * Prometheus 3 syntax that the lezer grammar (0.315) cannot parse, recognised in text
 * that failed to parse: unquoted UTF-8 names, and min_of()/max_of() or upper-case
 * step()/range() inside durations.
 */
function grammarGap(expr: string): string | undefined {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  if (/[^\x00-\x7f]|[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_.]/.test(code)) return 'unquoted UTF-8 names';
  if (/\b(min_of|max_of)\s*\(|\b(step|range)\s*\(\s*\)/i.test(code)) return 'duration expression with step()/range()/min_of()/max_of()';
  return undefined;
}

function nextTokenEnd(expr: string, from: number): number {
  const m = /^\s*\S+/.exec(expr.slice(from));
  return m ? from + m[0].length : from;
}

/** Static result type of an expression. */
export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vectorSelector':
    case 'aggregate':
      return 'vector';
    case 'matrixSelector':
    case 'subquery':
      return 'matrix';
    case 'call':
      return FUNCTIONS[e.func]?.returns ?? 'vector';
    case 'binary':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary':
    case 'paren':
      return typeOf(e.expr);
  }
}

function children(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

function parseNumber(text: string): number | undefined {
  const t = text.toLowerCase();
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]\s*/, '');
  if (body === 'inf') return sign * Infinity;
  if (body === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return sign * Number(body);
  const ms = tryParseDuration(body);
  return ms === undefined ? undefined : (sign * ms) / 1000;
}

/** Unquotes a PromQL string literal ("…" or '…' with Go escapes, or `raw`). */
function unquote(text: string): string {
  const q = text[0];
  const body = text.slice(1, -1);
  if (q === '`') return body;
  return body.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/g, (_m, e: string) => {
    switch (e[0]) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'u': return String.fromCharCode(parseInt(e.slice(1), 16));
      case 'x': return String.fromCharCode(parseInt(e.slice(1), 16));
      default:
        return /^[0-7]{3}$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : e;
    }
  });
}

class Walker {
  private readonly src: string;
  private readonly vigieNames: ReadonlyMap<number, string>;
  constructor(
    src: string,
    vigieNames: ReadonlyMap<number, string> = new Map(),
  ) {
    this.src = src;
    this.vigieNames = vigieNames;
  }

  text(n: SyntaxNode): string {
    return this.src.slice(n.from, n.to);
  }

  fail(n: SyntaxNode, what: string): never {
    throw new PromQLError(this.src, n.from, n.to, what);
  }

  /** Refuses valid PromQL that the engine does not evaluate, naming the construct. */
  unsupported(n: SyntaxNode, construct: string, what?: string): never {
    throw new PromQLError(this.src, n.from, n.to, what ?? `${construct} is not supported by the Vigie engine`, construct);
  }

  expr(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'ParenExpr': {
        const inner = n.firstChild;
        if (!inner) this.fail(n, 'empty parentheses');
        return { kind: 'paren', expr: this.expr(inner) };
      }
      case 'UnaryExpr': {
        const [op, inner] = children(n);
        if (!op || !inner) this.fail(n, 'incomplete unary expression');
        const e = this.expr(inner);
        const t = typeOf(e);
        if (t !== 'scalar' && t !== 'vector') this.fail(n, `unary ${this.text(op)} needs a scalar or instant vector, got ${t}`);
        return { kind: 'unary', op: this.text(op) === '-' ? '-' : '+', expr: e };
      }
      case 'NumberDurationLiteral': {
        const v = parseNumber(this.text(n));
        if (v === undefined) this.fail(n, 'invalid number');
        return { kind: 'number', value: v };
      }
      case 'StringLiteral':
        return { kind: 'string', value: unquote(this.text(n)) };
      case 'VectorSelector':
        return this.vectorSelector(n, 0);
      case 'MatrixSelector':
        return this.matrixSelector(n, 0);
      case 'OffsetExpr':
        return this.offsetExpr(n);
      case 'FunctionCall':
        return this.call(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'BinaryExpr':
        return this.binary(n);
      case 'SubqueryExpr':
        return this.subquery(n);
      case 'AnchoredExpr':
      case 'SmoothedExpr': {
        const target = n.firstChild;
        if (!target) return this.fail(n, 'incomplete selector');
        const ext = n.name === 'AnchoredExpr' ? 'anchored' : 'smoothed';
        const e = this.expr(target);
        if (e.kind === 'vectorSelector' && ext === 'smoothed' && !e.ext) return { ...e, ext };
        if (e.kind === 'matrixSelector' && !e.selector.ext) return { ...e, selector: { ...e.selector, ext } };
        return this.fail(n, `${ext} must follow a ${ext === 'smoothed' ? 'vector or ' : ''}range selector`);
      }
      case 'StepInvariantExpr':
        return this.atExpr(n);
      default:
        return this.unsupported(n, `expression ${n.name}`);
    }
  }

  /** A duration (literal or constant arithmetic of durations and numbers, in seconds) in ms. */
  duration(n: SyntaxNode | undefined, parent: SyntaxNode): number {
    if (!n) return this.fail(parent, 'missing duration');
    const seconds = this.durationSeconds(n);
    if (!Number.isFinite(seconds)) this.fail(n, `duration must be finite, got ${seconds} s`);
    return Math.round(seconds * 1000);
  }

  durationSeconds(n: SyntaxNode): number {
    if (n.name === 'OffsetDurationExpr' || n.name === 'DurationExpr') {
      const kids = children(n);
      if (kids.length === 1) return this.durationSeconds(kids[0]!);
      if (kids.length === 2 && kids[0]!.name === 'UnaryOp') return (this.text(kids[0]!) === '-' ? -1 : 1) * this.durationSeconds(kids[1]!);
      if (kids.length === 3) {
        const a = this.durationSeconds(kids[0]!);
        const b = this.durationSeconds(kids[2]!);
        switch (kids[1]!.name) {
          case 'Add': return a + b;
          case 'Sub': return a - b;
          case 'Mul': return a * b;
          case 'Div':
            if (b === 0) this.fail(n, 'division by zero in duration expression');
            return a / b;
          case 'Mod':
            if (b === 0) this.fail(n, 'modulo by zero in duration expression');
            return a % b;
          case 'Pow': return Math.pow(a, b);
        }
      }
      return this.unsupported(n, 'duration expression with step()/range()/min_of()/max_of()', `duration expression "${this.text(n)}" uses step(), range(), min_of() or max_of(), which the Vigie engine does not evaluate`);
    }
    if (n.name === 'NumberDurationLiteralInDurationContext' || n.name === 'NumberDurationLiteral') {
      const text = this.text(n);
      const ms = tryParseDuration(text);
      if (ms !== undefined) return ms / 1000;
      const v = parseNumber(text);
      if (v !== undefined) return v;
      return this.fail(n, 'invalid duration: expected e.g. 30s, 5m, 1h30m');
    }
    return this.unsupported(n, 'duration expression with step()/range()/min_of()/max_of()', `duration expression "${this.text(n)}" is not supported by the Vigie engine`);
  }

  /** Applies `offset` / `@` to a selector or subquery (each at most once). */
  modify(n: SyntaxNode, e: Expr, offsetMs: number | undefined, at: AtModifier | undefined): Expr {
    const check = (cur: { offsetMs: number; at?: AtModifier }) => {
      if (offsetMs !== undefined && cur.offsetMs !== 0) this.fail(n, 'offset may not be set multiple times');
      if (at !== undefined && cur.at !== undefined) this.fail(n, '@ <timestamp> may not be set multiple times');
    };
    const apply = <T extends { offsetMs: number; at?: AtModifier }>(cur: T): T => {
      check(cur);
      return { ...cur, offsetMs: offsetMs ?? cur.offsetMs, ...(at !== undefined ? { at } : {}) };
    };
    if (e.kind === 'vectorSelector' || e.kind === 'subquery') return apply(e);
    // The grammar lets `-x @ t` attach the modifier to the unary expression; it belongs to `x`.
    if (e.kind === 'unary') return { ...e, expr: this.modify(n, e.expr, offsetMs, at) };
    if (e.kind === 'matrixSelector') return { ...e, selector: apply(e.selector) };
    return this.fail(n, `${offsetMs !== undefined ? 'offset' : '@ modifier'} must be preceded by an instant vector selector, a range vector selector or a subquery`);
  }

  /** The time of a StepInvariantExpr's `@`. */
  atValue(n: SyntaxNode): AtModifier {
    const kids = children(n);
    const value = kids[kids.length - 1];
    if (!value || kids.length !== 3) return this.fail(n, 'incomplete @ modifier');
    if (value.name === 'AtModifierPreprocessors') return value.firstChild?.name === 'AtStart' ? 'start' : 'end';
    const v = parseNumber(this.text(value));
    if (v === undefined || !Number.isFinite(v)) return this.fail(value, 'invalid @ timestamp');
    return Math.round(v * 1000);
  }

  atExpr(n: SyntaxNode): Expr {
    const target = n.firstChild;
    if (!target) return this.fail(n, 'incomplete @ modifier');
    const at = this.atValue(n);
    const e = this.expr(target);
    if (target.name === 'BinaryExpr') return this.withRightmost(target, e, (leaf) => this.modify(target, leaf, undefined, at));
    return this.modify(target, e, undefined, at);
  }

  subquery(n: SyntaxNode): Expr {
    const kids = children(n);
    const inner = kids[0];
    const durs = kids.filter((k) => k.name === 'DurationExpr');
    if (!inner || durs.length < 1) return this.fail(n, 'incomplete subquery');
    const expr = this.expr(inner);
    if (typeOf(expr) !== 'vector') this.fail(inner, `subquery is only allowed on instant vector, got ${describeType(typeOf(expr))}`);
    const rangeMs = this.duration(durs[0], n);
    if (rangeMs <= 0) this.fail(durs[0]!, 'subquery range must be positive');
    const stepMs = durs[1] ? this.duration(durs[1], n) : undefined;
    if (stepMs !== undefined && stepMs <= 0) this.fail(durs[1]!, 'subquery step must be positive');
    return { kind: 'subquery', expr, rangeMs, stepMs, offsetMs: 0 };
  }

  /** info()'s label selector (it may match the empty label set; `@` and offset allowed). */
  infoSelector(c: SyntaxNode): Expr {
    if (c.name === 'VectorSelector') return this.vectorSelector(c, 0, true);
    const inner = c.firstChild;
    if ((c.name === 'StepInvariantExpr' || c.name === 'OffsetExpr') && inner?.name === 'VectorSelector') {
      const kids = children(c);
      const sel = this.vectorSelector(inner, 0, true);
      if (c.name === 'OffsetExpr') return this.modify(c, sel, this.duration(kids.find((k) => k.name === 'OffsetDurationExpr'), c), undefined);
      return this.modify(c, sel, undefined, this.atValue(c));
    }
    return this.expr(c);
  }

  /** `relaxed`: info()'s label selector, which may match the empty label set. */
  vectorSelector(n: SyntaxNode, offsetMs: number, relaxed = false): VectorSelector {
    let name: string | undefined;
    const matchers: LabelMatcher[] = [];
    for (const c of children(n)) {
      if (c.name === 'Identifier') name = this.text(c);
      else if (c.name === 'LabelMatchers') {
        for (const m of children(c)) {
          // `{"metric.name", label="v"}`: a lone quoted string is the metric name (Prometheus 3).
          if (m.name === 'QuotedLabelName') {
            if (name !== undefined) this.fail(m, 'metric name given twice');
            name = unquote(this.text(m));
          } else matchers.push(this.matcher(m));
        }
      } else this.fail(c, `unexpected ${c.name} in selector`);
    }
    const nameMatcher = matchers.find((m) => m.name === '__name__');
    if (nameMatcher && name !== undefined) this.fail(n, 'metric name given twice (identifier and __name__ matcher)');
    if (name === undefined) {
      if (nameMatcher?.op === '=') {
        name = nameMatcher.value;
        matchers.splice(matchers.indexOf(nameMatcher), 1);
      } else if (!relaxed && !matchers.some((m) => !matchesEmpty(m))) {
        this.fail(n, 'vector selector must contain at least one non-empty matcher');
      }
    }
    return { kind: 'vectorSelector', name, matchers, offsetMs };
  }

  matcher(m: SyntaxNode): LabelMatcher {
    const kids = children(m);
    const [nameNode, opNode, valueNode] = kids;
    if (!nameNode || !opNode || !valueNode) return this.fail(m, 'incomplete label matcher');
    const name = nameNode.name === 'QuotedLabelName' ? unquote(this.text(nameNode)) : this.text(nameNode);
    const op = this.text(opNode) as MatchOp;
    const value = unquote(this.text(valueNode));
    if (op === '=~' || op === '!~') {
      let re: RegExp;
      try {
        re = goRegExp(value);
      } catch (e) {
        return this.fail(valueNode, `invalid regular expression: ${(e as Error).message}`);
      }
      return { name, op, value, re };
    }
    return { name, op, value };
  }

  matrixSelector(n: SyntaxNode, offsetMs: number): Expr {
    const [sel, dur] = children(n);
    if (sel?.name === 'ParenExpr') return this.fail(n, 'ranges only allowed for vector selectors');
    if (!sel || sel.name !== 'VectorSelector') return this.fail(n, 'range selector must apply to a plain vector selector');
    const rangeMs = this.duration(dur, n);
    if (rangeMs <= 0) this.fail(dur ?? n, 'range must be positive');
    return { kind: 'matrixSelector', selector: this.vectorSelector(sel, offsetMs), rangeMs };
  }

  offsetExpr(n: SyntaxNode): Expr {
    const kids = children(n);
    const target = kids[0];
    const durNode = kids.find((k) => k.name === 'OffsetDurationExpr');
    if (!target) return this.fail(n, 'incomplete offset');
    const offsetMs = this.duration(durNode, n);
    const e = this.expr(target);
    // The lezer grammar attaches `offset` of the last operand to a whole binary
    // expression (`a or b offset 5m` parses as `(a or b) offset 5m`); offset binds
    // tighter than any operator, so it belongs to the rightmost operand.
    if (target.name === 'BinaryExpr') return this.withRightmost(target, e, (leaf) => this.modify(target, leaf, offsetMs, undefined));
    return this.modify(target, e, offsetMs, undefined);
  }

  withRightmost(n: SyntaxNode, e: Expr, f: (leaf: Expr) => Expr): Expr {
    if (e.kind === 'binary') return { ...e, rhs: this.withRightmost(n, e.rhs, f) };
    return f(e);
  }

  args(body: SyntaxNode | undefined): Expr[] {
    if (!body) return [];
    return children(body).map((c) => this.expr(c));
  }

  call(n: SyntaxNode): Expr {
    const [ident, body] = children(n);
    if (!ident) return this.fail(n, 'incomplete function call');
    const func = this.vigieNames.get(ident.from) ?? this.text(ident);
    const sig = FUNCTIONS[func];
    if (!sig) return this.unsupported(ident, `function ${func}()`, `function "${func}" is not supported by the Vigie engine${grammarKnowsCall(func) ? '' : ' (nor known to PromQL)'}`);
    const argNodes = body ? children(body) : [];
    const args = argNodes.map((c, i) => (func === 'info' && i === 1 ? this.infoSelector(c) : this.expr(c)));
    if (func === 'info' && args[1] && args[1].kind !== 'vectorSelector') this.fail(argNodes[1]!, 'info() expects a label selector as its second argument');
    const min = sig.minArgs ?? sig.args.length;
    if (args.length < min || (args.length > sig.args.length && !sig.variadic)) {
      this.fail(n, `${func}() expects ${min === sig.args.length ? min : sig.variadic ? `at least ${min}` : `${min} to ${sig.args.length}`} argument(s), got ${args.length}`);
    }
    args.forEach((a, i) => {
      const want = sig.args[Math.min(i, sig.args.length - 1)]!;
      const got = typeOf(a);
      const ok = want === 'scalar|vector' ? got === 'scalar' || got === 'vector' : got === want;
      if (!ok) this.fail(argNodes[i]!, `${func}() argument ${i + 1} must be ${want === 'scalar|vector' ? 'a scalar or an instant vector' : describeType(want)}, got ${describeType(got)}`);
    });
    for (const a of args) {
      let x = a;
      while (x.kind === 'paren') x = x.expr;
      const ext = x.kind === 'matrixSelector' ? x.selector.ext : undefined;
      const safe = ext === 'anchored' ? ANCHORED_SAFE : SMOOTHED_SAFE;
      if (ext && !safe.includes(func)) this.fail(n, `${ext} modifier can only be used with: ${safe.join(', ')} - not with ${func}`);
    }
    // The table's own key: an internalized string, so the evaluator's dispatch on the
    // name compares pointers rather than characters.
    return { kind: 'call', func: FUNCTION_KEYS.get(func) ?? func, args };
  }

  aggregate(n: SyntaxNode): Expr {
    let op: AggregateOp | undefined;
    let grouping: string[] = [];
    let without = false;
    let body: SyntaxNode | undefined;
    for (const c of children(n)) {
      if (c.name === 'AggregateOp') {
        const t = this.text(c).toLowerCase();
        if (!AGGREGATES.has(t)) this.unsupported(c, `aggregation ${t}`, `aggregation "${t}" is not supported (supported: ${[...AGGREGATES].join(', ')})`);
        op = t as AggregateOp;
      } else if (c.name === 'AggregateModifier') {
        for (const k of children(c)) {
          if (k.name === 'Without') without = true;
          else if (k.name === 'GroupingLabels') grouping = this.labelList(k);
        }
      } else if (c.name === 'FunctionCallBody') body = c;
    }
    if (!op || !body) return this.fail(n, 'incomplete aggregation');
    const argNodes = children(body);
    const args = argNodes.map((c) => this.expr(c));
    const wantParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    if (args.length !== (wantParam ? 2 : 1)) this.fail(body, `${op} expects ${wantParam ? 2 : 1} argument(s), got ${args.length}`);
    const expr = args[args.length - 1]!;
    if (typeOf(expr) !== 'vector') this.fail(argNodes[argNodes.length - 1]!, `${op} needs an instant vector, got ${describeType(typeOf(expr))}`);
    const param = wantParam ? args[0] : undefined;
    const paramType = op === 'count_values' ? 'string' : 'scalar';
    if (param && typeOf(param) !== paramType) this.fail(argNodes[0]!, `${op} parameter must be a ${paramType}`);
    return { kind: 'aggregate', op, grouping, without, param, expr };
  }

  labelList(n: SyntaxNode): string[] {
    return children(n).map((c) => (c.name === 'QuotedLabelName' ? unquote(this.text(c)) : this.text(c)));
  }

  binary(n: SyntaxNode): Expr {
    const kids = children(n);
    const lhsNode = kids[0];
    const rhsNode = kids[kids.length - 1];
    const opNode = kids[1];
    if (!lhsNode || !rhsNode || !opNode || kids.length < 3) return this.fail(n, 'incomplete binary expression');
    const op = BINARY_OPS[opNode.name];
    if (!op) return this.fail(opNode, `unsupported operator "${this.text(opNode)}"`);
    let returnBool = false;
    let on = false;
    let labels: string[] = [];
    let include: string[] = [];
    let card: VectorMatching['card'] = isSetOp(op) ? 'many-to-many' : 'one-to-one';
    let hasModifier = false;
    let fillLeft: number | undefined;
    let fillRight: number | undefined;
    for (const k of kids.slice(2, -1)) {
      if (k.name === 'BoolModifier') returnBool = true;
      else if (k.name === 'FillModifier') {
        for (const clause of children(k)) {
          const num = children(clause).find((c) => c.name === 'NumberDurationLiteral');
          const v = num ? parseNumber(this.text(num)) : undefined;
          if (v === undefined) this.fail(clause, 'fill value must be a number');
          if (clause.name !== 'FillRightClause') fillLeft = v;
          if (clause.name !== 'FillLeftClause') fillRight = v;
        }
      }
      else if (k.name === 'MatchingModifierClause') {
        hasModifier = true;
        let seenGroup = false;
        for (const m of children(k)) {
          if (m.name === 'On') on = true;
          else if (m.name === 'Ignoring') on = false;
          else if (m.name === 'GroupLeft') {
            card = 'many-to-one';
            seenGroup = true;
          } else if (m.name === 'GroupRight') {
            card = 'one-to-many';
            seenGroup = true;
          } else if (m.name === 'GroupingLabels') {
            if (seenGroup) include = this.labelList(m);
            else labels = this.labelList(m);
          }
        }
      }
    }
    const lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode);
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    for (const [t, node] of [[lt, lhsNode], [rt, rhsNode]] as const) {
      if (t !== 'scalar' && t !== 'vector') this.fail(node, `binary operator "${op}" needs scalar or instant vector operands, got ${describeType(t)}`);
    }
    if (isComparison(op) && lt === 'scalar' && rt === 'scalar' && !returnBool) {
      this.fail(opNode, 'comparisons between scalars must use the bool modifier');
    }
    if (returnBool && !isComparison(op)) this.fail(opNode, 'bool modifier can only be used on comparison operators');
    if (isSetOp(op)) {
      if (lt !== 'vector' || rt !== 'vector') this.fail(opNode, `set operator "${op}" is only allowed between instant vectors`);
      if (card !== 'many-to-many') this.fail(opNode, `no grouping (group_left/group_right) allowed for "${op}"`);
    }
    if (hasModifier && (lt !== 'vector' || rt !== 'vector')) this.fail(opNode, 'vector matching (on/ignoring) only allowed between instant vectors');
    if (card === 'many-to-one' || card === 'one-to-many') {
      if (on && include.some((l) => labels.includes(l))) this.fail(opNode, 'a label cannot be both in on(...) and group_x(...)');
    }
    if ((fillLeft !== undefined || fillRight !== undefined) && (isSetOp(op) || lt !== 'vector' || rt !== 'vector')) {
      this.fail(opNode, 'fill modifiers are only allowed between instant vectors, for arithmetic and comparison operators');
    }
    return {
      kind: 'binary',
      op,
      lhs,
      rhs,
      returnBool,
      matching: { card, on, labels, include, ...(fillLeft !== undefined ? { fillLeft } : {}), ...(fillRight !== undefined ? { fillRight } : {}) },
    };
  }
}

/**
 * A Go (RE2) regular expression as an anchored JavaScript one, as Prometheus anchors
 * matchers (`^(?s:re)$`): `(?P<name>` groups become `(?<name>`, and the `(?i)` /
 * `(?i:…)` case-insensitive flags, which JavaScript (before V8 12.5) lacks, are
 * rewritten as letter classes (`a` → `[aA]`) within their scope. Throws on syntax
 * neither shares.
 */
export function goRegExp(re: string): RegExp {
  let out = '';
  const stack: boolean[] = [];
  let ci = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === '\\') {
      const m = /^\\[pP]\{[^}]*\}/.exec(re.slice(i));
      const esc = m ? m[0] : re.slice(i, i + 2);
      out += esc;
      i += esc.length - 1;
      continue;
    }
    if (c === '[') {
      // Character class: copied, with the other case of each letter added when ci.
      let j = i + 1;
      if (re[j] === '^') j++;
      if (re[j] === ']') j++;
      while (j < re.length && re[j] !== ']') j += re[j] === '\\' ? 2 : 1;
      const body = re.slice(i + 1, j);
      let extra = '';
      if (ci) {
        const swap = (ch: string) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase());
        const plain = body.replace(/\\./g, '');
        for (const r of plain.matchAll(/([a-zA-Z])-([a-zA-Z])/g)) extra += `${swap(r[1]!)}-${swap(r[2]!)}`;
        for (const ch of plain.replace(/[a-zA-Z]-[a-zA-Z]/g, '')) if (/[a-z]/i.test(ch)) extra += swap(ch);
      }
      out += '[' + body + extra + ']';
      i = j;
      continue;
    }
    if (c === '(') {
      const flags = /^\(\?([a-zA-Z]+)(:|\))/.exec(re.slice(i));
      if (flags && !flags[1]!.startsWith('P')) {
        if (/[^ims]/.test(flags[1]!)) throw new SyntaxError(`unsupported regex flags (?${flags[1]})`);
        const on = flags[1]!.includes('i');
        if (flags[2] === ')') {
          ci = ci || on;
        } else {
          stack.push(ci);
          ci = ci || on;
          out += '(?:';
        }
        i += flags[0].length - 1;
        continue;
      }
      stack.push(ci);
      if (re.startsWith('(?P<', i)) {
        out += '(?<';
        i += 3;
        continue;
      }
      out += c;
      continue;
    }
    if (c === ')') {
      ci = stack.pop() ?? false;
      out += c;
      continue;
    }
    out += ci && /[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/** An identifier followed by `(` around `pos` that is not a known function, or an aggregation keyword. */
function unknownCallAt(expr: string, pos: number): { name: string; from: number } | undefined {
  const re = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/g;
  for (let m = re.exec(expr); m !== null; m = re.exec(expr)) {
    const name = m[1]!;
    const end = m.index + m[0].length;
    if (pos < m.index - 1 || pos > end) continue;
    if (name in FUNCTIONS || AGGREGATIONS.has(name) || /^(by|without|on|ignoring|group_left|group_right|bool|and|or|unless|offset)$/.test(name)) return undefined;
    return { name, from: m.index };
  }
  return undefined;
}

const AGGREGATIONS: ReadonlySet<string> = new Set(['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group', 'limitk', 'limit_ratio']);

function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=': return m.value === '';
    case '!=': return m.value !== '';
    case '=~': return m.re!.test('');
    case '!~': return !m.re!.test('');
  }
}

function describeType(t: ValueType): string {
  switch (t) {
    case 'scalar': return 'a scalar';
    case 'vector': return 'an instant vector';
    case 'matrix': return 'a range vector';
    case 'string': return 'a string';
  }
}
