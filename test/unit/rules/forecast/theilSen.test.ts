import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalQuantile, theilSen, timeToThreshold } from '../../../../rules/forecast/theilSen.ts';
import { medianInPlace, select } from '../../../../rules/forecast/kernel.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);
const grid = (n: number, stepS = 15) => Array.from({ length: n }, (_, i) => T0 + i * stepS * 1000);

describe('Theil–Sen time to threshold', () => {
  it('recovers an exact line and the crossing time', () => {
    const ts = grid(41); // 10 min
    const vs = ts.map((t) => 100 + 2 * ((t - T0) / 1000)); // +2/s
    const now = ts[40]!;
    const fit = theilSen(ts, vs, now);
    expect(fit.slope).toBeCloseTo(2, 9);
    expect(fit.level).toBeCloseTo(100 + 2 * 600, 9);
    expect(timeToThreshold(fit, 1300 + 2 * 300)).toBeCloseTo(300, 6);
  });

  it('ignores a fifth of wild outliers where least squares would not', () => {
    const ts = grid(40);
    const vs = ts.map((t, i) => 500 + 1 * ((t - T0) / 1000) + (i % 5 === 0 ? 400 : 0));
    const fit = theilSen(ts, vs, ts[39]!);
    expect(fit.slope).toBeGreaterThan(0.9);
    expect(fit.slope).toBeLessThan(1.1);
  });

  it('orders the band: earliest ≤ mid ≤ latest crossing, on noisy data', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 20, maxLength: 60 }), (noise) => {
        const ts = grid(noise.length);
        const vs = ts.map((t, i) => 100 + 0.5 * ((t - T0) / 1000) + noise[i]!);
        const fit = theilSen(ts, vs, ts[ts.length - 1]!);
        const thr = 10_000;
        const lo = timeToThreshold(fit, thr, 'lower');
        const mid = timeToThreshold(fit, thr, 'mid');
        const hi = timeToThreshold(fit, thr, 'upper');
        expect(lo).toBeLessThanOrEqual(mid);
        expect(mid).toBeLessThanOrEqual(hi);
      }),
      { numRuns: 100 },
    );
  });

  it('is 0 at or above the threshold and +Inf on a flat or falling trend', () => {
    const ts = grid(20);
    expect(timeToThreshold(theilSen(ts, ts.map(() => 50), ts[19]!), 40)).toBe(0);
    expect(timeToThreshold(theilSen(ts, ts.map(() => 50), ts[19]!), 60)).toBe(Infinity);
    expect(timeToThreshold(theilSen(ts, ts.map((_, i) => 50 - i), ts[19]!), 60)).toBe(Infinity);
    expect(Number.isNaN(theilSen([T0], [1], T0).slope)).toBe(true);
  });

  it('bounds the cost on long windows (thinned pairs) and still finds the slope', () => {
    const ts = grid(2000, 1);
    const vs = ts.map((t) => 3 * ((t - T0) / 1000));
    expect(theilSen(ts, vs, ts[1999]!).slope).toBeCloseTo(3, 6);
  });
});

describe('kernel helpers', () => {
  it('median and select agree with sorting', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 50 }), (xs) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const k = Math.floor(xs.length / 3);
        expect(select(Float64Array.from(xs), xs.length, k)).toBe(sorted[k]);
        const n = xs.length;
        const med = n % 2 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
        expect(medianInPlace(Float64Array.from(xs))).toBeCloseTo(med, 6);
      }),
    );
  });
  it('normal quantile', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.6449, 4);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.0902, 4);
  });
});
