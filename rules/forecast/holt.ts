/**
 * Double exponential smoothing (Holt's linear trend method) over irregularly spaced
 * points, in error-correction form with the trend kept per second, plus a prediction
 * interval from the one-step-ahead errors: Var(h) = σ²·(1 + Σ_{j<k} α²(1 + jβ)²) for
 * k = h / (mean step) steps ahead (Hyndman et al., "Forecasting with Exponential
 * Smoothing", class 1 variance for ETS(A,A,N)).
 */
import { normalQuantile } from './theilSen.ts';
import type { Kernel } from './kernel.ts';

/** Smoothing factors in (0, 1]: `alpha` for the level, `beta` for the trend. */
export interface HoltParams {
  readonly alpha: number;
  readonly beta: number;
}

/** Running Holt state. */
export interface HoltState {
  readonly alpha: number;
  readonly beta: number;
  n: number;
  level: number;
  /** Trend, per second. */
  trend: number;
  lastT: number;
  firstT: number;
  /** Sum of squared one-step errors and their count (from the third point on). */
  sse: number;
  errors: number;
}

/** Forecast function of a fitted state. */
export interface HoltResult {
  readonly level: number;
  readonly trendPerSecond: number;
  /** Standard deviation of one-step-ahead errors (NaN before two errors). */
  readonly sigma: number;
  /** Mean spacing of the points, seconds. */
  readonly stepS: number;
  readonly lastT: number;
  readonly n: number;
}

/** The Holt kernel. */
export const holtKernel: Kernel<HoltState, HoltParams, HoltResult> = {
  create: (p) => ({ alpha: p.alpha, beta: p.beta, n: 0, level: NaN, trend: 0, lastT: NaN, firstT: NaN, sse: 0, errors: 0 }),
  add(s, t, v) {
    if (!Number.isFinite(v)) return s;
    if (s.n === 0) {
      s.level = v;
      s.firstT = t;
    } else {
      const dt = (t - s.lastT) / 1000;
      if (!(dt > 0)) {
        s.level = v; // same instant: keep the newest value
        return s;
      }
      if (s.n === 1) {
        s.trend = (v - s.level) / dt;
        s.level = v;
      } else {
        const pred = s.level + s.trend * dt;
        const e = v - pred;
        s.sse += e * e;
        s.errors++;
        const level = pred + s.alpha * e;
        s.trend += (s.alpha * s.beta * e) / dt;
        s.level = level;
      }
    }
    s.lastT = t;
    s.n++;
    return s;
  },
  result: (s) => ({
    level: s.level,
    trendPerSecond: s.trend,
    sigma: s.errors >= 2 ? Math.sqrt(s.sse / s.errors) : NaN,
    stepS: s.n >= 2 ? (s.lastT - s.firstT) / 1000 / (s.n - 1) : NaN,
    lastT: s.lastT,
    n: s.n,
  }),
};

/** Point forecast `horizonS` seconds after `nowMs`. */
export function holtForecast(r: HoltResult, nowMs: number, horizonS: number): number {
  if (r.n === 0) return NaN;
  return r.level + r.trendPerSecond * ((nowMs - r.lastT) / 1000 + horizonS);
}

/**
 * Half-width of the prediction interval at `horizonS` for two-sided `confidence`
 * (default 0.9, i.e. the upper bound is a 95 % one-sided bound). NaN without errors.
 */
export function holtHalfWidth(r: HoltResult, p: HoltParams, nowMs: number, horizonS: number, confidence = 0.9): number {
  if (!Number.isFinite(r.sigma) || !(r.stepS > 0)) return NaN;
  const k = Math.max(1, Math.round(((nowMs - r.lastT) / 1000 + horizonS) / r.stepS));
  let sum = 1;
  // Closed form of Σ_{j=1}^{k-1} (1 + jβ)² to stay O(1) for long horizons.
  const m = k - 1;
  if (m > 0) sum += p.alpha * p.alpha * (m + p.beta * m * (m + 1) + (p.beta * p.beta * m * (m + 1) * (2 * m + 1)) / 6);
  return normalQuantile(1 - (1 - confidence) / 2) * r.sigma * Math.sqrt(sum);
}
