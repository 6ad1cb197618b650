import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { anomalyScores } from '../../../alerts/forecast/anomaly.ts';

/** Deterministic pseudo-noise in [-1, 1]. */
const noise = (i: number) => Math.sin(i * 12.9898) * 0.5 + Math.sin(i * 78.233) * 0.5;

describe('robust anomaly score', () => {
  it('stays in [0, 1] for any input, and appending rows never changes earlier scores', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: -1000, max: 1000 })), { maxLength: 80 }),
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 30 }),
        (head, tail) => {
          const a = anomalyScores(head);
          const b = anomalyScores([...head, ...tail]);
          for (const s of b) expect(s >= 0 && s <= 1).toBe(true);
          expect(b.slice(0, a.length)).toEqual(a);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('scores a spike high and the noise around it low, and the spike does not drag the baseline', () => {
    const xs = Array.from({ length: 120 }, (_, i) => 100 + 2 * noise(i));
    xs[80] = 160;
    const s = anomalyScores(xs);
    expect(s[80]).toBeGreaterThan(0.95);
    const calm = s.slice(20, 80).concat(s.slice(82));
    expect(Math.max(...calm)).toBeLessThan(0.5);
    expect(calm.filter((x) => x > 0.1).length).toBeLessThan(calm.length * 0.05);
  });

  it('adapts to a level shift within a few points', () => {
    const xs = Array.from({ length: 150 }, (_, i) => (i < 80 ? 100 : 200) + 2 * noise(i));
    const s = anomalyScores(xs);
    expect(s[80]).toBeGreaterThan(0.95);
    expect(Math.max(...s.slice(90))).toBeLessThan(0.5);
  });

  it('follows a steady ramp without alarming', () => {
    const xs = Array.from({ length: 150 }, (_, i) => 10 + 3 * i + noise(i));
    const s = anomalyScores(xs);
    expect(Math.max(...s.slice(30))).toBeLessThan(0.3);
  });
});
