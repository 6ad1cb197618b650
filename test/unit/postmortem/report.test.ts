/** Post-mortem math without a database: quantiles, collapse, deviation, lead times. */
import { describe, expect, it } from 'vitest';
import { analyse, formatLead, histogramQuantile, leadTimeOf, parseLe, type AlertEvent } from '../../../postmortem/index.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 12, 8, 0);

describe('histogramQuantile', () => {
  const b = (pairs: Array<[number, number]>) => pairs.map(([le, count]) => ({ le, count }));

  it('interpolates linearly inside the bucket holding the rank, like Prometheus', () => {
    // 100 observations: 50 ≤ 0.1, 90 ≤ 0.5, 100 ≤ 1.
    const h = b([[0.1, 50], [0.5, 90], [1, 100], [Infinity, 100]]);
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.1, 12);
    expect(histogramQuantile(0.95, h)).toBeCloseTo(0.5 + 0.5 * (5 / 10), 12);
    expect(histogramQuantile(0.25, h)).toBeCloseTo(0.05, 12); // first bucket starts at 0
  });

  it('answers the last finite bound when the rank falls in +Inf', () => {
    expect(histogramQuantile(0.99, b([[1, 10], [Infinity, 100]]))).toBe(1);
  });

  it('is null without observations or without a +Inf bucket', () => {
    expect(histogramQuantile(0.95, b([[1, 0], [Infinity, 0]]))).toBeNull();
    expect(histogramQuantile(0.95, b([[1, 5]]))).toBeNull();
    expect(histogramQuantile(0.95, [])).toBeNull();
  });

  it('sorts buckets and repairs non-monotonic counts', () => {
    expect(histogramQuantile(0.5, b([[Infinity, 10], [1, 10], [0.5, 12]]))).toBeCloseTo(0.25, 12);
  });

  it('parses le labels', () => {
    expect(parseLe('+Inf')).toBe(Infinity);
    expect(parseLe('0.25')).toBe(0.25);
    expect(parseLe('')).toBeNull();
    expect(parseLe('abc')).toBeNull();
  });
});

describe('analyse', () => {
  const minutes = [0, 1, 2, 3, 4].map((i) => T0 + i * MIN);
  const gauges = minutes.map((m, i) => ({ faculty: 'f', minute_ms: m, sessions: [10, 85, 95, 120, 120][i]!, capacity: 100 }));
  const requests = minutes.map((m, i) => ({ faculty: 'f', minute_ms: m, requests: 100, errors: [0, 1, 40, 60, 80][i]! }));
  const alert = (atMs: number, state: string, faculty?: string, severity = 'page'): AlertEvent => ({
    atMs,
    rule: 'R',
    fingerprint: '1',
    state,
    labels: faculty ? { faculty, severity } : { severity },
    annotations: {},
    value: 1,
    activeAtMs: null,
  });

  it('finds the first deviation, the collapse and the lead time of each page', () => {
    const r = analyse(
      { database: 'd', fromMs: T0, toMs: T0 + 5 * MIN },
      gauges,
      requests,
      [],
      [alert(T0 + 30_000, 'pending', 'f'), alert(T0 + 90_000, 'firing', 'f'), alert(T0 + 4 * MIN, 'resolved', 'f')],
    );
    expect(r.firstDeviation).toMatchObject({ faculty: 'f', minuteMs: T0 + MIN, kind: 'utilization' });
    expect(r.collapse).toMatchObject({ faculty: 'f', minuteMs: T0 + 3 * MIN, errorRatio: 0.6 });
    expect(r.pages).toEqual([
      expect.objectContaining({ rule: 'R', firedAtMs: T0 + 90_000, resolvedAtMs: T0 + 4 * MIN, leadTimeMs: 3 * MIN - 90_000, leadTimeAgainst: 'f' }),
    ]);
    expect(r.faculties[0]!.peakUtilization).toEqual({ minuteMs: T0 + 3 * MIN, value: 1.2 });
  });

  it('counts pages and warnings apart, and measures the lead time from the first page only', () => {
    const warn = { ...alert(T0 + 30_000, 'firing', 'f', 'warning'), rule: 'W', fingerprint: '2' };
    const r = analyse({ database: 'd', fromMs: T0, toMs: T0 + 5 * MIN }, gauges, requests, [], [warn, alert(T0 + 2 * MIN, 'firing', 'f')]);
    expect(r.pages.map((p) => p.rule)).toEqual(['R']);
    expect(r.warnings.map((p) => [p.rule, p.severity])).toEqual([['W', 'warning']]);
    expect(r.firstPage?.firedAtMs).toBe(T0 + 2 * MIN);
    // One definition: earliest collapse minus first page, not the best of the per-page leads.
    expect(r.leadTimeMs).toBe(MIN);
    expect(leadTimeOf(r.pages, r.collapse)).toEqual({ firstPage: r.firstPage, leadTimeMs: MIN });
    expect(leadTimeOf([], r.collapse)).toEqual({ firstPage: null, leadTimeMs: null });
  });

  it('ignores minutes with too few requests for a collapse', () => {
    const few = requests.map((r) => ({ ...r, requests: 4, errors: 4 }));
    expect(analyse({ database: 'd', fromMs: T0, toMs: T0 + 5 * MIN }, gauges, few, [], []).collapse).toBeNull();
  });

  it('measures a page without a faculty label against the earliest collapse', () => {
    const r = analyse({ database: 'd', fromMs: T0, toMs: T0 + 5 * MIN }, gauges, requests, [], [alert(T0 + 4 * MIN, 'firing')]);
    expect(r.pages[0]!.leadTimeMs).toBe(-MIN);
    expect(r.pages[0]!.resolvedAtMs).toBeNull();
  });

  it('uses latency as the deviation when it comes first', () => {
    const calm = gauges.map((g) => ({ ...g, sessions: 10 }));
    const buckets = [
      { faculty: 'f', minute_ms: T0 + 2 * MIN, le: '1', n: 10 },
      { faculty: 'f', minute_ms: T0 + 2 * MIN, le: '5', n: 100 },
      { faculty: 'f', minute_ms: T0 + 2 * MIN, le: '+Inf', n: 100 },
    ];
    const r = analyse({ database: 'd', fromMs: T0, toMs: T0 + 5 * MIN }, calm, requests, buckets, []);
    expect(r.firstDeviation).toMatchObject({ minuteMs: T0 + 2 * MIN, kind: 'latency' });
    expect(r.firstDeviation!.value).toBeGreaterThan(1);
  });
});

describe('formatLead', () => {
  it('signs and pads durations', () => {
    expect(formatLead(8 * MIN)).toBe('+8m00s');
    expect(formatLead(-125_000)).toBe('-2m05s');
    expect(formatLead(3_725_000)).toBe('+1h02m05s');
  });
});
