/**
 * Streaming anomaly score calibrated as a tail probability: score = 1 − p, where p is
 * the estimated probability that a point of the series' own recent normal behaviour
 * deviates from the forecast at least as much as this one. A threshold on the score is
 * therefore a false-alarm rate: at score ≥ 0.9999 (p ≤ 10⁻⁴) a calibrated detector
 * raises about one alarm per 10,000 normal points, on any series.
 *
 * Three parts, each point using only itself and earlier points (appending never changes
 * an earlier score):
 * 1. Forecast: robust Holt(-Winters) — level, trend and, when the series has a period
 *    (given, or found by autocorrelation during the warm-up), an additive seasonal
 *    profile, all updated with Huber-clipped residuals so one outlier moves them by at
 *    most k·scale. A run of `shiftRun` same-side outliers re-anchors the level (a level
 *    shift scores high for a few points, not for ever).
 * 2. Nonconformity, several statistics: the point's |residual| / scale, and for each run
 *    length m (5 and 20) the summed deviation of the last m points from the forecast made
 *    before them, in scales / √m — a level shift or a trend change of a few scales that
 *    no single point shows, and that the adapting baseline would otherwise absorb. The
 *    scale is a slow EWMA of clipped absolute residuals (a variance change stands out
 *    until it catches up). p = (1 + #runs) · min over the statistics (Bonferroni).
 * 3. Calibration: the empirical distribution of the last `window` nonconformities. Where
 *    at least `tailMin` past values reach the current one, p is their share (with the
 *    conformal +1); beyond, a generalized Pareto tail fitted by moments on the top
 *    values (peaks over threshold, as in Siffer et al., KDD 2017) extrapolates p.
 *    p is never below the two-sided Gaussian tail of the robust z-score, so a residual
 *    within a few scales is never an anomaly even when it tops a very regular history.
 *
 * Flat series score 0 (every residual is 0 and ties are not surprising); periodic series
 * score low once their period is learnt, because their residuals repeat. The first
 * `warmup` points and the next `calibration` points score 0 (not enough history).
 */
import { medianInPlace, type Kernel } from './kernel.ts';

/** Tuning knobs (defaults in {@link ANOMALY_DEFAULTS}). */
export interface AnomalyParams {
  /** Level smoothing. */
  readonly alpha?: number;
  /** Trend smoothing (relative to alpha). */
  readonly beta?: number;
  /** Seasonal smoothing. */
  readonly delta?: number;
  /** Scale smoothing (slow, so variance changes stand out). */
  readonly gamma?: number;
  /** Huber clip, in scales. */
  readonly k?: number;
  /** Points used to initialise level, trend, scale and to detect the period (they score 0). */
  readonly warmup?: number;
  /** Nonconformities collected after the warm-up before scores are given (they score 0). */
  readonly calibration?: number;
  /** Nonconformities kept for the empirical distribution. */
  readonly window?: number;
  /** Minimum number of past values at least as extreme for a counted p; fewer → tail fit. */
  readonly tailMin?: number;
  /** Run lengths of the run statistics (level shifts and trend changes that no single point shows). */
  readonly runLengths?: readonly number[];
  /** Consecutive same-side outliers (beyond k scales) that declare a level shift. */
  readonly shiftRun?: number;
  /** Season length in points; 0 = none; undefined = detect during the warm-up. */
  readonly period?: number;
}

/** Default knobs. */
export const ANOMALY_DEFAULTS: Required<Omit<AnomalyParams, 'period'>> & { readonly period: number | undefined } = {
  alpha: 0.15,
  beta: 0.1,
  delta: 0.2,
  gamma: 0.01,
  k: 4,
  warmup: 100,
  calibration: 30,
  window: 1000,
  tailMin: 10,
  runLengths: [5, 20],
  shiftRun: 5,
  period: undefined,
};

/**
 * Knobs of `vigie_anomaly_score` (a rule window, e.g. 2 h of per-minute points): a short
 * warm-up and no season, so a score exists once the window holds 70 points.
 */
export const ANOMALY_WINDOW_PARAMS: AnomalyParams = { warmup: 20, calibration: 30, period: 0 };

/**
 * Default alarm threshold on the score: p ≤ 10⁻⁴, about one false alarm per 10,000
 * normal points (measured in test/unit/rules/forecast/anomaly.test.ts).
 */
export const DEFAULT_ANOMALY_THRESHOLD = 0.9999;

type Params = typeof ANOMALY_DEFAULTS;

function maxRun(p: Params): number {
  let m = 0;
  for (const r of p.runLengths) m = Math.max(m, r);
  return m;
}

/** Streaming state. */
export interface AnomalyState {
  readonly p: Params;
  n: number;
  level: number;
  trend: number;
  /** Seasonal profile (length = period) or empty. */
  season: number[];
  period: number;
  /** Mean absolute (clipped) residual. */
  absDev: number;
  warm: number[];
  run: number;
  runSign: number;
  runValues: number[];
  /** Past point nonconformities (|residual| / scale), calibrated. */
  point: Calibration;
  /** Per run length m: past run nonconformities (see {@link runDeviation}), calibrated. */
  runStats: Calibration[];
  /** Nonconformities waiting `maxRun` points before they join the calibration. */
  pendingCal: number[][];
  /** Last max(runLengths) points: deseasonalised value and the level/trend before it. */
  recent: { x: number; level: number; trend: number }[];
  /** Tail probability and score of the last point added. */
  pValue: number;
  score: number;
}

/** 1.2533 = √(π/2): mean absolute deviation → σ for Gaussian residuals. */
const MAD_TO_SIGMA = 1.2533;

function scaleOf(s: AnomalyState): number {
  // Floor relative to the level: float jitter on a flat series is not an anomaly.
  return Math.max(MAD_TO_SIGMA * s.absDev, 1e-9 * Math.max(1, Math.abs(s.level)));
}

/** Period with the strongest autocorrelation (> 0.5) of the detrended warm-up, or 0. */
export function detectPeriod(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 12) return 0;
  // Remove a least-squares line so a ramp does not look periodic.
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += i;
    sy += xs[i]!;
    sxx += i * i;
    sxy += i * xs[i]!;
  }
  const den = n * sxx - sx * sx;
  const b = den === 0 ? 0 : (n * sxy - sx * sy) / den;
  const a = (sy - b * sx) / n;
  const d = xs.map((x, i) => x - a - b * i);
  let v = 0;
  for (const x of d) v += x * x;
  if (!(v > 0)) return 0;
  const maxLag = Math.floor(n / 3);
  const acf = [1];
  for (let lag = 1; lag <= maxLag; lag++) {
    let c = 0;
    for (let i = lag; i < n; i++) c += d[i]! * d[i - lag]!;
    acf.push((c / (n - lag)) / (v / n)); // unbiased: longer lags sum fewer products
  }
  // A period is the highest autocorrelation peak after the first dip below zero (short
  // lags of any smooth series correlate strongly without being periods).
  let lag0 = 1;
  while (lag0 <= maxLag && acf[lag0]! > 0) lag0++;
  // The first lag past 0.5, then the best lag of that peak (its multiples correlate
  // almost as well and would double the period).
  let first = lag0 + 1;
  while (first <= maxLag && acf[first]! <= 0.5) first++;
  if (first > maxLag) return 0;
  let best = first;
  for (let lag = first + 1; lag <= Math.min(maxLag, Math.floor(first * 1.5)); lag++) if (acf[lag]! > acf[best]!) best = lag;
  return best;
}

/** Complementary error function (Numerical Recipes erfcc, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Maps a tail probability to the score. */
export function pToScore(p: number): number {
  return Number.isFinite(p) ? Math.min(1, Math.max(0, 1 - p)) : 0;
}

function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** A sliding empirical distribution: values sorted ascending, and in arrival order (ring). */
export interface Calibration {
  readonly sorted: Float64Array;
  readonly ring: Float64Array;
  count: number;
  head: number;
}

function calibration(window: number): Calibration {
  return { sorted: new Float64Array(window), ring: new Float64Array(window), count: 0, head: 0 };
}

/** Tail probability of nonconformity `z` against the stored distribution. */
function tailProbability(c: Calibration, z: number, tailMin: number): number {
  const n = c.count;
  const a = c.sorted;
  const ge = n - lowerBound(a, n, z);
  if (ge >= tailMin || n < 2 * tailMin) return (ge + 1) / (n + 1);
  // Peaks over threshold: the tailMin-th largest value is the threshold u; fit a
  // generalized Pareto distribution to the excesses of the values above it.
  const k = Math.max(tailMin, Math.floor(0.05 * n));
  const u = a[n - k]!;
  let m = 0;
  let m2 = 0;
  for (let i = n - k + 1; i < n; i++) {
    const e = a[i]! - u;
    m += e;
    m2 += e * e;
  }
  const cnt = k - 1;
  m /= cnt;
  const v = m2 / cnt - m * m;
  const base = k / (n + 1);
  if (!(m > 0)) return z > u ? 0 : base; // all top values equal: anything above them is new
  const r = v > 0 ? (m * m) / v : 1;
  const xi = Math.min(0.5, Math.max(0, 0.5 * (1 - r)));
  const sigma = 0.5 * m * (1 + r);
  const y = Math.max(0, z - u);
  const tail = xi < 1e-6 ? Math.exp(-y / sigma) : Math.pow(1 + (xi * y) / sigma, -1 / xi);
  return Math.min((ge + 1) / (n + 1), base * tail);
}

function remember(c: Calibration, z0: number): void {
  const z = Number.isFinite(z0) ? z0 : Number.MAX_VALUE;
  const w = c.ring.length;
  const a = c.sorted;
  if (c.count === w) {
    // Evict the oldest value.
    const old = c.ring[c.head]!;
    const i = lowerBound(a, c.count, old);
    a.copyWithin(i, i + 1, c.count);
    c.count--;
  }
  const j = lowerBound(a, c.count, z);
  a.copyWithin(j + 1, j, c.count);
  a[j] = z;
  c.count++;
  c.ring[c.head] = z;
  c.head = (c.head + 1) % w;
}

/**
 * Run nonconformity over the last m points: their deviations from the forecast made
 * *before* the first of them (so the baseline's own adaptation cannot absorb a level
 * shift or a trend change), each clipped at k scales (one spike cannot make a run),
 * summed and divided by √m · scale.
 */
function runDeviation(s: AnomalyState, m: number, scale: number): number {
  const n = s.recent.length;
  if (n < m) return 0;
  const first = s.recent[n - m]!;
  const lim = s.p.k * scale;
  let sum = 0;
  for (let j = 0; j < m; j++) {
    const d = s.recent[n - m + j]!.x - (first.level + first.trend * (j + 1));
    sum += d > lim ? lim : d < -lim ? -lim : d;
  }
  return Math.abs(sum) / (Math.sqrt(m) * scale);
}

/** p of one statistic: its empirical tail, never below the two-sided Gaussian tail of z. */
function statP(c: Calibration, z: number, tailMin: number): number {
  return Math.max(tailProbability(c, z, tailMin), erfc(z / Math.SQRT2));
}

function initialise(s: AnomalyState): void {
  const xs = s.warm;
  const n = xs.length;
  const P = s.p.period ?? detectPeriod(xs);
  s.period = P >= 2 && P <= n / 2 ? P : 0;
  // Robust trend: median of the slopes between the halves' medians.
  const half = Math.floor(n / 2);
  const m1 = medianInPlace(Float64Array.from(xs.slice(0, half)));
  const m2 = medianInPlace(Float64Array.from(xs.slice(half)));
  const slope = s.period ? 0 : (m2 - m1) / Math.max(1, n - half);
  const centre = (n - 1) / 2;
  const base = xs.map((x, i) => x - slope * (i - centre));
  const mid = medianInPlace(Float64Array.from(base));
  s.season = [];
  if (s.period) {
    const P2 = s.period;
    const sums = new Array<number>(P2).fill(0);
    const cnts = new Array<number>(P2).fill(0);
    for (let i = 0; i < n; i++) {
      sums[i % P2]! += base[i]! - mid;
      cnts[i % P2]!++;
    }
    s.season = sums.map((v, i) => v / Math.max(1, cnts[i]!));
  }
  s.level = mid + slope * (n - 1 - centre);
  s.trend = slope;
  const res = xs.map((x, i) => Math.abs(base[i]! - mid - (s.period ? s.season[i % s.period]! : 0)));
  // Median absolute deviation ≈ 0.6745 σ; stored as a mean absolute deviation (≈ 0.798 σ).
  s.absDev = medianInPlace(Float64Array.from(res)) / 0.6745 / MAD_TO_SIGMA;
  s.warm = [];
}

/** The anomaly kernel: `result` is the score (1 − tail probability) of the last point added. */
export const anomalyKernel: Kernel<AnomalyState, AnomalyParams, number> = {
  create: (params) => {
    const p: Params = { ...ANOMALY_DEFAULTS, ...params };
    return {
      p,
      n: 0,
      level: NaN,
      trend: 0,
      season: [],
      period: 0,
      absDev: 0,
      warm: [],
      run: 0,
      runSign: 0,
      runValues: [],
      point: calibration(p.window),
      runStats: p.runLengths.map(() => calibration(p.window)),
      recent: [],
      pendingCal: [],
      pValue: 1,
      score: 0,
    };
  },
  add(s, _t, x) {
    const p = s.p;
    s.pValue = 1;
    s.score = 0;
    if (!Number.isFinite(x)) return s; // missing / NaN points carry no evidence
    s.n++;
    if (s.n <= p.warmup) {
      // NB: the warm-up also bounds the detectable period (≤ warmup / 3).
      s.warm.push(x);
      if (s.n === p.warmup) initialise(s);
      return s;
    }
    const phase = s.period ? (s.n - 1) % s.period : 0;
    const seas = s.period ? s.season[phase]! : 0;
    const scale = scaleOf(s);
    const pred = s.level + s.trend + seas;
    const r = x - pred;
    const z = Math.abs(r) / scale;
    const lim = p.k * scale;
    const rc = r > lim ? lim : r < -lim ? -lim : r;
    s.recent.push({ x: x - seas, level: s.level, trend: s.trend });
    if (s.recent.length > maxRun(p)) s.recent.shift();
    const zRuns = p.runLengths.map((m) => runDeviation(s, m, scale));
    if (s.point.count >= p.calibration) {
      // Surprising only if surprising against the series' own history *and* beyond a few
      // robust scales (the largest of a periodic series' tiny repeating residuals tops
      // its history, yet is no anomaly). The statistics are Bonferroni-combined.
      let pMin = statP(s.point, z, p.tailMin);
      zRuns.forEach((zr, i) => {
        pMin = Math.min(pMin, statP(s.runStats[i]!, zr, p.tailMin));
      });
      s.pValue = Math.min(1, (1 + zRuns.length) * pMin);
      s.score = pToScore(s.pValue);
    }
    // Values join the calibration only `maxRun` points later: an anomaly that builds up
    // gradually is not compared with its own first points.
    s.pendingCal.push([z, ...zRuns]);
    const warmingUp = s.point.count < p.calibration;
    while (s.pendingCal.length > (warmingUp ? 0 : maxRun(p))) {
      const [zp, ...zr] = s.pendingCal.shift()!;
      remember(s.point, zp!);
      zr.forEach((v, i) => remember(s.runStats[i]!, v));
    }
    if (z > p.k) {
      const sign = r > 0 ? 1 : -1;
      if (sign === s.runSign) s.run++;
      else {
        s.run = 1;
        s.runSign = sign;
        s.runValues = [];
      }
      s.runValues.push(x - seas);
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
    s.level = s.level + s.trend + p.alpha * rc;
    // An outlier moves the level (clipped) but not the trend: a spike would otherwise tilt
    // the forecast the run statistics compare the next points with.
    if (z <= p.k) s.trend += p.alpha * p.beta * rc;
    if (s.period) s.season[phase] = seas + p.delta * (1 - p.alpha) * rc;
    // The scale learns from residuals clipped at 2 scales: a sustained deviation (trend
    // change, level shift) widens it by at most ~1.5 % a point instead of hiding itself.
    s.absDev = (1 - p.gamma) * s.absDev + p.gamma * Math.min(Math.abs(r), 2 * scale);
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
