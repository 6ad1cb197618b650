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
  constructor(expr: string, from: number, to: number, what: string) {
    const offending = expr.slice(from, Math.max(to, from));
    const near = offending === '' ? (from >= expr.length ? 'at end of input' : `before "${expr.slice(from, from + 12)}"`) : `at "${offending}"`;
    super('promql', `PromQL parse error at position ${from + 1} ${near}: ${what} (in \`${expr}\`)`);
    this.position = from;
    this.offending = offending;
  }
}

/**
 * Argument and return types of a supported function; `minArgs` for optional trailing
 * args. `scalar|vector` (Vigie extensions only) accepts either.
 */
export interface FunctionSignature {
  readonly args: readonly (ValueType | VigieArgType)[];
  readonly minArgs?: number;
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
  predict_linear: { args: ['matrix', 'scalar'], returns: 'vector' },
  histogram_quantile: { args: ['scalar', 'vector'], returns: 'vector' },
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
  // Vigie's own extensions (alerts/promql/vigie.ts); not Prometheus functions.
  ...VIGIE_FUNCTIONS,
};

const AGGREGATES: ReadonlySet<string> = new Set<AggregateOp>(['sum', 'avg', 'min', 'max', 'count', 'group', 'topk', 'bottomk']);

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^',
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
    w.fail(top, `expression must evaluate to an instant vector or scalar, got ${t === 'matrix' ? 'a range vector' : 'a string'}`);
  }
  return out;
}

/**
 * The official grammar only knows Prometheus' function names, so a call to a Vigie
 * extension (`vigie_…(`) is parsed as a call to `abs` padded with spaces to the same
 * length (positions in error messages stay right); `names` maps the call's offset back
 * to the real name. String literals are left alone.
 */
function maskVigieCalls(src: string): { masked: string; names: Map<number, string> } {
  const names = new Map<number, string>();
  if (!src.includes('vigie_')) return { masked: src, names };
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
    const m = /^vigie_[A-Za-z0-9_]*(?=\s*\()/.exec(src.slice(i, i + 80));
    if (m && (i === 0 || !/[A-Za-z0-9_:]/.test(src[i - 1]!))) {
      names.set(i, m[0]);
      out += 'abs' + ' '.repeat(m[0].length - 3);
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return { masked: out, names };
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
  const body = t.replace(/^[+-]/, '');
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
  constructor(
    private readonly src: string,
    private readonly vigieNames: ReadonlyMap<number, string> = new Map(),
  ) {}

  text(n: SyntaxNode): string {
    return this.src.slice(n.from, n.to);
  }

  fail(n: SyntaxNode, what: string): never {
    throw new PromQLError(this.src, n.from, n.to, what);
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
        return this.fail(n, 'subqueries (expr[range:step]) are not supported by the Vigie engine; use a recording rule and a range selector over it');
      case 'StepInvariantExpr':
        return this.fail(n, 'the @ modifier is not supported by the Vigie engine');
      default:
        return this.fail(n, `unsupported expression (${n.name})`);
    }
  }

  duration(n: SyntaxNode | undefined, parent: SyntaxNode): number {
    if (!n) return this.fail(parent, 'missing duration');
    let sign = 1;
    let node: SyntaxNode = n;
    if (node.name === 'OffsetDurationExpr' || node.name === 'DurationExpr') {
      const kids = children(node);
      if (kids.length === 2 && kids[0]!.name === 'UnaryOp') {
        sign = this.text(kids[0]!) === '-' ? -1 : 1;
        return sign * this.duration(kids[1], parent);
      }
      if (kids.length !== 1) this.fail(node, 'duration arithmetic is not supported');
      node = kids[0]!;
    }
    const text = this.text(node);
    const ms = tryParseDuration(text);
    if (ms !== undefined) return ms;
    const seconds = Number(text);
    if (Number.isFinite(seconds)) return Math.round(seconds * 1000);
    return this.fail(node, 'invalid duration: expected e.g. 30s, 5m, 1h30m');
  }

  vectorSelector(n: SyntaxNode, offsetMs: number): VectorSelector {
    let name: string | undefined;
    const matchers: LabelMatcher[] = [];
    for (const c of children(n)) {
      if (c.name === 'Identifier') name = this.text(c);
      else if (c.name === 'LabelMatchers') {
        for (const m of children(c)) matchers.push(this.matcher(m));
      } else this.fail(c, `unexpected ${c.name} in selector`);
    }
    const nameMatcher = matchers.find((m) => m.name === '__name__');
    if (nameMatcher && name !== undefined) this.fail(n, 'metric name given twice (identifier and __name__ matcher)');
    if (name === undefined) {
      if (nameMatcher?.op === '=') {
        name = nameMatcher.value;
        matchers.splice(matchers.indexOf(nameMatcher), 1);
      } else if (!matchers.some((m) => !matchesEmpty(m))) {
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
        re = new RegExp(`^(?:${value})$`, 's');
      } catch (e) {
        return this.fail(valueNode, `invalid regular expression: ${(e as Error).message}`);
      }
      return { name, op, value, re };
    }
    return { name, op, value };
  }

  matrixSelector(n: SyntaxNode, offsetMs: number): Expr {
    const [sel, dur] = children(n);
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
    if (target.name === 'VectorSelector') return this.vectorSelector(target, offsetMs);
    if (target.name === 'MatrixSelector') return this.matrixSelector(target, offsetMs);
    return this.fail(target, 'offset must follow a vector or range selector');
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
    if (!sig) return this.fail(ident, `function "${func}" is not supported by the Vigie engine (supported: ${Object.keys(FUNCTIONS).join(', ')})`);
    const argNodes = body ? children(body) : [];
    const args = argNodes.map((c) => this.expr(c));
    const min = sig.minArgs ?? sig.args.length;
    if (args.length < min || args.length > sig.args.length) {
      this.fail(n, `${func}() expects ${min === sig.args.length ? min : `${min} to ${sig.args.length}`} argument(s), got ${args.length}`);
    }
    args.forEach((a, i) => {
      const want = sig.args[i]!;
      const got = typeOf(a);
      const ok = want === 'scalar|vector' ? got === 'scalar' || got === 'vector' : got === want;
      if (!ok) this.fail(argNodes[i]!, `${func}() argument ${i + 1} must be ${want === 'scalar|vector' ? 'a scalar or an instant vector' : describeType(want)}, got ${describeType(got)}`);
    });
    return { kind: 'call', func, args };
  }

  aggregate(n: SyntaxNode): Expr {
    let op: AggregateOp | undefined;
    let grouping: string[] = [];
    let without = false;
    let body: SyntaxNode | undefined;
    for (const c of children(n)) {
      if (c.name === 'AggregateOp') {
        const t = this.text(c).toLowerCase();
        if (!AGGREGATES.has(t)) this.fail(c, `aggregation "${t}" is not supported (supported: ${[...AGGREGATES].join(', ')})`);
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
    const wantParam = op === 'topk' || op === 'bottomk';
    if (args.length !== (wantParam ? 2 : 1)) this.fail(body, `${op} expects ${wantParam ? 2 : 1} argument(s), got ${args.length}`);
    const expr = args[args.length - 1]!;
    if (typeOf(expr) !== 'vector') this.fail(argNodes[argNodes.length - 1]!, `${op} needs an instant vector, got ${describeType(typeOf(expr))}`);
    const param = wantParam ? args[0] : undefined;
    if (param && typeOf(param) !== 'scalar') this.fail(argNodes[0]!, `${op} parameter must be a scalar`);
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
    for (const k of kids.slice(2, -1)) {
      if (k.name === 'BoolModifier') returnBool = true;
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
    return { kind: 'binary', op, lhs, rhs, returnBool, matching: { card, on, labels, include } };
  }
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
