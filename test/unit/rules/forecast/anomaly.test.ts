import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { anomalyScores, DEFAULT_ANOMALY_THRESHOLD, detectPeriod } from '../../../../rules/forecast/anomaly.ts';

/** Seeded Gaussian noise (LCG + Box–Muller), so every run sees the same series. */
function gaussian(seed: number): () => number {
  let s = seed;
  const u = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s + 1) / 2147483649;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const T = DEFAULT_ANOMALY_THRESHOLD;
const alarms = (s: readonly number[], from = 0, to = s.length) => s.slice(from, to).filter((x) => x >= T).length;

describe('calibrated anomaly score', () => {
  it('stays in [0, 1] for any input, and appending rows never changes earlier scores', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: -1000, max: 1000 })), { maxLength: 200 }),
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 60 }),
        (head, tail) => {
          const opts = { warmup: 10, calibration: 10 };
          const a = anomalyScores(head, opts);
          const b = anomalyScores([...head, ...tail], opts);
          for (const s of b) expect(s >= 0 && s <= 1).toBe(true);
          expect(b.slice(0, a.length)).toEqual(a);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('scores 0 during the warm-up, and exactly 0 on a flat series', () => {
    const g = gaussian(3);
    const xs = Array.from({ length: 500 }, () => 10 + g());
    expect(Math.max(...anomalyScores(xs).slice(0, 130))).toBe(0);
    expect(Math.max(...anomalyScores(Array.from({ length: 5000 }, () => 42)))).toBe(0);
  });

  // The false-alarm rate the default threshold promises: about 1 per 10,000 normal
  // points. Each series is 20,000 points; the bound leaves room for sampling error.
  it.each([
    ['Gaussian noise', (g: () => number) => () => 100 + 2 * g()],
    ['AR(1) noise, φ = 0.8', (g: () => number) => { let a = 0; return () => (a = 0.8 * a + g(), 50 + a); }],
    ['integer counts', (g: () => number) => () => Math.max(0, Math.round(3 + 1.7 * g()))],
    ['random walk', (g: () => number) => { let w = 0; return () => (w += g()); }],
    ['noisy daily cycle (period 24)', (g: () => number) => { let i = 0; return () => 100 + 10 * Math.sin((2 * Math.PI * i++) / 24) + g(); }],
  ])('%s: at most 4 false alarms per 10,000 points at the default threshold', (_name, make) => {
    let total = 0;
    for (const seed of [1, 2]) {
      const next = make(gaussian(seed));
      total += alarms(anomalyScores(Array.from({ length: 20_000 }, next)));
    }
    expect(total / 4).toBeLessThanOrEqual(4);
  });

  it('is quiet on a clean periodic series (well below the threshold)', () => {
    const xs = Array.from({ length: 5000 }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 24));
    expect(Math.max(...anomalyScores(xs))).toBeLessThan(0.999);
    expect(detectPeriod(xs.slice(0, 100))).toBe(24);
  });

  const L = 2000;
  const A = 1500;
  const noisy = (seed: number) => {
    const g = gaussian(seed);
    return Array.from({ length: L }, () => 100 + 2 * g());
  };
  it.each([
    ['spike (6 σ)', (x: number[]) => { x[A]! += 12; return x; }, 1],
    ['level shift (4 σ)', (x: number[]) => x.map((v, i) => (i >= A ? v + 8 : v)), 10],
    ['trend change (0.5 σ a point)', (x: number[]) => x.map((v, i) => (i >= A ? v + (i - A) : v)), 30],
    ['variance change (× 4)', (x: number[]) => x.map((v, i) => (i >= A ? 100 + (v - 100) * 4 : v)), 30],
    ['seasonal: one cycle missing', (x: number[]) => x.map((v, i) => (i >= A && i < A + 24 ? v : v + 20 * Math.sin((2 * Math.PI * i) / 24))), 24],
  ])('finds a %s within its window and raises no alarm before it', (_name, inject, window) => {
    for (const seed of [11, 12, 13]) {
      const s = anomalyScores(inject(noisy(seed)));
      expect(alarms(s, A, A + window), `seed ${seed}`).toBeGreaterThan(0);
      expect(alarms(s, 0, A), `seed ${seed}`).toBeLessThanOrEqual(1);
    }
  });

  it('a spike does not drag the baseline: the points after it are not anomalies', () => {
    const x = noisy(5);
    x[A] = 400;
    const s = anomalyScores(x);
    expect(s[A]).toBeGreaterThanOrEqual(T);
    expect(alarms(s, A + 1, L)).toBe(0);
  });

  it('follows a steady ramp without alarming', () => {
    const g = gaussian(9);
    const xs = Array.from({ length: 3000 }, (_, i) => 10 + 3 * i + g());
    expect(alarms(anomalyScores(xs))).toBeLessThanOrEqual(1);
  });
});
