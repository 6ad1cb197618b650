/**
 * Vigie's own PromQL functions (extensions; Prometheus functions are untouched). Each is
 * a thin adapter from range/instant vectors to a pure kernel in `rules/forecast/`.
 *
 * - `vigie_time_to_threshold(v range-vector, threshold scalar|instant-vector = 1)`:
 *   seconds until the Theil–Sen trend of each series rises to the threshold (0 when
 *   already there, +Inf when not heading there). A vector threshold is matched to the
 *   range series on identical label sets (metric name ignored), e.g.
 *   `vigie_time_to_threshold(faculty:sessions:sum[10m], faculty:capacity:sum)`; series
 *   without a match are dropped. `_lower` / `_upper`: the same with the steepest /
 *   shallowest slope of the 90 % Sen confidence interval (earliest / latest plausible).
 * - `vigie_holt_forecast(v range-vector, horizon_seconds, alpha, beta)`: Holt double
 *   exponential smoothing of each series, forecast `horizon_seconds` after the
 *   evaluation time; `_upper` / `_lower`: bounds of its 90 % prediction interval.
 * - `vigie_queue_knee(rho instant-vector, servers scalar?)`: expected response time in
 *   service times at utilization ρ: 1/(1 − ρ) (M/M/1), or the M/M/c Erlang-C form with
 *   `servers`; +Inf at ρ ≥ 1.
 * - `vigie_anomaly_score(v range-vector)`: calibrated anomaly score (1 − tail probability)
 *   of the newest sample of each series, the window being its history (see
 *   `rules/forecast/anomaly.ts`; 0 until the window holds 70 points).
 *
 * All drop the metric name, as Prometheus functions that compute new values do.
 */
import type { Labels } from '../../core/samples.ts';
import { ANOMALY_WINDOW_PARAMS, anomalyKernel } from '../forecast/anomaly.ts';
import { holtForecast, holtHalfWidth, holtKernel } from '../forecast/holt.ts';
import { runKernel } from '../forecast/kernel.ts';
import { queueKnee } from '../forecast/queue.ts';
import { theilSen, timeToThreshold, type Band } from '../forecast/theilSen.ts';

/** Argument types a Vigie function accepts (`scalar|vector`: either). */
export type VigieArgType = 'scalar' | 'vector' | 'matrix' | 'scalar|vector';

/** Signature of a Vigie function. */
export interface VigieSignature {
  readonly args: readonly VigieArgType[];
  readonly minArgs?: number;
  readonly returns: 'vector';
}

const TTT: VigieSignature = { args: ['matrix', 'scalar|vector'], minArgs: 1, returns: 'vector' };
const HOLT: VigieSignature = { args: ['matrix', 'scalar', 'scalar', 'scalar'], returns: 'vector' };

/** Every Vigie extension function. */
export const VIGIE_FUNCTIONS: Readonly<Record<string, VigieSignature>> = {
  vigie_time_to_threshold: TTT,
  vigie_time_to_threshold_lower: TTT,
  vigie_time_to_threshold_upper: TTT,
  vigie_holt_forecast: HOLT,
  vigie_holt_forecast_upper: HOLT,
  vigie_holt_forecast_lower: HOLT,
  vigie_queue_knee: { args: ['vector', 'scalar'], minArgs: 1, returns: 'vector' },
  vigie_anomaly_score: { args: ['matrix'], returns: 'vector' },
};

/** A range series as the evaluator hands it over. */
export interface SeriesWindow {
  readonly labels: Labels;
  readonly ts: readonly number[];
  readonly vs: readonly number[];
}

/** An instant sample. */
export interface InstantSample {
  readonly labels: Labels;
  readonly value: number;
}

/** A threshold: one scalar for all series, or a value per label set (key: `labelKey`). */
export type Threshold = { readonly kind: 'scalar'; readonly value: number } | { readonly kind: 'vector'; readonly byKey: ReadonlyMap<string, number> };

/** Identity of a label set for matching, ignoring `__name__` and empty values. */
export function labelKey(l: Labels): string {
  const keys = Object.keys(l).sort();
  let out = '';
  for (const k of keys) {
    if (k === '__name__') continue;
    const v = l[k]!;
    if (v !== '') out += k + '\xfe' + v + '\xff';
  }
  return out;
}

/** Builds a per-label-set threshold from an instant vector (duplicates: the first wins). */
export function vectorThreshold(samples: readonly InstantSample[]): Threshold {
  const byKey = new Map<string, number>();
  for (const s of samples) {
    const k = labelKey(s.labels);
    if (!byKey.has(k)) byKey.set(k, s.value);
  }
  return { kind: 'vector', byKey };
}

function band(func: string): Band {
  return func.endsWith('_lower') ? 'lower' : func.endsWith('_upper') ? 'upper' : 'mid';
}

/** `vigie_time_to_threshold*` over windows ending at `nowMs`. */
export function timeToThresholdFn(func: string, series: readonly SeriesWindow[], threshold: Threshold, nowMs: number): { labels: Labels; value: number }[] {
  const out: { labels: Labels; value: number }[] = [];
  const b = band(func);
  for (const s of series) {
    let thr: number | undefined;
    if (threshold.kind === 'scalar') thr = threshold.value;
    else thr = threshold.byKey.get(labelKey(s.labels));
    if (thr === undefined || s.ts.length < 2) continue;
    const fit = theilSen(s.ts, s.vs, nowMs);
    out.push({ labels: s.labels, value: timeToThreshold(fit, thr, b) });
  }
  return out;
}

/** `vigie_holt_forecast*` over windows ending at `nowMs`. */
export function holtFn(func: string, series: readonly SeriesWindow[], horizonS: number, alpha: number, beta: number, nowMs: number): { labels: Labels; value: number }[] {
  if (!(alpha > 0 && alpha <= 1) || !(beta > 0 && beta <= 1)) {
    throw new RangeError(`${func}(): alpha and beta must be in (0, 1], got alpha=${alpha}, beta=${beta}`);
  }
  const p = { alpha, beta };
  const b = band(func);
  const out: { labels: Labels; value: number }[] = [];
  for (const s of series) {
    if (s.ts.length < 2) continue;
    const r = runKernel(holtKernel, p, s.ts, s.vs, nowMs);
    const f = holtForecast(r, nowMs, horizonS);
    if (b === 'mid') out.push({ labels: s.labels, value: f });
    else {
      const w = holtHalfWidth(r, p, nowMs, horizonS);
      if (!Number.isNaN(w)) out.push({ labels: s.labels, value: b === 'upper' ? f + w : f - w });
    }
  }
  return out;
}

/** `vigie_queue_knee` element-wise. */
export function queueKneeFn(v: readonly InstantSample[], servers: number | undefined): { labels: Labels; value: number }[] {
  return v.map((s) => ({ labels: s.labels, value: queueKnee(s.value, servers) }));
}

/** `vigie_anomaly_score`: score of each window's newest sample. */
export function anomalyScoreFn(series: readonly SeriesWindow[], nowMs: number): { labels: Labels; value: number }[] {
  return series.map((s) => ({ labels: s.labels, value: runKernel(anomalyKernel, ANOMALY_WINDOW_PARAMS, s.ts, s.vs, nowMs) }));
}
