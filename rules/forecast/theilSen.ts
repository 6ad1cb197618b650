/**
 * Robust trend of a window: the Theil–Sen estimator (median of pairwise slopes) with
 * Sen's rank-based confidence interval for the slope, and the time until the trend
 * reaches a threshold. Outliers and short bursts move a median of ~n²/2 slopes very
 * little, and a single exam-start step contributes only the pairs that straddle it,
 * so the estimate follows the sustained ramp rather than the noise.
 */
import { medianInPlace, select, type Kernel } from './kernel.ts';

/** Parameters: two-sided confidence of the slope interval (default 0.9). */
export interface TheilSenParams {
  readonly confidence?: number;
}

/** Accumulated points of a window. */
export interface TheilSenState {
  readonly confidence: number;
  ts: number[];
  vs: number[];
}

/** Robust line through the window, evaluated at `nowMs`. */
export interface TheilSenResult {
  /** Median pairwise slope, per second (NaN with fewer than two distinct timestamps). */
  readonly slope: number;
  /** Lower and upper bounds of the slope's confidence interval, per second. */
  readonly slopeLow: number;
  readonly slopeHigh: number;
  /** Robust level of the line at `nowMs`: median of v − slope·(t − now). */
  readonly level: number;
  /** Last value of the window. */
  readonly last: number;
  readonly n: number;
}

/** Above this many points the pairs come from an evenly thinned subset (bounded cost: ≤ 2,016 pairs). */
const MAX_POINTS = 64;

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - pl) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Theil–Sen fit of `vs` against `ts` (ms), slope per second, level at `nowMs`. */
export function theilSen(ts: readonly number[], vs: readonly number[], nowMs: number, confidence = 0.9): TheilSenResult {
  const n = ts.length;
  const last = n ? vs[n - 1]! : NaN;
  if (n < 2) return { slope: NaN, slopeLow: NaN, slopeHigh: NaN, level: last, last, n };
  // Thin evenly (always keeping the last point) so the pair count stays bounded.
  const m = Math.min(n, MAX_POINTS);
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = m === n ? i : Math.round((i * (n - 1)) / (m - 1));
  const slopes = new Float64Array((m * (m - 1)) / 2);
  let k = 0;
  for (let i = 0; i < m; i++) {
    const ti = ts[idx[i]!]!;
    const vi = vs[idx[i]!]!;
    for (let j = i + 1; j < m; j++) {
      const dt = (ts[idx[j]!]! - ti) / 1000;
      if (dt <= 0) continue;
      const s = (vs[idx[j]!]! - vi) / dt;
      if (Number.isFinite(s)) slopes[k++] = s;
    }
  }
  if (k === 0) return { slope: NaN, slopeLow: NaN, slopeHigh: NaN, level: last, last, n };
  const slope = medianInPlace(slopes, k);
  // Sen (1968): ranks of the interval bounds among the ordered slopes.
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const cAlpha = z * Math.sqrt((m * (m - 1) * (2 * m + 5)) / 18);
  const lo = Math.max(0, Math.min(k - 1, Math.floor((k - cAlpha) / 2)));
  const hi = Math.max(0, Math.min(k - 1, Math.ceil((k + cAlpha) / 2)));
  const slopeLow = select(slopes, k, lo);
  const slopeHigh = select(slopes, k, hi);
  const resid = new Float64Array(n);
  for (let i = 0; i < n; i++) resid[i] = vs[i]! - slope * ((ts[i]! - nowMs) / 1000);
  const level = medianInPlace(resid, n);
  return { slope, slopeLow: Math.min(slopeLow, slope), slopeHigh: Math.max(slopeHigh, slope), level, last, n };
}

/** The Theil–Sen kernel (state = the window's points; merge concatenates consecutive windows). */
export const theilSenKernel: Kernel<TheilSenState, TheilSenParams, TheilSenResult> = {
  create: (p) => ({ confidence: p.confidence ?? 0.9, ts: [], vs: [] }),
  add(s, t, v) {
    s.ts.push(t);
    s.vs.push(v);
    return s;
  },
  merge: (a, b) => ({ confidence: a.confidence, ts: [...a.ts, ...b.ts], vs: [...a.vs, ...b.vs] }),
  result: (s, now) => theilSen(s.ts, s.vs, now, s.confidence),
};

/** Which line of the band to use for the time to threshold. */
export type Band = 'mid' | 'lower' | 'upper';

/**
 * Seconds from now until the robust trend reaches `threshold` from below (saturation:
 * value ≥ threshold): 0 when the level or the last value is already there, +Inf when
 * the trend is flat or falling. For a floor (e.g. free memory), record the negated
 * series and threshold. `lower` uses the steepest plausible slope (the earliest
 * plausible crossing), `upper` the shallowest (the latest).
 */
export function timeToThreshold(fit: TheilSenResult, threshold: number, band: Band = 'mid'): number {
  if (Number.isNaN(threshold) || Number.isNaN(fit.level)) return NaN;
  if (fit.level >= threshold || fit.last >= threshold) return 0;
  const slope = band === 'lower' ? fit.slopeHigh : band === 'upper' ? fit.slopeLow : fit.slope;
  if (Number.isNaN(slope)) return NaN;
  if (!(slope > 0)) return Infinity;
  return (threshold - fit.level) / slope;
}
