/**
 * Streaming robust anomaly score in [0, 1]. The baseline is a Holt-style level + trend
 * updated with Huber-clipped residuals (an outlier moves it by at most k·scale), the
 * dispersion is an EWMA of clipped absolute residuals (a robust MAD-like scale), and a
 * level-shift detector re-anchors the baseline on the median of the last `shiftRun`
 * points once that many consecutive residuals sit beyond k·scale on the same side, so a
 * new plateau stops scoring high after a few points instead of for ever.
 *
 * Score of a point: 0 while |z| ≤ 2, then 1 − exp(−(|z| − 2)²/8) (≈0.12 at z = 3,
 * 0.39 at 4, 0.68 at 5, 0.99 at 8), z being the residual over the scale *before* the
 * point is folded in — each score depends on that point and earlier ones only.
 */
import { medianInPlace, type Kernel } from './kernel.ts';

/** Tuning knobs (defaults in {@link ANOMALY_DEFAULTS}). */
export interface AnomalyParams {
  /** Level smoothing. */
  readonly alpha?: number;
  /** Trend smoothing (relative to alpha). */
  readonly beta?: number;
  /** Scale smoothing. */
  readonly gamma?: number;
  /** Huber clip, in scales. */
  readonly k?: number;
  /** Points used to initialise level and scale (they score 0). */
  readonly warmup?: number;
  /** Consecutive same-side outliers that declare a level shift. */
  readonly shiftRun?: number;
}

/** Default knobs. */
export const ANOMALY_DEFAULTS: Required<AnomalyParams> = { alpha: 0.15, beta: 0.1, gamma: 0.05, k: 3, warmup: 8, shiftRun: 5 };

/** Streaming state. */
export interface AnomalyState {
  readonly p: Required<AnomalyParams>;
  n: number;
  level: number;
  trend: number;
  /** Mean absolute (clipped) residual. */
  absDev: number;
  warm: number[];
  run: number;
  runSign: number;
  runValues: number[];
  /** Score of the last point added. */
  score: number;
}

/** 1.2533 = √(π/2): mean absolute deviation → σ for Gaussian residuals. */
const MAD_TO_SIGMA = 1.2533;

function scaleOf(s: AnomalyState): number {
  // Floor: a flat series would otherwise divide by zero; 0.1 % of the level is "noise".
  return Math.max(MAD_TO_SIGMA * s.absDev, 1e-3 * Math.abs(s.level), 1e-9);
}

/** Maps a robust z-score to [0, 1]. */
export function zToScore(z: number): number {
  if (Number.isNaN(z)) return 0;
  const a = Math.abs(z) - 2;
  return a <= 0 ? 0 : 1 - Math.exp(-(a * a) / 8);
}

/** The anomaly kernel: `result` is the score of the last point added. */
export const anomalyKernel: Kernel<AnomalyState, AnomalyParams, number> = {
  create: (p) => ({
    p: { ...ANOMALY_DEFAULTS, ...p },
    n: 0,
    level: NaN,
    trend: 0,
    absDev: 0,
    warm: [],
    run: 0,
    runSign: 0,
    runValues: [],
    score: 0,
  }),
  add(s, _t, x) {
    const p = s.p;
    if (!Number.isFinite(x)) {
      s.score = 0; // missing / NaN points carry no evidence
      return s;
    }
    s.n++;
    if (s.n <= p.warmup) {
      s.warm.push(x);
      const w = Float64Array.from(s.warm);
      s.level = medianInPlace(w);
      const dev = Float64Array.from(s.warm, (v) => Math.abs(v - s.level));
      // Median absolute deviation ≈ 0.6745 σ; stored as a mean absolute deviation (≈ 0.798 σ).
      s.absDev = (medianInPlace(dev) / 0.6745) / MAD_TO_SIGMA;
      s.score = 0;
      if (s.n === p.warmup) s.warm = [];
      return s;
    }
    const scale = scaleOf(s);
    const pred = s.level + s.trend;
    const r = x - pred;
    const z = r / scale;
    s.score = zToScore(z);
    const lim = p.k * scale;
    const rc = r > lim ? lim : r < -lim ? -lim : r;
    if (Math.abs(z) > p.k) {
      const sign = r > 0 ? 1 : -1;
      if (sign === s.runSign) s.run++;
      else {
        s.run = 1;
        s.runSign = sign;
        s.runValues = [];
      }
      s.runValues.push(x);
      if (s.run >= p.shiftRun) {
        // Level shift: re-anchor on the new plateau, forget the trend, widen the scale a little.
        s.level = medianInPlace(Float64Array.from(s.runValues));
        s.trend = 0;
        s.absDev = Math.max(s.absDev, Math.abs(rc) / p.k);
        s.run = 0;
        s.runSign = 0;
        s.runValues = [];
        return s;
      }
    } else {
      s.run = 0;
      s.runSign = 0;
      s.runValues = [];
    }
    s.level = pred + p.alpha * rc;
    s.trend += p.alpha * p.beta * rc;
    s.absDev = (1 - p.gamma) * s.absDev + p.gamma * Math.abs(rc);
    return s;
  },
  result: (s) => s.score,
};

/** Scores a whole series, point by point (streaming: score i uses points 0..i only). */
export function anomalyScores(vs: readonly number[], params: AnomalyParams = {}): number[] {
  const s = anomalyKernel.create(params);
  const out: number[] = [];
  for (let i = 0; i < vs.length; i++) {
    anomalyKernel.add(s, i, vs[i]!);
    out.push(s.score);
  }
  return out;
}
