/**
 * Evaluation of a Vigie PromQL AST over a {@link SeriesStore}, following Prometheus 3
 * semantics (checked against Prometheus's own promqltest scripts and real servers):
 * 5 min lookback with staleness, left-open range windows, `offset` and `@`, subqueries,
 * anchored/smoothed selectors, extrapolated rate/increase/delta, classic histograms,
 * vector matching with fill modifiers, metric-name dropping with Prometheus'
 * "same labelset" failure, and range evaluation (`query_range`) as one instant
 * evaluation per step.
 */
import { VigieError } from '../../core/errors.ts';
import type { Labels } from '../../core/samples.ts';
import type { Aggregate, AtModifier, Binary, BinaryOp, Call, Expr, LabelMatcher, Subquery, VectorMatching, VectorSelector } from './ast.ts';
import { goRegExp, isComparison, isSetOp } from './parse.ts';
import { matchLabel, upperBound, type SeriesStore } from '../windows.ts';
import {
  bucketFraction,
  bucketQuantile,
  extrapolatedRate,
  instantRate,
  kahanSumInc,
  KahanMean,
  linearRegression,
  doubleExponentialSmoothing,
  extendedRate,
  integralOf,
  interpolate,
  quantile,
  varianceOf,
  type Bucket,
} from './functions.ts';
import { anomalyScoreFn, holtFn, queueKneeFn, timeToThresholdFn, vectorThreshold, type Threshold } from './vigie.ts';

/** One element of an instant vector; `labels` may include `__name__`. */
export interface VectorSample {
  readonly labels: Labels;
  readonly value: number;
}

/** A series window of a range vector (copied arrays, time-ordered). */
export interface RangeSeries {
  readonly labels: Labels;
  readonly ts: readonly number[];
  readonly vs: readonly number[];
}

/** Result of evaluating an expression at one instant. */
export type Value =
  | { readonly kind: 'scalar'; readonly value: number }
  | { readonly kind: 'vector'; readonly samples: readonly VectorSample[] }
  | { readonly kind: 'matrix'; readonly series: readonly RangeSeries[] }
  | { readonly kind: 'string'; readonly value: string };

/** An evaluation failed (e.g. many-to-many matching); the rule is marked unhealthy. */
export class EvalError extends VigieError {}

/** Evaluation options. */
export interface EvalOptions {
  /** Instant-vector lookback (staleness) window; Prometheus default 5 min. */
  readonly lookbackMs?: number;
  /**
   * `v3` (default): Prometheus ≥ 3.0 — range windows and lookback are left-open.
   * `v2`: Prometheus 2.x as shipped by Debian (2.42) — left-closed windows and the
   * pre-2.51 rate extrapolation; for comparisons with that binary (promtool).
   */
  readonly semantics?: 'v3' | 'v2';
  /**
   * Counts the samples the selectors load (one per instant-vector series, every point of
   * a range window), Prometheus' `query_samples_total` notion of work: a rule pack's
   * sample-evaluations. Incremented in place.
   */
  readonly stats?: EvalStats;
  /**
   * The query's time range, for `@ start()` / `@ end()` (an instant query's start and end
   * are its evaluation time; {@link evaluateRange} sets them).
   */
  readonly query?: { readonly startMs: number; readonly endMs: number; readonly stepMs: number };
}

/** Mutable counters of {@link EvalOptions.stats}. */
export interface EvalStats {
  samplesLoaded: number;
}

/** Default lookback delta, as in Prometheus. */
export const DEFAULT_LOOKBACK_MS = 5 * 60_000;

/** Evaluates `expr` at `tMs` (epoch ms). */
export function evaluate(expr: Expr, store: SeriesStore, tMs: number, opts: EvalOptions = {}): Value {
  const ev = new Evaluator(store, tMs, opts.lookbackMs ?? DEFAULT_LOOKBACK_MS, opts.semantics === 'v2', opts.query ?? { startMs: tMs, endMs: tMs, stepMs: 0 });
  try {
    return ev.eval(expr);
  } finally {
    // Counted even when the evaluation fails after loading (the work was done).
    if (opts.stats) opts.stats.samplesLoaded += ev.samplesLoaded;
  }
}

/** Evaluates and returns an instant vector (a scalar becomes a one-element label-less vector). */
export function evaluateVector(expr: Expr, store: SeriesStore, tMs: number, opts: EvalOptions = {}): readonly VectorSample[] {
  const v = evaluate(expr, store, tMs, opts);
  if (v.kind === 'vector') return v.samples;
  if (v.kind === 'scalar') return [{ labels: {}, value: v.value }];
  throw new EvalError(`expression evaluates to a ${v.kind}, expected an instant vector or scalar`);
}

/** One series of a range evaluation: its labels and the steps where it had a value. */
export interface RangeResult {
  readonly labels: Labels;
  readonly ts: number[];
  readonly vs: number[];
}

/**
 * Range evaluation (`/api/v1/query_range` semantics): the expression evaluated at every
 * step from `startMs` to `endMs` inclusive, results gathered per label set; a scalar is
 * the label-less series. As in Prometheus, a step whose vector holds the same label set
 * twice fails the query.
 */
export function evaluateRange(expr: Expr, store: SeriesStore, startMs: number, endMs: number, stepMs: number, opts: EvalOptions = {}): RangeResult[] {
  if (!(stepMs > 0)) throw new EvalError(`range evaluation needs a positive step, got ${stepMs} ms`);
  const byKey = new Map<string, RangeResult>();
  const stepOpts: EvalOptions = { ...opts, query: { startMs, endMs, stepMs } };
  for (let t = startMs; t <= endMs; t += stepMs) {
    const v = evaluate(expr, store, t, stepOpts);
    const samples = v.kind === 'scalar' ? [{ labels: {}, value: v.value }] : v.kind === 'vector' ? v.samples : undefined;
    if (!samples) throw new EvalError(`range evaluation needs an instant vector or scalar expression, got a ${v.kind}`);
    const seen = new Set<string>();
    for (const s of samples) {
      const k = signature(s.labels, [], false) + '\x00' + (s.labels['__name__'] ?? '');
      if (seen.has(k)) throw new EvalError(`vector cannot contain metrics with the same labelset ${labelString(s.labels)}`);
      seen.add(k);
      let r = byKey.get(k);
      if (!r) {
        r = { labels: s.labels, ts: [], vs: [] };
        byKey.set(k, r);
      }
      r.ts.push(t);
      r.vs.push(s.value);
    }
  }
  return [...byKey.values()];
}

/**
 * Labels without `__name__` (and the `__type__`/`__unit__` metadata labels of
 * Prometheus 3's type-and-unit labels, which describe the metric and go with its name).
 */
export function dropName(l: Labels): Labels {
  if (!('__name__' in l) && !('__type__' in l) && !('__unit__' in l)) return l;
  const out: Record<string, string> = {};
  for (const k in l) if (!isNameLabel(k)) out[k] = l[k]!;
  return out;
}

function isNameLabel(k: string): boolean {
  // Hot (signatures, name dropping): most labels fail the first character test.
  return k.charCodeAt(0) === 95 && (k === '__name__' || k === '__type__' || k === '__unit__');
}

/**
 * Prometheus fails a step whose vector holds one label set twice ("vector cannot contain
 * metrics with the same labelset"), which happens when dropping the metric name merges
 * series of different metrics. Only inputs mixing several metric names can collide, so
 * the common one-metric case costs a scan of names.
 */
function assertUniqueAfterDrop(input: readonly { readonly labels: Labels }[], out: readonly VectorSample[]): void {
  if (out.length < 2) return;
  const first = input[0]?.labels['__name__'];
  let mixed = false;
  for (const s of input) {
    if (s.labels['__name__'] !== first) {
      mixed = true;
      break;
    }
  }
  if (!mixed) return;
  const seen = new Set<string>();
  for (const s of out) {
    const k = signature(s.labels, [], false) + '\x00' + (s.labels['__name__'] ?? '');
    if (seen.has(k)) throw new EvalError(`vector cannot contain metrics with the same labelset ${labelString(s.labels)}`);
    seen.add(k);
  }
}

function labelString(l: Labels): string {
  const keys = Object.keys(l).sort();
  return '{' + keys.map((k) => `${k}="${l[k]}"`).join(', ') + '}';
}

/** Match signature: values of `names` (on) or every label but `names` and `__name__` (ignoring). */
function signature(l: Labels, names: readonly string[], on: boolean): string {
  let out = '';
  if (on) {
    for (const n of names) out += (l[n] ?? '') + '\xff';
    return out;
  }
  const keys = Object.keys(l).sort();
  for (const k of keys) {
    if (isNameLabel(k) || names.includes(k)) continue;
    const v = l[k]!;
    if (v === '') continue;
    out += k + '\xfe' + v + '\xff';
  }
  return out;
}

function arith(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+': return l + r;
    case '-': return l - r;
    case '*': return l * r;
    case '/': return l / r;
    case '%': return l % r;
    case '^': return Math.pow(l, r);
    case 'atan2': return Math.atan2(l, r);
    default: return NaN;
  }
}

function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case '==': return l === r;
    case '!=': return l !== r;
    case '>': return l > r;
    case '<': return l < r;
    case '>=': return l >= r;
    case '<=': return l <= r;
    default: return false;
  }
}

/** Value and keep flag of `l op r`, as Prometheus `vectorElemBinop`. */
function elemBinop(op: BinaryOp, l: number, r: number): [number, boolean] {
  if (isComparison(op)) return [l, compare(op, l, r)];
  return [arith(op, l, r), true];
}

const MATH: Readonly<Record<string, (v: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  sqrt: Math.sqrt,
  exp: Math.exp,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (v) => v * (180 / Math.PI),
  rad: (v) => v * (Math.PI / 180),
};

/** Date functions of a Unix time in seconds (UTC), as Prometheus' `dateWrapper`. */
const DATE: Readonly<Record<string, (d: Date) => number>> = {
  year: (d) => d.getUTCFullYear(),
  month: (d) => d.getUTCMonth() + 1,
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => Math.round((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
};

/** The query's range and the series a subquery evaluated: what `matrix()` hands to range functions. */
interface MatrixArg {
  readonly series: readonly RangeSeries[];
  readonly startMs: number;
  readonly endMs: number;
  readonly ext?: 'anchored' | 'smoothed';
}

class Evaluator {
  samplesLoaded = 0;
  private readonly store: SeriesStore;
  private readonly t: number;
  private readonly lookback: number;
  private readonly v2: boolean;
  private readonly query: { readonly startMs: number; readonly endMs: number; readonly stepMs: number };
  private readonly qStart: number;
  private readonly qEnd: number;

  constructor(store: SeriesStore, t: number, lookback: number, v2: boolean, query: { readonly startMs: number; readonly endMs: number; readonly stepMs: number }) {
    this.store = store;
    this.t = t;
    this.lookback = lookback;
    this.v2 = v2;
    this.query = query;
    this.qStart = query.startMs;
    this.qEnd = query.endMs;
  }

  /** The time a selector or subquery is evaluated at, before its offset. */
  base(at: AtModifier | undefined): number {
    if (at === undefined) return this.t;
    if (at === 'start') return this.qStart;
    if (at === 'end') return this.qEnd;
    return at;
  }

  /** A range function's matrix argument: a range selector or a subquery (parentheses allowed). */
  matrix(a: Expr, f: string): MatrixArg {
    a = unparen(a);
    if (a.kind === 'matrixSelector') {
      const endMs = this.base(a.selector.at) - a.selector.offsetMs;
      const ext = a.selector.ext;
      // anchored: also the lookback before the window; smoothed: and the lookback after it.
      const series = ext ? this.range(a.selector, a.rangeMs + this.lookback, ext === 'smoothed' ? this.lookback : 0) : this.range(a.selector, a.rangeMs);
      return { series, startMs: endMs - a.rangeMs, endMs, ext };
    }
    if (a.kind === 'subquery') return this.subquery(a);
    throw new EvalError(`${f}() needs a range vector (selector or subquery)`);
  }

  /**
   * Prometheus subquery: the inner expression at every multiple of the step inside the
   * left-open range (end − range, end], gathered per label set.
   */
  subquery(e: Subquery): MatrixArg {
    const step = e.stepMs ?? 60_000;
    const endMs = this.base(e.at) - e.offsetMs;
    const startMs = endMs - e.rangeMs;
    let first = step * Math.trunc(startMs / step);
    if (first <= startMs) first += step;
    const byKey = new Map<string, { labels: Labels; ts: number[]; vs: number[] }>();
    for (let t = first; t <= endMs; t += step) {
      const ev = new Evaluator(this.store, t, this.lookback, this.v2, this.query);
      let v: Value;
      try {
        v = ev.eval(e.expr);
      } finally {
        this.samplesLoaded += ev.samplesLoaded;
      }
      const samples = v.kind === 'scalar' ? [{ labels: {}, value: v.value }] : this.vec(v);
      for (const s of samples) {
        const k = signature(s.labels, [], false) + '\x00' + (s.labels['__name__'] ?? '');
        let r = byKey.get(k);
        if (!r) {
          r = { labels: s.labels, ts: [], vs: [] };
          byKey.set(k, r);
        }
        r.ts.push(t);
        r.vs.push(s.value);
      }
    }
    return { series: [...byKey.values()], startMs, endMs };
  }

  eval(e: Expr): Value {
    switch (e.kind) {
      case 'number':
        return { kind: 'scalar', value: e.value };
      case 'string':
        return { kind: 'string', value: e.value };
      case 'paren':
        return this.eval(e.expr);
      case 'unary': {
        const v = this.eval(e.expr);
        if (e.op === '+') return v;
        if (v.kind === 'scalar') return { kind: 'scalar', value: -v.value };
        const input = this.vec(v);
        const out = input.map((s) => ({ labels: dropName(s.labels), value: -s.value }));
        assertUniqueAfterDrop(input, out);
        return { kind: 'vector', samples: out };
      }
      case 'vectorSelector':
        return { kind: 'vector', samples: this.instant(e) };
      case 'matrixSelector':
        return { kind: 'matrix', series: this.range(e.selector, e.rangeMs) };
      case 'subquery':
        return { kind: 'matrix', series: this.subquery(e).series };
      case 'call':
        return this.call(e);
      case 'aggregate':
        return { kind: 'vector', samples: this.aggregate(e) };
      case 'binary':
        return this.binary(e);
    }
  }

  vec(v: Value): readonly VectorSample[] {
    if (v.kind !== 'vector') throw new EvalError(`expected an instant vector, got ${v.kind}`);
    return v.samples;
  }

  str(e: Expr): string {
    const v = this.eval(e);
    if (v.kind !== 'string') throw new EvalError(`expected a string, got ${v.kind}`);
    return v.value;
  }

  scalar(e: Expr): number {
    const v = this.eval(e);
    if (v.kind !== 'scalar') throw new EvalError(`expected a scalar, got ${v.kind}`);
    return v.value;
  }

  /**
   * The instant vector of `sel` at the evaluation time. With `timestamps`, the value of
   * each sample is replaced by its own timestamp in seconds (what `timestamp(selector)`
   * returns in Prometheus).
   */
  instant(sel: VectorSelector, timestamps = false): VectorSample[] {
    const end = this.base(sel.at) - sel.offsetMs;
    const start = end - this.lookback;
    if (sel.ext === 'smoothed') return this.smoothedInstant(sel, end);
    const out: VectorSample[] = [];
    for (const s of this.store.select(sel.name, sel.matchers)) {
      const i = upperBound(s.ts, s.head, end) - 1;
      if (i < s.head) continue;
      if (s.ts[i]! < start || (s.ts[i] === start && !this.v2)) continue; // stale: no sample inside the lookback window
      if (s.stale?.has(s.ts[i]!)) continue; // explicit staleness marker
      out.push({ labels: s.labels, value: timestamps ? s.ts[i]! / 1000 : s.vs[i]! });
    }
    this.samplesLoaded += out.length;
    return out;
  }

  /**
   * `x smoothed`: the value at `t` interpolated between the samples around it (each
   * within the lookback), the previous one when none follows, nothing when none precedes.
   */
  smoothedInstant(sel: VectorSelector, t: number): VectorSample[] {
    const out: VectorSample[] = [];
    for (const s of this.range({ ...sel, ext: undefined, at: t, offsetMs: 0 }, this.lookback, this.lookback)) {
      let i = 0;
      while (i < s.ts.length && s.ts[i]! < t) i++;
      if (i < s.ts.length && s.ts[i] === t) out.push({ labels: s.labels, value: s.vs[i]! });
      else if (i > 0 && i < s.ts.length) out.push({ labels: s.labels, value: interpolate(s.ts[i - 1]!, s.vs[i - 1]!, s.ts[i]!, s.vs[i]!, t, false) });
      else if (i > 0) out.push({ labels: s.labels, value: s.vs[i - 1]! });
    }
    return out;
  }

  /** Samples in (end − range, end + after] of every matching series (`after` for smoothed windows). */
  range(sel: VectorSelector, rangeMs: number, after = 0): RangeSeries[] {
    const end = this.base(sel.at) - sel.offsetMs + after;
    const start = end - after - rangeMs;
    const out: RangeSeries[] = [];
    for (const s of this.store.select(sel.name, sel.matchers)) {
      // v3: (start, end]; v2: [start, end].
      const lo = upperBound(s.ts, s.head, this.v2 ? start - 1 : start);
      const hi = upperBound(s.ts, lo, end);
      if (hi <= lo) continue;
      let ts = s.ts.slice(lo, hi);
      let vs = s.vs.slice(lo, hi);
      const stale = s.stale;
      if (stale && stale.size) {
        const keep = ts.map((t) => !stale.has(t));
        ts = ts.filter((_, i) => keep[i]);
        vs = vs.filter((_, i) => keep[i]);
        if (ts.length === 0) continue;
      }
      out.push({ labels: s.labels, ts, vs });
      this.samplesLoaded += ts.length;
    }
    return out;
  }

  call(e: Call): Value {
    const f = e.func;
    const a0 = e.args[0];
    switch (f) {
      case 'time':
        return { kind: 'scalar', value: this.t / 1000 };
      case 'vector':
        return { kind: 'vector', samples: [{ labels: {}, value: this.scalar(a0!) }] };
      case 'scalar': {
        const v = this.vec(this.eval(a0!));
        return { kind: 'scalar', value: v.length === 1 ? v[0]!.value : NaN };
      }
      case 'absent': {
        const v = this.vec(this.eval(a0!));
        return { kind: 'vector', samples: v.length ? [] : [{ labels: absentLabels(a0!), value: 1 }] };
      }
      case 'histogram_quantile': {
        const q = this.scalar(a0!);
        return { kind: 'vector', samples: classicHistograms(this.vec(this.eval(e.args[1]!)), (b) => bucketQuantile(q, b)) };
      }
      case 'histogram_quantiles': {
        // One series per quantile, labelled with it (OpenMetrics float text).
        const v = this.vec(this.eval(a0!));
        const label = this.str(e.args[1]!);
        const out: VectorSample[] = [];
        for (const qe of e.args.slice(2)) {
          const q = this.scalar(qe);
          const qs = formatOpenMetricsFloat(q);
          for (const s of classicHistograms(v, (b) => bucketQuantile(q, b))) out.push({ labels: { ...s.labels, [label]: qs }, value: s.value });
        }
        assertUnique(out, 'histogram_quantiles');
        return { kind: 'vector', samples: out };
      }
      case 'histogram_fraction': {
        const lower = this.scalar(a0!);
        const upper = this.scalar(e.args[1]!);
        return { kind: 'vector', samples: classicHistograms(this.vec(this.eval(e.args[2]!)), (b) => bucketFraction(lower, upper, b)) };
      }
      case 'clamp':
      case 'clamp_min':
      case 'clamp_max': {
        const v = this.vec(this.eval(a0!));
        let lo = -Infinity;
        let hi = Infinity;
        if (f === 'clamp') {
          lo = this.scalar(e.args[1]!);
          hi = this.scalar(e.args[2]!);
          if (hi < lo) return { kind: 'vector', samples: [] };
        } else if (f === 'clamp_min') lo = this.scalar(e.args[1]!);
        else hi = this.scalar(e.args[1]!);
        const out = v.map((s) => ({ labels: dropName(s.labels), value: goMax(lo, goMin(hi, s.value)) }));
        assertUniqueAfterDrop(v, out);
        return { kind: 'vector', samples: out };
      }
      case 'timestamp': {
        // Prometheus: on a vector selector (parentheses allowed), each sample's own
        // timestamp (offset included); on any other expression, whose samples are
        // computed at the evaluation time, that time. Seconds; the metric name is dropped.
        let arg = a0!;
        while (arg.kind === 'paren') arg = arg.expr;
        const v = arg.kind === 'vectorSelector' ? this.instant(arg, true) : this.vec(this.eval(arg));
        const out = v.map((s) => ({ labels: dropName(s.labels), value: arg.kind === 'vectorSelector' ? s.value : this.t / 1000 }));
        assertUniqueAfterDrop(v, out);
        return { kind: 'vector', samples: out };
      }
      case 'round': {
        const v = this.vec(this.eval(a0!));
        const to = e.args[1] ? this.scalar(e.args[1]) : 1;
        const inv = 1 / to;
        const out = v.map((s) => ({ labels: dropName(s.labels), value: Math.floor(s.value * inv + 0.5) / inv }));
        assertUniqueAfterDrop(v, out);
        return { kind: 'vector', samples: out };
      }
    }
    if (f.startsWith('vigie_')) return this.vigie(e);
    switch (f) {
      case 'pi':
        return { kind: 'scalar', value: Math.PI };
      // Query-context functions (Prometheus folds them into constants per query).
      case 'start':
        return { kind: 'scalar', value: this.qStart / 1000 };
      case 'end':
        return { kind: 'scalar', value: this.qEnd / 1000 };
      case 'range':
        return { kind: 'scalar', value: (this.qEnd - this.qStart) / 1000 };
      case 'step':
        return { kind: 'scalar', value: this.qStart === this.qEnd ? 0 : this.query.stepMs / 1000 };
      case 'min_of':
      case 'max_of': {
        const a = this.scalar(a0!);
        const b = this.scalar(e.args[1]!);
        return { kind: 'scalar', value: f === 'min_of' ? goMin(a, b) : goMax(a, b) };
      }
      case 'sort':
      case 'sort_desc': {
        const sign = f === 'sort' ? 1 : -1;
        const v = [...this.vec(this.eval(a0!))];
        v.sort((a, b) => (Number.isNaN(a.value) ? (Number.isNaN(b.value) ? 0 : 1) : Number.isNaN(b.value) ? -1 : sign * (a.value - b.value)));
        return { kind: 'vector', samples: v };
      }
      case 'sort_by_label':
      case 'sort_by_label_desc': {
        const names = e.args.slice(1).map((a) => this.str(a));
        const sign = f === 'sort_by_label' ? 1 : -1;
        const v = [...this.vec(this.eval(a0!))];
        v.sort((a, b) => {
          for (const n of names) {
            const x = a.labels[n] ?? '';
            const y = b.labels[n] ?? '';
            if (x !== y) return sign * natCompare(x, y);
          }
          return sign * compareLabels(a.labels, b.labels);
        });
        return { kind: 'vector', samples: v };
      }
      case 'info':
        return { kind: 'vector', samples: this.info(e) };
      case 'label_replace':
        return { kind: 'vector', samples: labelReplace(this.vec(this.eval(a0!)), this.str(e.args[1]!), this.str(e.args[2]!), this.str(e.args[3]!), this.str(e.args[4]!)) };
      case 'label_join':
        return { kind: 'vector', samples: labelJoin(this.vec(this.eval(a0!)), this.str(e.args[1]!), this.str(e.args[2]!), e.args.slice(3).map((a) => this.str(a))) };
    }
    const date = DATE[f];
    if (date) {
      if (!a0) return { kind: 'vector', samples: [{ labels: {}, value: date(new Date(Math.trunc(this.t / 1000) * 1000)) }] };
      const v = this.vec(this.eval(a0));
      const out = v.map((s) => ({ labels: dropName(s.labels), value: date(new Date(Math.trunc(s.value) * 1000)) }));
      assertUniqueAfterDrop(v, out);
      return { kind: 'vector', samples: out };
    }
    const math = MATH[f];
    if (math) {
      const v = this.vec(this.eval(a0!));
      const out = v.map((s) => ({ labels: dropName(s.labels), value: math(s.value) }));
      assertUniqueAfterDrop(v, out);
      return { kind: 'vector', samples: out };
    }
    // Range-vector functions.
    return this.rangeFunction(e, unparen(a0!));
  }

  rangeFunction(e: Call, a0: Expr): Value {
    const f = e.func;
    const matrixArg = f === 'quantile_over_time' ? unparen(e.args[1]!) : a0;
    const { series, startMs: rangeStart, endMs: rangeEnd, ext } = this.matrix(matrixArg, f);
    if (ext) return this.extendedRangeFunction(f, series, rangeStart, rangeEnd, ext);
    if (f === 'absent_over_time') {
      const sel = matrixArg.kind === 'matrixSelector' ? matrixArg.selector : matrixArg.kind === 'subquery' ? matrixArg.expr : matrixArg;
      return { kind: 'vector', samples: series.length ? [] : [{ labels: absentLabels(sel), value: 1 }] };
    }
    const param = f === 'predict_linear' ? this.scalar(e.args[1]!) : f === 'quantile_over_time' ? this.scalar(a0) : 0;
    let sf = 0;
    let tf = 0;
    if (f === 'double_exponential_smoothing') {
      sf = this.scalar(e.args[1]!);
      tf = this.scalar(e.args[2]!);
      if (!(sf > 0 && sf < 1)) throw new EvalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
      if (!(tf > 0 && tf < 1)) throw new EvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
    }
    let strategy = 2;
    if (f === 'integral' && e.args[1]) {
      const x = this.scalar(e.args[1]);
      if (Number.isInteger(x) && x >= 0 && x <= 2) strategy = x; // else: Prometheus warns and keeps the trapezoid rule
    }
    const out: VectorSample[] = [];
    for (const s of series) {
      let v: number | undefined;
      const n = s.vs.length;
      switch (f) {
        case 'rate':
          v = extrapolatedRate(s.ts, s.vs, rangeStart, rangeEnd, true, true, this.v2);
          break;
        case 'increase':
          v = extrapolatedRate(s.ts, s.vs, rangeStart, rangeEnd, true, false, this.v2);
          break;
        case 'delta':
          v = extrapolatedRate(s.ts, s.vs, rangeStart, rangeEnd, false, false, this.v2);
          break;
        case 'irate':
          v = instantRate(s.ts, s.vs, true);
          break;
        case 'idelta':
          v = instantRate(s.ts, s.vs, false);
          break;
        case 'deriv':
          if (n >= 2) v = linearRegression(s.ts, s.vs, s.ts[0]!)[0];
          break;
        case 'predict_linear':
          if (n >= 2) {
            const [slope, intercept] = linearRegression(s.ts, s.vs, this.t);
            v = slope * param + intercept;
          }
          break;
        case 'changes':
        case 'resets': {
          let c = 0;
          for (let i = 1; i < n; i++) {
            const cur = s.vs[i]!;
            const prev = s.vs[i - 1]!;
            if (f === 'changes' ? cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev)) : cur < prev) c++;
          }
          v = c;
          break;
        }
        case 'sum_over_time': {
          let sum = 0;
          let c = 0;
          for (let i = 0; i < n; i++) [sum, c] = kahanSumInc(s.vs[i]!, sum, c);
          v = sum + c;
          break;
        }
        case 'avg_over_time': {
          const mean = new KahanMean(s.vs[0]!);
          for (let i = 1; i < n; i++) mean.add(s.vs[i]!);
          v = mean.value();
          break;
        }
        case 'count_over_time':
          v = n;
          break;
        case 'min_over_time':
        case 'max_over_time': {
          let m = s.vs[0]!;
          for (let i = 1; i < n; i++) {
            const x = s.vs[i]!;
            if (f === 'min_over_time' ? x < m || Number.isNaN(m) : x > m || Number.isNaN(m)) m = x;
          }
          v = m;
          break;
        }
        case 'last_over_time':
          out.push({ labels: s.labels, value: s.vs[n - 1]! });
          continue;
        case 'present_over_time':
          v = 1;
          break;
        case 'integral':
          v = integralOf(s.ts, s.vs, strategy);
          break;
        case 'double_exponential_smoothing':
          if (n >= 2) v = doubleExponentialSmoothing(s.vs, sf, tf);
          break;
        case 'quantile_over_time':
          v = quantile(param, [...s.vs]);
          break;
        case 'stddev_over_time':
        case 'stdvar_over_time': {
          const variance = varianceOf(s.vs);
          v = f === 'stddev_over_time' ? Math.sqrt(variance) : variance;
          break;
        }
        case 'mad_over_time': {
          if (s.vs.some(Number.isNaN)) {
            v = NaN; // a NaN sample leaves the median undefined
            break;
          }
          const median = quantile(0.5, [...s.vs]);
          v = quantile(0.5, s.vs.map((x) => Math.abs(x - median)));
          break;
        }
        case 'first_over_time':
          out.push({ labels: s.labels, value: s.vs[0]! });
          continue;
        case 'ts_of_first_over_time':
          v = s.ts[0]! / 1000;
          break;
        case 'ts_of_last_over_time':
          v = s.ts[n - 1]! / 1000;
          break;
        case 'ts_of_min_over_time':
        case 'ts_of_max_over_time': {
          // As Prometheus compareOverTime: the latest sample holding the extreme value.
          let best = s.vs[0]!;
          let at = s.ts[0]!;
          for (let i = 0; i < n; i++) {
            const x = s.vs[i]!;
            if ((f === 'ts_of_min_over_time' ? x <= best : x >= best) || Number.isNaN(best)) {
              best = x;
              at = s.ts[i]!;
            }
          }
          v = at / 1000;
          break;
        }
        default:
          throw new EvalError(`function ${f}() is not implemented`);
      }
      if (v !== undefined) out.push({ labels: dropName(s.labels), value: v });
    }
    assertUniqueAfterDrop(series, out);
    return { kind: 'vector', samples: out };
  }

  /**
   * rate/increase/delta/changes/resets over `anchored` / `smoothed` windows, as Prometheus
   * `extendedRate` and `pickFirstSampleIndices` (no start timestamps: Vigie stores none).
   */
  extendedRangeFunction(f: string, series: readonly RangeSeries[], rangeStart: number, rangeEnd: number, ext: 'anchored' | 'smoothed'): Value {
    const out: VectorSample[] = [];
    for (const s of series) {
      let v: number | undefined;
      if (f === 'changes' || f === 'resets') {
        // The last sample at or before the window start, if any sample follows it.
        let first = 0;
        while (first < s.ts.length && s.ts[first]! <= rangeStart) first++;
        if (first >= s.ts.length) continue;
        first = Math.max(0, first - 1);
        let c = 0;
        for (let i = first + 1; i < s.vs.length; i++) {
          const cur = s.vs[i]!;
          const prev = s.vs[i - 1]!;
          if (f === 'changes' ? cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev)) : cur < prev) c++;
        }
        v = c;
      } else {
        v = extendedRate(s.ts, s.vs, rangeStart, rangeEnd, ext === 'smoothed', f !== 'delta', f === 'rate');
      }
      if (v !== undefined) out.push({ labels: dropName(s.labels), value: v });
    }
    assertUniqueAfterDrop(series, out);
    return { kind: 'vector', samples: out };
  }

  /**
   * `info(v, {selector})` (experimental in Prometheus 3): adds to each series the data
   * labels of the info series (`target_info` by default) sharing its `instance`/`job`,
   * as Prometheus `evalInfo` evaluated at one step.
   */
  info(e: Call): VectorSample[] {
    const base = this.vec(this.eval(e.args[0]!));
    const sel = e.args[1] as VectorSelector | undefined;
    const all: LabelMatcher[] = sel ? [...(sel.name !== undefined ? [{ name: '__name__', op: '=' as const, value: sel.name }] : []), ...sel.matchers] : [];
    const nameMatchers = sel ? all.filter((m) => m.name === '__name__') : [{ name: '__name__', op: '=' as const, value: 'target_info' }];
    const dataMatchers = all.filter((m) => m.name !== '__name__');
    const effective: LabelMatcher[] = nameMatchers.some((m) => m.op === '=' || m.op === '=~')
      ? nameMatchers
      : nameMatchers.length
        ? [{ name: '__name__', op: '=~', value: '.+_info', re: /^(?:.+_info)$/s }, ...nameMatchers]
        : [{ name: '__name__', op: '=', value: 'target_info' }];
    const isInfo = (l: Labels) => effective.every((m) => matchLabel(m, l['__name__'] ?? ''));
    // Identifying values present among the base series, per presence pattern.
    const groups = new Map<string, { instance: Set<string>; job: Set<string> }>();
    for (const s of base) {
      if (isInfo(s.labels)) continue;
      const inst = s.labels['instance'] ?? '';
      const job = s.labels['job'] ?? '';
      if (!inst && !job) continue;
      const key = `${inst ? 'i' : ''}${job ? 'j' : ''}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { instance: new Set(), job: new Set() }));
      if (inst) g.instance.add(inst);
      if (job) g.job.add(job);
    }
    // Info series at the same time reference as the base expression's selectors.
    const ref = uniformReference(e.args[0]!);
    const infos: VectorSample[] = [];
    if (groups.size) {
      const probe: VectorSelector = { kind: 'vectorSelector', name: undefined, matchers: [...dataMatchers, ...effective], offsetMs: ref.offsetMs, ...(ref.at !== undefined ? { at: ref.at } : {}) };
      for (const s of this.instant(probe, true)) {
        const inst = s.labels['instance'] ?? '';
        const job = s.labels['job'] ?? '';
        const g = groups.get(`${inst ? 'i' : ''}${job ? 'j' : ''}`);
        if (g && (!inst || g.instance.has(inst)) && (!job || g.job.has(job))) infos.push(s);
      }
    }
    // One info series per (name, instance, job): the newest sample wins, a tie fails.
    const bySig = new Map<string, VectorSample>();
    for (const s of infos) {
      const sig = `${s.labels['__name__']}\xff${s.labels['instance'] ?? ''}\xff${s.labels['job'] ?? ''}`;
      const prev = bySig.get(sig);
      if (!prev || prev.value < s.value) bySig.set(sig, s);
      else if (prev.value === s.value) throw new EvalError(`found duplicate series for info metric: existing ${labelString(prev.labels)}, new ${labelString(s.labels)}`);
    }
    const dataNames = new Set(dataMatchers.map((m) => m.name));
    const out: VectorSample[] = [];
    for (const bs of base) {
      if (isInfo(bs.labels)) {
        out.push(bs);
        continue;
      }
      const add: Record<string, string> = {};
      const seen = new Set<string>();
      for (const is of bySig.values()) {
        const name = is.labels['__name__'] ?? '';
        if (seen.has(name) || (is.labels['instance'] ?? '') !== (bs.labels['instance'] ?? '') || (is.labels['job'] ?? '') !== (bs.labels['job'] ?? '')) continue;
        for (const k in is.labels) {
          if (isNameLabel(k) || (dataNames.size > 0 && !dataNames.has(k))) continue;
          const v = is.labels[k]!;
          if (add[k] !== undefined && add[k] !== v) throw new EvalError(`conflicting label: ${k}`);
          if (k in bs.labels) continue;
          add[k] = v;
        }
        seen.add(name);
      }
      if (seen.size === 0 && !dataMatchers.every((m) => matchLabel(m, ''))) continue;
      out.push({ labels: { ...bs.labels, ...add }, value: bs.value });
    }
    assertUnique(out, 'info');
    return out;
  }

  /** Vigie extension functions (rules/promql/vigie.ts); results drop the metric name. */
  vigie(e: Call): Value {
    const f = e.func;
    const a0 = unparen(e.args[0]!);
    const named = (out: readonly { labels: Labels; value: number }[]): Value => ({
      kind: 'vector',
      samples: out.map((s) => ({ labels: dropName(s.labels), value: s.value })),
    });
    try {
      if (f === 'vigie_queue_knee') {
        return named(queueKneeFn(this.vec(this.eval(a0)), e.args[1] ? this.scalar(e.args[1]) : undefined));
      }
      if (a0.kind !== 'matrixSelector') throw new EvalError(`${f}() needs a range selector`);
      const series = this.range(a0.selector, a0.rangeMs);
      const end = this.t - a0.selector.offsetMs;
      switch (f) {
        case 'vigie_time_to_threshold':
        case 'vigie_time_to_threshold_lower':
        case 'vigie_time_to_threshold_upper': {
          let thr: Threshold = { kind: 'scalar', value: 1 };
          if (e.args[1]) {
            const v = this.eval(e.args[1]);
            if (v.kind === 'scalar') thr = { kind: 'scalar', value: v.value };
            else thr = vectorThreshold(this.vec(v));
          }
          return named(timeToThresholdFn(f, series, thr, end));
        }
        case 'vigie_holt_forecast':
        case 'vigie_holt_forecast_upper':
        case 'vigie_holt_forecast_lower':
          return named(holtFn(f, series, this.scalar(e.args[1]!), this.scalar(e.args[2]!), this.scalar(e.args[3]!), end));
        case 'vigie_anomaly_score':
          return named(anomalyScoreFn(series, end));
        default:
          throw new EvalError(`function ${f}() is not implemented`);
      }
    } catch (err) {
      if (err instanceof RangeError) throw new EvalError(err.message, { cause: err });
      throw err;
    }
  }

  aggregate(e: Aggregate): VectorSample[] {
    if (e.op === 'count_values') return this.countValues(e);
    const input = this.vec(this.eval(e.expr));
    const k = e.param ? this.scalar(e.param) : 0;
    if ((e.op === 'topk' || e.op === 'bottomk') && Number.isNaN(k)) throw new EvalError(`Parameter value is NaN for ${e.op}`);
    const keepsName = !e.without && e.grouping.includes('__name__');
    interface Group {
      labels: Labels;
      sum: number;
      c: number;
      mean: KahanMean | undefined;
      count: number;
      value: number;
      top: VectorSample[];
    }
    const groups = new Map<string, Group>();
    for (const s of input) {
      const gl = groupLabels(s.labels, e.grouping, e.without);
      // `by (__name__)` keeps the name, which then tells groups apart.
      const key = keepsName ? signature(gl, [], false) + '\x00' + (gl['__name__'] ?? '') : signature(gl, [], false);
      let g = groups.get(key);
      if (!g) {
        g = { labels: gl, sum: 0, c: 0, mean: undefined, count: 0, value: s.value, top: [] };
        groups.set(key, g);
      } else if (e.op === 'min') {
        if (s.value < g.value || Number.isNaN(g.value)) g.value = s.value;
      } else if (e.op === 'max') {
        if (s.value > g.value || Number.isNaN(g.value)) g.value = s.value;
      }
      g.count++;
      if (e.op === 'avg') {
        if (g.mean) g.mean.add(s.value);
        else g.mean = new KahanMean(s.value);
      } else [g.sum, g.c] = kahanSumInc(s.value, g.sum, g.c);
      if (e.op === 'topk' || e.op === 'bottomk' || e.op === 'quantile' || e.op === 'stddev' || e.op === 'stdvar') g.top.push(s);
    }
    const out: VectorSample[] = [];
    for (const g of groups.values()) {
      switch (e.op) {
        case 'sum':
          out.push({ labels: g.labels, value: g.sum + g.c });
          break;
        case 'avg':
          out.push({ labels: g.labels, value: g.mean!.value() });
          break;
        case 'count':
          out.push({ labels: g.labels, value: g.count });
          break;
        case 'group':
          out.push({ labels: g.labels, value: 1 });
          break;
        case 'quantile':
          out.push({ labels: g.labels, value: quantile(k, g.top.map((x) => x.value)) });
          break;
        case 'stddev':
        case 'stdvar': {
          // Prometheus' aggregation: Welford from the first value, NaN when it is NaN/±Inf.
          const first = g.top[0]!.value;
          let mean = first;
          let aux = Number.isFinite(first) ? 0 : NaN;
          for (let i = 1; i < g.top.length; i++) {
            const x = g.top[i]!.value;
            const delta = x - mean;
            mean += delta / (i + 1);
            aux += delta * (x - mean);
          }
          const variance = aux / g.top.length;
          out.push({ labels: g.labels, value: e.op === 'stddev' ? Math.sqrt(variance) : variance });
          break;
        }
        case 'min':
        case 'max':
          out.push({ labels: g.labels, value: g.value });
          break;
        case 'topk':
        case 'bottomk': {
          const n = Math.floor(k);
          if (!(n >= 1)) break;
          const sign = e.op === 'topk' ? 1 : -1;
          const sorted = [...g.top].sort((a, b) => {
            if (Number.isNaN(a.value)) return 1;
            if (Number.isNaN(b.value)) return -1;
            return sign * (b.value - a.value);
          });
          out.push(...sorted.slice(0, n));
          break;
        }
      }
    }
    return out;
  }

  /** `count_values("label", v)`: how many samples hold each value, the value as a label. */
  countValues(e: Aggregate): VectorSample[] {
    const label = this.str(e.param!);
    if (!LABEL_NAME.test(label)) throw new EvalError(`invalid label name "${label}"`);
    const input = this.vec(this.eval(e.expr));
    const grouping = e.without ? e.grouping.filter((g) => g !== label) : [...e.grouping, label];
    const groups = new Map<string, { labels: Labels; count: number }>();
    for (const s of input) {
      const withValue = { ...s.labels, [label]: goFormatFloat(s.value) };
      const gl = groupLabels(withValue, grouping, e.without);
      const key = signature(gl, [], false) + '\x00' + (gl['__name__'] ?? '');
      const g = groups.get(key);
      if (g) g.count++;
      else groups.set(key, { labels: gl, count: 1 });
    }
    return [...groups.values()].map((g) => ({ labels: g.labels, value: g.count }));
  }

  binary(e: Binary): Value {
    const l = this.eval(e.lhs);
    // An empty left-hand vector gives an empty result for every operator but `or` (and a
    // `fill_left`), whatever the right-hand side holds: skip evaluating it. Rules such as
    // "logins above plan" then cost nothing on a morning without a plan.
    if (l.kind === 'vector' && l.samples.length === 0 && e.op !== 'or' && e.matching.fillLeft === undefined) {
      return { kind: 'vector', samples: [] };
    }
    const r = this.eval(e.rhs);
    if (l.kind === 'scalar' && r.kind === 'scalar') {
      const [v, keep] = elemBinop(e.op, l.value, r.value);
      return { kind: 'scalar', value: isComparison(e.op) ? (keep ? 1 : 0) : v };
    }
    if (l.kind === 'vector' && r.kind === 'vector') {
      if (isSetOp(e.op)) return { kind: 'vector', samples: setOp(e.op, l.samples, r.samples, e.matching) };
      return { kind: 'vector', samples: vectorBinop(e, l.samples, r.samples) };
    }
    if (l.kind === 'vector' && r.kind === 'scalar') return { kind: 'vector', samples: scalarBinop(e, l.samples, r.value, false) };
    if (l.kind === 'scalar' && r.kind === 'vector') return { kind: 'vector', samples: scalarBinop(e, r.samples, l.value, true) };
    throw new EvalError(`operator ${e.op} cannot combine ${l.kind} and ${r.kind}`);
  }
}

/** Go's math.Max/Min semantics (NaN wins). */
function goMax(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}
function goMin(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
}

function parseLe(le: string): number | undefined {
  const t = le.trim().toLowerCase();
  if (t === '+inf' || t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan') return undefined; // a NaN bound is malformed: Prometheus ignores the bucket
  const v = Number(t);
  return t === '' || Number.isNaN(v) ? undefined : v;
}

function groupLabels(l: Labels, grouping: readonly string[], without: boolean): Labels {
  const out: Record<string, string> = {};
  if (without) {
    for (const k in l) if (!isNameLabel(k) && !grouping.includes(k)) out[k] = l[k]!;
  } else {
    for (const g of grouping) {
      const v = l[g];
      if (v !== undefined && v !== '') out[g] = v;
    }
  }
  return out;
}

/**
 * Labels that `absent()` returns: the equality matchers of a plain selector, minus every
 * label that also has another matcher (as Prometheus `createLabelsForAbsentFunction`).
 */
function absentLabels(e: Expr): Labels {
  while (e.kind === 'paren') e = e.expr;
  if (e.kind !== 'vectorSelector') return {};
  const out: Record<string, string> = {};
  const drop: string[] = [];
  for (const m of e.matchers) {
    if (isNameLabel(m.name)) continue;
    if (m.op === '=' && !(m.name in out)) out[m.name] = m.value;
    else drop.push(m.name);
  }
  for (const n of drop) delete out[n];
  return out;
}

function unparen(e: Expr): Expr {
  while (e.kind === 'paren') e = e.expr;
  return e;
}

function setOp(op: BinaryOp, lhs: readonly VectorSample[], rhs: readonly VectorSample[], m: VectorMatching): VectorSample[] {
  const sig = (s: VectorSample) => signature(s.labels, m.labels, m.on);
  if (op === 'or') {
    const left = new Set(lhs.map(sig));
    return [...lhs, ...rhs.filter((s) => !left.has(sig(s)))];
  }
  const right = new Set(rhs.map(sig));
  return lhs.filter((s) => right.has(sig(s)) === (op === 'and'));
}

function resultLabels(l: Labels, r: Labels, e: Binary, dropMetric: boolean): Labels {
  const m = e.matching;
  const out: Record<string, string> = {};
  if (m.card === 'one-to-one') {
    if (m.on) {
      for (const n of m.labels) if (l[n] !== undefined && l[n] !== '') out[n] = l[n]!;
      if (!dropMetric && l['__name__'] !== undefined && m.labels.includes('__name__')) out['__name__'] = l['__name__'];
    } else {
      for (const k in l) if (!m.labels.includes(k) && !(dropMetric && isNameLabel(k))) out[k] = l[k]!;
    }
    return out;
  }
  for (const k in l) if (!(dropMetric && isNameLabel(k))) out[k] = l[k]!;
  for (const n of m.include) {
    const v = r[n];
    if (v !== undefined && v !== '') out[n] = v;
    else delete out[n];
  }
  return out;
}

/** Prometheus `matchLabels`: the matching labels of a series (what a fill value's series is labelled with). */
function matchLabels(l: Labels, m: VectorMatching): Labels {
  const out: Record<string, string> = {};
  for (const k in l) {
    if (m.on ? m.labels.includes(k) : !isNameLabel(k) && !m.labels.includes(k)) out[k] = l[k]!;
  }
  return out;
}

function vectorBinop(e: Binary, lhsIn: readonly VectorSample[], rhsIn: readonly VectorSample[]): VectorSample[] {
  const m = e.matching;
  if ((lhsIn.length === 0 && rhsIn.length === 0) || ((lhsIn.length === 0 || rhsIn.length === 0) && m.fillLeft === undefined && m.fillRight === undefined)) return [];
  const swap = m.card === 'one-to-many';
  const lhs = swap ? rhsIn : lhsIn;
  const rhs = swap ? lhsIn : rhsIn;
  const fillLeft = swap ? m.fillRight : m.fillLeft;
  const fillRight = swap ? m.fillLeft : m.fillRight;
  const sig = (s: VectorSample) => signature(s.labels, m.labels, m.on);
  const right = new Map<string, VectorSample>();
  for (const s of rhs) {
    const k = sig(s);
    const dup = right.get(k);
    if (dup) {
      throw new EvalError(
        `found duplicate series for the match group on the ${swap ? 'left' : 'right'} hand-side of the operation: [${labelString(s.labels)}, ${labelString(dup.labels)}]; many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    right.set(k, s);
  }
  const dropMetric = !isComparison(e.op) || e.returnBool;
  const matched = new Map<string, Labels>();
  const matchedSigs = new Set<string>();
  const out: VectorSample[] = [];
  const doBinop = (ls: VectorSample, rs: VectorSample, k: string): void => {
    // Prometheus checks matching uniqueness on every match, before a comparison filters
    // it out: an ambiguous match fails even when the filter would hide it.
    if (m.card === 'one-to-one') {
      const prev = matched.get(k);
      if (prev) {
        throw new EvalError(`multiple matches for labels: many-to-one matching must be explicit (group_left/group_right); duplicate left series ${labelString(prev)} and ${labelString(ls.labels)}`);
      }
      matched.set(k, ls.labels);
    }
    matchedSigs.add(k);
    let vl = ls.value;
    let vr = rs.value;
    if (swap) [vl, vr] = [vr, vl];
    let [value, keep] = elemBinop(e.op, vl, vr);
    if (e.returnBool) {
      value = keep ? 1 : 0;
    }
    const labels = resultLabels(ls.labels, rs.labels, e, dropMetric);
    if (m.card !== 'one-to-one') {
      const rk = k + '\x01' + signature(labels, [], false) + '\x00' + (labels['__name__'] ?? '');
      if (matched.has(rk)) throw new EvalError(`multiple matches for labels ${labelString(labels)}: grouping labels must ensure unique matches`);
      matched.set(rk, labels);
    }
    if (!e.returnBool && !keep) return;
    out.push({ labels, value });
  };
  for (const ls of lhs) {
    const k = sig(ls);
    const rs = right.get(k);
    if (rs) doBinop(ls, rs, k);
    else if (fillRight !== undefined) doBinop(ls, { labels: matchLabels(ls.labels, m), value: fillRight }, k);
  }
  if (fillLeft !== undefined) {
    for (const rs of rhs) {
      const k = sig(rs);
      if (!matchedSigs.has(k)) doBinop({ labels: matchLabels(rs.labels, m), value: fillLeft }, rs, k);
    }
  }
  return out;
}

function scalarBinop(e: Binary, v: readonly VectorSample[], scalar: number, scalarOnLeft: boolean): VectorSample[] {
  const dropMetric = !isComparison(e.op) || e.returnBool;
  const out: VectorSample[] = [];
  for (const s of v) {
    const [lv, rv] = scalarOnLeft ? [scalar, s.value] : [s.value, scalar];
    let [value, keep] = elemBinop(e.op, lv, rv);
    if (isComparison(e.op) && !e.returnBool) value = s.value;
    if (e.returnBool) value = keep ? 1 : 0;
    else if (!keep) continue;
    out.push({ labels: dropMetric ? dropName(s.labels) : s.labels, value });
  }
  return out;
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent. */
export function goFormatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const digits = m[2]! + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp >= 0) return m[1]! + digits.padEnd(exp + 1, '0').slice(0, Math.max(exp + 1, digits.length)) + (digits.length > exp + 1 ? '.' + digits.slice(exp + 1) : '');
  return m[1]! + '0.' + '0'.repeat(-exp - 1) + digits;
}

/** Natural order of label values (digit runs compare as numbers), as the natsort Prometheus uses. */
function natCompare(a: string, b: string): number {
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d < 0 ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

/** Prometheus `labels.Compare`: label by label in name order, then the shorter set first. */
function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const va = a[ka[i]!]!;
    const vb = b[kb[i]!]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

/**
 * A Go (RE2) regular expression as a JavaScript one, anchored: `(?P<name>` groups
 * become `(?<name>`. Throws on syntax JavaScript lacks (e.g. inline `(?i)` flags).
 */
function goRegex(re: string, what: string): RegExp {
  try {
    return goRegExp(re);
  } catch (err) {
    throw new EvalError(`invalid regular expression in ${what}: ${(err as Error).message}`);
  }
}

/** Go `Regexp.ExpandString`: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups expand to "". */
function goExpand(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let end = i;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const n = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(n)) {
        name = n;
        end = close;
      }
    } else {
      const n = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1))?.[0];
      if (n) {
        name = n;
        end = i + n.length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    out += (/^\d+$/.test(name) ? m[Number(name)] : m.groups?.[name]) ?? '';
    i = end;
  }
  return out;
}

function withLabel(l: Labels, name: string, value: string): Labels {
  const out: Record<string, string> = { ...l };
  if (value === '') delete out[name];
  else out[name] = value;
  return out;
}

function assertUnique(out: readonly VectorSample[], fn: string): void {
  const seen = new Set<string>();
  for (const s of out) {
    const k = signature(s.labels, [], false) + '\x00' + (s.labels['__name__'] ?? '') + '\x00' + (s.labels['__type__'] ?? '') + '\x00' + (s.labels['__unit__'] ?? '');
    if (seen.has(k)) throw new EvalError(`vector cannot contain metrics with the same labelset ${labelString(s.labels)} (after ${fn})`);
    seen.add(k);
  }
}

/** `label_replace(v, dst, replacement, src, regex)`, as Prometheus. */
function labelReplace(v: readonly VectorSample[], dst: string, repl: string, src: string, regex: string): VectorSample[] {
  const re = goRegex(regex, 'label_replace()');
  if (!LABEL_NAME.test(dst)) throw new EvalError(`invalid destination label name in label_replace(): ${dst}`);
  const out = v.map((s) => {
    const m = re.exec(s.labels[src] ?? '');
    return m ? { labels: withLabel(s.labels, dst, goExpand(repl, m)), value: s.value } : s;
  });
  assertUnique(out, 'label_replace');
  return out;
}

/** `label_join(v, dst, separator, src...)`, as Prometheus. */
function labelJoin(v: readonly VectorSample[], dst: string, sep: string, srcs: readonly string[]): VectorSample[] {
  if (!LABEL_NAME.test(dst)) throw new EvalError(`invalid destination label name in label_join(): ${dst}`);
  const out = v.map((s) => ({ labels: withLabel(s.labels, dst, srcs.map((n) => s.labels[n] ?? '').join(sep)), value: s.value }));
  assertUnique(out, 'label_join');
  return out;
}

/**
 * The `@`/offset shared by every selector of an expression (Prometheus
 * `infoSelectTimestampAndOffset`); none when they differ or a branch has no selector.
 */
function uniformReference(e: Expr): { at?: AtModifier; offsetMs: number } {
  const refs: { at?: AtModifier; offsetMs: number }[] = [];
  let referenceFree = false;
  const walk = (x: Expr, sub: { at?: AtModifier; offsetMs: number } | undefined): boolean => {
    switch (x.kind) {
      case 'number':
      case 'string':
        return false;
      case 'vectorSelector':
        refs.push(x.at !== undefined || !sub ? { ...(x.at !== undefined ? { at: x.at } : {}), offsetMs: x.offsetMs } : { ...(sub.at !== undefined ? { at: sub.at } : {}), offsetMs: x.offsetMs + sub.offsetMs });
        return true;
      case 'matrixSelector':
        return walk(x.selector, sub);
      case 'subquery':
        return walk(x.expr, x.at !== undefined ? { at: x.at, offsetMs: x.offsetMs } : { offsetMs: x.offsetMs + (sub?.offsetMs ?? 0), ...(sub?.at !== undefined ? { at: sub.at } : {}) });
      case 'paren':
      case 'unary':
        return walk(x.expr, sub);
      default: {
        const kids = x.kind === 'call' ? (x.func === 'info' ? [x.args[0]!] : x.args) : x.kind === 'aggregate' ? [x.expr] : [x.lhs, x.rhs];
        let has = false;
        for (const k of kids) if (walk(k, sub)) has = true;
        if (!has) referenceFree = true;
        return has;
      }
    }
  };
  walk(e, undefined);
  const first = refs[0];
  if (!first || referenceFree) return { offsetMs: 0 };
  const same = refs.every((r) => {
    if (r.at === undefined || first.at === undefined) return r.at === first.at && r.offsetMs === first.offsetMs;
    return typeof r.at === 'number' && typeof first.at === 'number' ? r.at - r.offsetMs === first.at - first.offsetMs : r.at === first.at && r.offsetMs === first.offsetMs;
  });
  return same ? first : { offsetMs: 0 };
}

/**
 * Classic histograms of an instant vector (series with an `le` label, grouped by all
 * other labels and the metric name), each reduced by `f` over its buckets.
 */
function classicHistograms(v: readonly VectorSample[], f: (buckets: Bucket[]) => number): VectorSample[] {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const s of v) {
    const le = s.labels['le'];
    if (le === undefined) continue;
    const upper = parseLe(le);
    if (upper === undefined) continue;
    // Buckets group by every label but le, the metric name included (two histograms
    // never mix); the name is dropped from the result, so they then collide.
    const l: Record<string, string> = {};
    for (const k in s.labels) if (k !== 'le' && !isNameLabel(k)) l[k] = s.labels[k]!;
    const key = signature(l, [], false) + '\x00' + (s.labels['__name__'] ?? '');
    let g = groups.get(key);
    if (!g) {
      g = { labels: l, buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upperBound: upper, count: s.value });
  }
  const out: VectorSample[] = [];
  for (const g of groups.values()) out.push({ labels: g.labels, value: f(g.buckets) });
  assertUniqueAfterDrop(v, out);
  return out;
}

/** Prometheus `labels.FormatOpenMetricsFloat`: Go's shortest `%g`, with ".0" on integers. */
export function formatOpenMetricsFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  let out: string;
  if (v === 0) out = Object.is(v, -0) ? '-0' : '0';
  else {
    const [mant, e] = v.toExponential().split('e') as [string, string];
    const exp = Number(e);
    // Go's shortest %g switches to an exponent below 1e-4 and from 1e6.
    out = exp < -4 || exp >= 6 ? `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}` : goFormatFloat(v);
  }
  return /[.eEIN]/.test(out) ? out : out + '.0';
}
