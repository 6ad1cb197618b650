/**
 * Issue 11, item 4: the cardinality limits forget idle series, so a legitimate series
 * that arrives after a label bomb (or a metric-name bomb) is accepted again without a
 * restart, and what is tracked never exceeds the limits.
 */
import { describe, expect, it } from 'vitest';
import { createCardinalityLimiter } from '../../../otlp/cardinality.ts';

const MIN = 60_000;

describe('cardinality limiter', () => {
  it('accepts a legitimate new series once the bomb\'s series have gone idle', () => {
    const l = createCardinalityLimiter({ maxSeriesPerMetric: 1000, idleMs: 30 * MIN });
    const t0 = 1_000_000;
    for (let i = 0; i < 5000; i++) l.check('http_requests', `{user="${i}"}`, t0);
    expect(l.count('http_requests')).toBe(1000);
    expect(l.check('http_requests', '{faculty="law"}', t0 + MIN)).toBe('cardinality_limit');
    // The bomb stops; 31 min later the legitimate series gets in.
    expect(l.check('http_requests', '{faculty="law"}', t0 + 31 * MIN)).toBeUndefined();
    expect(l.count('http_requests')).toBe(1);
  });

  it('keeps series that are still sending', () => {
    const l = createCardinalityLimiter({ maxSeriesPerMetric: 2, idleMs: 10 * MIN });
    l.check('m', 'a', 0);
    l.check('m', 'b', 0);
    l.check('m', 'a', 9 * MIN);
    expect(l.check('m', 'c', 11 * MIN)).toBeUndefined();
    expect(l.check('m', 'a', 11 * MIN)).toBeUndefined();
    expect(l.check('m', 'd', 11 * MIN)).toBe('cardinality_limit');
  });

  it('bounds metric names and total series, and forgets idle names', () => {
    const l = createCardinalityLimiter({ maxMetricNames: 100, maxSeries: 500, idleMs: 10 * MIN });
    for (let i = 0; i < 200_000; i++) l.check(`bomb_${i}`, '{}', 0);
    expect(l.size()).toEqual({ series: 100, metrics: 100 });
    expect(l.check('ecampus_sessions_active', '{faculty="law"}', MIN)).toBe('metric_name_limit');
    expect(l.check('ecampus_sessions_active', '{faculty="law"}', 11 * MIN)).toBeUndefined();
    for (let i = 0; i < 10_000; i++) l.check('ecampus_sessions_active', `{v="${i}"}`, 12 * MIN);
    expect(l.size().series).toBeLessThanOrEqual(500);
  });
});
