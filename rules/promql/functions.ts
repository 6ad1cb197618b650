/**
 * The numeric kernels behind PromQL functions, written to follow Prometheus
 * (`promql/functions.go`, `promql/quantile.go`) operation for operation, so results
 * match a real Prometheus to floating-point precision. Pure functions over arrays.
 */

/** Kahan–Neumaier compensated summation step: returns [sum, compensation]. */
export function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/**
 * Prometheus' mean (aggregation `avg` and `avg_over_time`): Kahan-compensated sum while
 * it stays finite, then incremental mean from the sample that would overflow it, so
 * values near ±1.8e308 average to a finite result. Feed with `add`, read with `value`.
 */
export class KahanMean {
  private sum: number;
  private c = 0;
  private mean = 0;
  private n = 1;
  private incremental = false;
  /** Starts with the first value (as Prometheus pre-sets the first sample). */
  constructor(first: number) {
    this.sum = first;
  }
  /** Adds one value. */
  add(v: number): void {
    this.n++;
    const n = this.n;
    if (!this.incremental) {
      const [ns, nc] = kahanSumInc(v, this.sum, this.c);
      if (ns !== Infinity && ns !== -Infinity) {
        this.sum = ns;
        this.c = nc;
        return;
      }
      this.incremental = true;
      this.mean = this.sum / (n - 1);
      this.c /= n - 1;
    }
    const q = (n - 1) / n;
    [this.mean, this.c] = kahanSumInc(v / n, q * this.mean, q * this.c);
  }
  /** The mean of the values added so far. */
  value(): number {
    return this.incremental ? this.mean + this.c : this.sum / this.n + this.c / this.n;
  }
}

/**
 * Prometheus `extrapolatedRate`: rate/increase (counter) and delta (gauge) over the
 * samples of one window (rangeStart, rangeEnd], extrapolating to the window edges when
 * the first/last sample is within 1.1 average intervals of them, and never below a
 * counter's zero point. Returns undefined for fewer than two samples.
 * `legacy` reproduces Prometheus < 2.51, which clamped to the zero point before the
 * threshold test (changed by prometheus/prometheus#13725).
 */
export function extrapolatedRate(
  ts: readonly number[],
  vs: readonly number[],
  rangeStartMs: number,
  rangeEndMs: number,
  isCounter: boolean,
  isRate: boolean,
  legacy = false,
): number | undefined {
  const n = vs.length;
  if (n < 2) return undefined;
  const numSamplesMinusOne = n - 1;
  const firstT = ts[0]!;
  const lastT = ts[numSamplesMinusOne]!;
  let result = vs[numSamplesMinusOne]! - vs[0]!;
  if (isCounter) {
    let prev = vs[0]!;
    for (let i = 1; i < n; i++) {
      const cur = vs[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  let durationToStart = (firstT - rangeStartMs) / 1000;
  let durationToEnd = (rangeEndMs - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / numSamplesMinusOne;
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  if (legacy) {
    if (isCounter && result > 0 && vs[0]! >= 0) {
      const durationToZero = sampledInterval * (vs[0]! / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    extrapolateToInterval += durationToStart < extrapolationThreshold ? durationToStart : averageDurationBetweenSamples / 2;
    extrapolateToInterval += durationToEnd < extrapolationThreshold ? durationToEnd : averageDurationBetweenSamples / 2;
    result = result * (extrapolateToInterval / sampledInterval);
    if (isRate) result = result / ((rangeEndMs - rangeStartMs) / 1000);
    return result;
  }
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter && result > 0 && vs[0]! >= 0) {
    const durationToZero = sampledInterval * (vs[0]! / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  extrapolateToInterval += durationToStart;
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  extrapolateToInterval += durationToEnd;
  let factor = extrapolateToInterval / sampledInterval;
  if (isRate) factor /= (rangeEndMs - rangeStartMs) / 1000;
  return result * factor;
}

/** Prometheus `instantValue`: irate (isRate) / idelta from the last two samples. */
export function instantRate(ts: readonly number[], vs: readonly number[], isRate: boolean): number | undefined {
  const n = vs.length;
  if (n < 2) return undefined;
  const t0 = ts[n - 2]!;
  const t1 = ts[n - 1]!;
  const v0 = vs[n - 2]!;
  const v1 = vs[n - 1]!;
  const sampledInterval = t1 - t0;
  if (sampledInterval === 0) return undefined;
  let result = v1;
  if (!isRate || !(v1 < v0)) result = v1 - v0;
  if (isRate) result /= sampledInterval / 1000;
  return result;
}

/**
 * Least-squares fit of value against time (seconds relative to `interceptMs`), as
 * Prometheus `linearRegression`: returns [slope per second, intercept at interceptMs].
 */
export function linearRegression(ts: readonly number[], vs: readonly number[], interceptMs: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = vs[0]!;
  let constY = true;
  for (let i = 0; i < vs.length; i++) {
    const y = vs[i]!;
    if (constY && i > 0 && y !== initY) constY = false;
    n += 1;
    const x = (ts[i]! - interceptMs) / 1e3;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(y, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

/** A classic histogram bucket: cumulative count of observations ≤ upperBound. */
export interface Bucket {
  upperBound: number;
  count: number;
}

const SMALL_DELTA_TOLERANCE = 1e-12;
const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus `almost.Equal`: equal within a relative epsilon (NaN equals NaN). */
export function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/**
 * Prometheus `BucketQuantile` for classic buckets: sorts, merges equal bounds, forces
 * monotonic counts, and interpolates linearly inside the bucket holding rank q·total.
 * NaN without a +Inf bucket, fewer than two buckets, or zero observations; the
 * second-highest bound when the rank lands in +Inf; the bound itself for a first
 * bucket with upper bound ≤ 0.
 */
export function bucketQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (input.length === 0) return NaN;
  const sorted = [...input].sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return NaN;
  // Coalesce buckets with the same upper bound (e.g. le="1" and le="1.0").
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push({ upperBound: b.upperBound, count: b.count });
  }
  let prev = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const curr = buckets[i]!.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      buckets[i]!.count = prev;
      continue;
    }
    if (curr < prev) {
      buckets[i]!.count = prev;
      continue;
    }
    prev = curr;
  }
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // sort.Search over all but the +Inf bucket.
  let b = 0;
  {
    let lo = 0;
    let hi = buckets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (buckets[mid]!.count >= rank) hi = mid;
      else lo = mid + 1;
    }
    b = lo;
  }
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/**
 * Prometheus `quantile` (φ-quantile of values, linear interpolation between closest
 * ranks; NaN sorts first). Sorts `values` in place.
 */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  values.sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b));
  const n = values.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  if (weight === 0) return values[lower]!;
  return values[lower]! * (1 - weight) + values[upper]! * weight;
}

/** Population variance with Welford's update and Kahan compensation, as Prometheus `varianceOverTime`. */
export function varianceOf(vs: readonly number[]): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (const x of vs) {
    count++;
    const delta = x - (mean + cMean);
    [mean, cMean] = kahanSumInc(delta / count, mean, cMean);
    [aux, cAux] = kahanSumInc(delta * (x - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

/**
 * Prometheus `integral` (experimental): the area under the samples, NaN counted as 0,
 * with the left-point (0), right-point (1) or trapezoidal (2) rule, Kahan-compensated.
 */
export function integralOf(ts: readonly number[], vs: readonly number[], strategy: number): number {
  let sum = 0;
  let c = 0;
  let prevV = 0;
  let prevT = 0;
  for (let i = 0; i < vs.length; i++) {
    const cur = Number.isNaN(vs[i]!) ? 0 : vs[i]!;
    const prev = Number.isNaN(prevV) ? 0 : prevV;
    let value = 0;
    let cValue = 0;
    if (strategy === 0) value = prev;
    else if (strategy === 1) value = cur;
    else if (prev !== 0 || cur !== 0) {
      [value, cValue] = kahanSumInc(cur, prev, 0);
      if (!Number.isFinite(value) && !Number.isNaN(value) && Number.isFinite(cur) && Number.isFinite(prev)) [value, cValue] = kahanSumInc(cur / 2, prev / 2, 0);
      else {
        value /= 2;
        cValue /= 2;
      }
    }
    if (i > 0 && (value !== 0 || cValue !== 0)) {
      const dt = (ts[i]! - prevT) / 1000;
      [sum, c] = kahanSumInc(value * dt, sum, c + cValue * dt);
    }
    prevV = vs[i]!;
    prevT = ts[i]!;
  }
  return sum === Infinity || sum === -Infinity ? sum : sum + c;
}

/** Prometheus `interpolate`: the value at `t` on the line between two samples (a counter reset counts from 0). */
export function interpolate(t1: number, v1: number, t2: number, v2: number, t: number, isCounter: boolean): number {
  const y1 = isCounter && v2 < v1 ? 0 : v1;
  return y1 + ((v2 - y1) * (t - t1)) / (t2 - t1);
}

/** Go `sort.Search(n, pred)`: the first index in [0, n) where `pred` holds, else n. */
function search(n: number, pred: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Prometheus `extendedRate` for `anchored` and `smoothed` windows (without start
 * timestamps): the difference between the values at the window edges — the last sample
 * at or before each edge, or (smoothed) the value interpolated there — plus counter-reset
 * corrections, per second of range for rate. The samples span the window plus the
 * lookback before it (and after it, smoothed). Undefined when no sample is inside.
 */
export function extendedRate(ts: readonly number[], vs: readonly number[], rangeStart: number, rangeEnd: number, smoothed: boolean, isCounter: boolean, isRate: boolean): number | undefined {
  let last = vs.length - 1;
  if (last < 0) return undefined;
  let first = Math.max(0, search(last, (i) => ts[i]! > rangeStart) - 1);
  if (smoothed) last = search(last, (i) => ts[i]! >= rangeEnd);
  if (ts[last]! <= rangeStart) return undefined;
  if (smoothed && ts[first]! > rangeEnd) return undefined;
  let left: number;
  if (ts[first]! >= rangeStart) left = vs[first]!;
  else left = smoothed ? interpolate(ts[first]!, vs[first]!, ts[first + 1]!, vs[first + 1]!, rangeStart, isCounter) : vs[first]!;
  let right: number;
  if (ts[last]! <= rangeEnd || last === 0) right = vs[last]!;
  else right = smoothed ? interpolate(ts[last - 1]!, vs[last - 1]!, ts[last]!, vs[last]!, rangeEnd, isCounter) : vs[last - 1]!;
  let result = right - left;
  if (isCounter) {
    if (ts[first]! <= rangeStart) first++;
    if (ts[last]! >= rangeEnd) last--;
    let correction = 0;
    let prev = left;
    for (let i = first; i <= last; i++) {
      if (vs[i]! < prev) correction += prev;
      prev = vs[i]!;
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (isRate) result /= (rangeEnd - rangeStart) / 1000;
  return result;
}

/** Prometheus `double_exponential_smoothing` (Holt's linear method; formerly holt_winters) of at least two values. */
export function doubleExponentialSmoothing(vs: readonly number[], sf: number, tf: number): number {
  let s0 = 0;
  let s1 = vs[0]!;
  let b = vs[1]! - vs[0]!;
  for (let i = 1; i < vs.length; i++) {
    const x = sf * vs[i]!;
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/**
 * Prometheus `BucketFraction` for classic buckets: the estimated fraction of
 * observations between `lower` and `upper`, interpolating linearly inside buckets
 * (the first bucket starts at 0, or at −Inf when its bound is ≤ 0).
 */
export function bucketFraction(lower: number, upper: number, input: readonly Bucket[]): number {
  if (input.length === 0) return NaN;
  const sorted = [...input].sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return NaN;
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push({ upperBound: b.upperBound, count: b.count });
  }
  const count = buckets[buckets.length - 1]!.count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = buckets[0]!.upperBound <= 0 ? -Infinity : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (i > 0) lowerBound = buckets[i - 1]!.upperBound;
    const upperBound = b.upperBound;
    const lb = lowerBound;
    const interpolate = (v: number): number => (lb === -Infinity ? b.count : rank + ((b.count - rank) * (v - lb)) / (upperBound - lb));
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
