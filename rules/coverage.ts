/**
 * The cold-start and gap guard of the rules engine: an alert instance may not start
 * (become pending, hence never page) while the range windows its expression reads do
 * not hold enough data. A `sum_over_time(x[6h])` evaluated one minute after start-up,
 * or a `rate(x[5m])` right after a five-minute telemetry gap, answers from a sliver of
 * its window; a burn-rate or trend computed from it is noise, not evidence.
 *
 * Which windows: every range selector of the alert's expression and, transitively, of
 * the recording rules whose series it reads (`faculty:…:error_ratio_rate6h` reads a 6 h
 * window of a recorded 5 min rate, which reads 5 min of raw counters). For each window,
 * the series of that metric that agree with the alert instance's labels (labels the
 * series does not carry are ignored; the selector's own matchers are not applied, so a
 * 5xx counter born at the first error is not a "gap") are checked, and the best-covered
 * one counts: coverage = 1 − (time before the first sample, and inside gaps longer than
 * `maxGapMs`) / range. A window whose metric has no matching series is skipped (an `or` branch that
 * is absent did not produce the result). Already firing alerts are not affected.
 */
import type { Labels } from '../core/samples.ts';
import type { Expr } from './promql/ast.ts';
import type { AlertingRule, RuleGroup } from './ruleFile.ts';
import { upperBound, type SeriesStore } from './windows.ts';

/** Guard settings. */
export interface CoverageOptions {
  /** Share of each range window that must hold data, default 0.9. */
  readonly minFraction?: number;
  /** Longest interval between samples that still counts as covered, default 90 s (1-minute recording rules, a missed scrape or two). */
  readonly maxGapMs?: number;
}

/** One range window an alert depends on. */
export interface RuleWindow {
  readonly metric: string;
  readonly rangeMs: number;
  readonly offsetMs: number;
}

/** The guard the engine consults before an alert instance may start. */
export interface CoverageGuard {
  /** Range windows `rule` depends on, directly or through recording rules. */
  windows(rule: AlertingRule): readonly RuleWindow[];
  /** True when every window holds enough data for an instance with these result labels. */
  covered(rule: AlertingRule, labels: Labels, nowMs: number): boolean;
}

/** Default guard settings. */
export const COVERAGE_DEFAULTS: Required<CoverageOptions> = { minFraction: 0.9, maxGapMs: 90_000 };

function selectorsOf(e: Expr, out: { matrix: RuleWindow[]; names: Set<string> }): void {
  switch (e.kind) {
    case 'matrixSelector':
      if (e.selector.name !== undefined) {
        out.matrix.push({ metric: e.selector.name, rangeMs: e.rangeMs, offsetMs: Math.max(0, e.selector.offsetMs) });
        out.names.add(e.selector.name);
      }
      break;
    case 'vectorSelector':
      if (e.name !== undefined) out.names.add(e.name);
      break;
    case 'call':
      e.args.forEach((a) => selectorsOf(a, out));
      break;
    case 'aggregate':
      selectorsOf(e.expr, out);
      if (e.param) selectorsOf(e.param, out);
      break;
    case 'binary':
      selectorsOf(e.lhs, out);
      selectorsOf(e.rhs, out);
      break;
    case 'unary':
    case 'paren':
      selectorsOf(e.expr, out);
      break;
    default:
      break;
  }
}

/** Range windows of every alerting rule, through the recording rules it reads. */
export function ruleWindows(groups: readonly RuleGroup[]): Map<AlertingRule, RuleWindow[]> {
  const recorded = new Map<string, Expr[]>();
  for (const g of groups) for (const r of g.rules) if (r.kind === 'record') recorded.set(r.name, [...(recorded.get(r.name) ?? []), r.expr]);
  const out = new Map<AlertingRule, RuleWindow[]>();
  for (const g of groups) {
    for (const r of g.rules) {
      if (r.kind !== 'alert') continue;
      const windows = new Map<string, RuleWindow>();
      const visited = new Set<string>();
      const walk = (e: Expr) => {
        const found = { matrix: [] as RuleWindow[], names: new Set<string>() };
        selectorsOf(e, found);
        for (const w of found.matrix) windows.set(`${w.metric}\u0000${w.rangeMs}\u0000${w.offsetMs}`, w);
        for (const n of found.names) {
          if (visited.has(n)) continue;
          visited.add(n);
          for (const x of recorded.get(n) ?? []) walk(x);
        }
      };
      walk(r.expr);
      out.set(r, [...windows.values()]);
    }
  }
  return out;
}

/**
 * Share of `(end − range, end]` that holds data in `ts[head..]`: the time before the
 * first sample (less one sampling step, the first sample stands for the step before it),
 * and every gap between samples (or after the last) longer than `maxGapMs`, are uncovered.
 */
export function windowCoverage(ts: readonly number[], head: number, endMs: number, rangeMs: number, maxGapMs: number): number {
  if (!(rangeMs > 0)) return 1;
  const start = endMs - rangeMs;
  let i = upperBound(ts, head, start);
  if (i >= ts.length || ts[i]! > endMs) return 0;
  const first = ts[i]!;
  const step = i + 1 < ts.length && ts[i + 1]! <= endMs ? ts[i + 1]! - first : 0;
  let uncovered = Math.max(0, first - start - step);
  let prev = first;
  for (i++; i < ts.length && ts[i]! <= endMs; i++) {
    const gap = ts[i]! - prev;
    if (gap > maxGapMs) uncovered += gap;
    prev = ts[i]!;
  }
  const tail = endMs - prev;
  if (tail > maxGapMs) uncovered += tail;
  return Math.max(0, 1 - uncovered / rangeMs);
}

/** Creates the guard for `groups` over `store`. */
export function createCoverageGuard(groups: readonly RuleGroup[], store: SeriesStore, opts: CoverageOptions = {}): CoverageGuard {
  const minFraction = opts.minFraction ?? COVERAGE_DEFAULTS.minFraction;
  const maxGapMs = opts.maxGapMs ?? COVERAGE_DEFAULTS.maxGapMs;
  const byRule = ruleWindows(groups);
  return {
    windows: (rule) => byRule.get(rule) ?? [],
    covered(rule, labels, nowMs) {
      for (const w of byRule.get(rule) ?? []) {
        let best = -1;
        for (const s of store.select(w.metric, [])) {
          let agrees = true;
          for (const [k, v] of Object.entries(labels)) {
            if (k === '__name__') continue;
            const sv = s.labels[k];
            if (sv !== undefined && sv !== v) {
              agrees = false;
              break;
            }
          }
          if (!agrees) continue;
          best = Math.max(best, windowCoverage(s.ts, s.head, nowMs - w.offsetMs, w.rangeMs, maxGapMs));
          if (best >= minFraction) break;
        }
        if (best >= 0 && best < minFraction) return false;
      }
      return true;
    },
  };
}
