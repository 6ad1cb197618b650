import { describe, expect, it } from 'vitest';
import { holtForecast, holtHalfWidth, holtKernel } from '../../../../rules/forecast/holt.ts';
import { runKernel } from '../../../../rules/forecast/kernel.ts';
import { erlangC, queueKnee } from '../../../../rules/forecast/queue.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);

describe('Holt forecast', () => {
  it('extrapolates a clean linear trend exactly', () => {
    const ts = Array.from({ length: 30 }, (_, i) => T0 + i * 15_000);
    const vs = ts.map((t) => 10 + 0.2 * ((t - T0) / 1000));
    const now = ts[29]!;
    const r = runKernel(holtKernel, { alpha: 0.5, beta: 0.3 }, ts, vs, now);
    expect(holtForecast(r, now, 600)).toBeCloseTo(10 + 0.2 * (29 * 15 + 600), 6);
  });

  it('gives a prediction interval that contains the forecast and widens with the horizon', () => {
    const ts = Array.from({ length: 40 }, (_, i) => T0 + i * 15_000);
    const vs = ts.map((t, i) => 100 + 0.5 * ((t - T0) / 1000) + (i % 2 ? 5 : -5));
    const now = ts[39]!;
    const p = { alpha: 0.4, beta: 0.2 };
    const r = runKernel(holtKernel, p, ts, vs, now);
    const w60 = holtHalfWidth(r, p, now, 60);
    const w600 = holtHalfWidth(r, p, now, 600);
    expect(w60).toBeGreaterThan(0);
    expect(w600).toBeGreaterThan(w60);
  });
});

describe('queue knee', () => {
  it('is 1/(1-ρ) for one server and explodes at ρ → 1', () => {
    expect(queueKnee(0)).toBe(1);
    expect(queueKnee(0.5)).toBeCloseTo(2, 12);
    expect(queueKnee(0.9)).toBeCloseTo(10, 9);
    expect(queueKnee(1)).toBe(Infinity);
    expect(queueKnee(1.3)).toBe(Infinity);
    expect(Number.isNaN(queueKnee(NaN))).toBe(true);
  });
  it('uses Erlang C with c servers (many servers: later, sharper knee)', () => {
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 12);
    expect(erlangC(2, 0.5)).toBeCloseTo(1 / 3, 12);
    expect(queueKnee(0.5, 1)).toBeCloseTo(2, 12);
    expect(queueKnee(0.8, 50)).toBeLessThan(1.1);
    expect(queueKnee(0.99, 50)).toBeGreaterThan(queueKnee(0.8, 50) * 2);
  });
});
