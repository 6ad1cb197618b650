import { describe, expect, it } from 'vitest';
import { parsePromQL, PromQLError } from '../../../rules/promql/parse.ts';
import { every, qv, storeOf } from './helpers.ts';

/** Sessions of two faculties every 15 s for 10 min: med +1/s from 100, law flat at 50; capacities per faculty. */
function store() {
  const n = 41;
  const med = Array.from({ length: n }, (_, i) => 100 + i * 15);
  const law = Array.from({ length: n }, () => 50);
  return storeOf(
    every('s', { faculty: 'med' }, 0, 15, med),
    every('s', { faculty: 'law' }, 0, 15, law),
    every('cap', { faculty: 'med' }, 0, 15, Array.from({ length: n }, () => 1000)),
    every('cap', { faculty: 'law' }, 0, 15, Array.from({ length: n }, () => 400)),
  );
}

describe('vigie_* PromQL extensions', () => {
  it('vigie_time_to_threshold matches a capacity vector on identical labels', () => {
    const st = store();
    // At 600 s med is at 700 rising 1/s → 300 s to 1000; law is flat → +Inf.
    expect(qv(st, 'vigie_time_to_threshold(s[10m], cap)', 600)).toEqual({ '{faculty="law"}': Infinity, '{faculty="med"}': 300 });
    expect(qv(st, 'vigie_time_to_threshold(s[10m], 800)', 600)).toEqual({ '{faculty="law"}': Infinity, '{faculty="med"}': 100 });
    expect(qv(st, 'vigie_time_to_threshold(s{faculty="med"}[10m], cap{faculty="law"})', 600)).toEqual({});
    // Default threshold 1 (utilization ratios): already reached.
    expect(qv(st, 'vigie_time_to_threshold(s[10m])', 600)['{faculty="med"}']).toBe(0);
    const band = qv(st, 'vigie_time_to_threshold_lower(s{faculty="med"}[10m], 1000)', 600)['{faculty="med"}']!;
    expect(band).toBeLessThanOrEqual(300);
    expect(qv(st, 'vigie_time_to_threshold(s[10m], cap) < 400', 600)).toEqual({ '{faculty="med"}': 300 });
  });

  it('vigie_holt_forecast extrapolates and brackets with _lower/_upper', () => {
    const st = store();
    const f = qv(st, 'vigie_holt_forecast(s{faculty="med"}[10m], 300, 0.5, 0.3)', 600)['{faculty="med"}']!;
    expect(f).toBeCloseTo(1000, 6);
    const up = qv(st, 'vigie_holt_forecast_upper(s{faculty="med"}[10m], 300, 0.5, 0.3)', 600)['{faculty="med"}']!;
    const lo = qv(st, 'vigie_holt_forecast_lower(s{faculty="med"}[10m], 300, 0.5, 0.3)', 600)['{faculty="med"}']!;
    expect(lo).toBeLessThanOrEqual(f);
    expect(up).toBeGreaterThanOrEqual(f);
  });

  it('vigie_queue_knee and vigie_anomaly_score', () => {
    const st = store();
    expect(qv(st, 'vigie_queue_knee(s{faculty="law"} / cap{faculty="law"})', 600)).toEqual({ '{faculty="law"}': 1 / (1 - 0.125) });
    const a = qv(st, 'vigie_anomaly_score(s[10m])', 600);
    expect(a['{faculty="law"}']).toBe(0);
    expect(a['{faculty="med"}']).toBeGreaterThanOrEqual(0);
    expect(a['{faculty="med"}']).toBeLessThanOrEqual(1);
  });

  it('type-checks arguments, rejects unknown vigie functions and leaves strings alone', () => {
    expect(() => parsePromQL('vigie_time_to_threshold(s, 1)')).toThrow(/argument 1 must be a range vector/);
    expect(() => parsePromQL('vigie_holt_forecast(s[5m], 60, 0.5)')).toThrow(/expects 4 argument/);
    expect(() => parsePromQL('vigie_nope(s[5m])')).toThrow(PromQLError);
    expect(() => parsePromQL('vigie_nope(s[5m])')).toThrow(/vigie_nope/);
    const e = parsePromQL('s{job="vigie_x("} + vigie_queue_knee(s)');
    expect(e.kind).toBe('binary');
    expect(() => parsePromQL('vigie_time_to_threshold(s[5m], "x")')).toThrow(/scalar or an instant vector/);
    expect(() => qv(store(), 'vigie_holt_forecast(s[5m], 60, 0, 0.5)', 600)).toThrow(/alpha and beta/);
  });
});
