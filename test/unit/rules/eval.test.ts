import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bucketQuantile, extrapolatedRate } from '../../../rules/promql/functions.ts';
import { evaluate, type Value } from '../../../rules/promql/eval.ts';
import { parsePromQL } from '../../../rules/promql/parse.ts';
import { every, q, qv, series, storeOf, T0 } from './helpers.ts';

const near = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('rate / increase / delta (Prometheus extrapolatedRate)', () => {
  it('extrapolates a regular counter to the window edges', () => {
    const s = storeOf(every('c_total', { a: '1' }, 0, 15, [0, 15, 30, 45, 60]));
    // window (0s, 60s]: samples at 15..60 → 45 over 45 s, start gap 15 s < 1.1·15 → extrapolate to 60 s.
    near(qv(s, 'increase(c_total[1m])', 60)['{a="1"}']!, 60);
    near(qv(s, 'rate(c_total[1m])', 60)['{a="1"}']!, 1);
  });

  it('adds the pre-reset value on counter resets', () => {
    const s = storeOf(series('c_total', {}, [15, 30, 45, 60], [10, 20, 5, 15]));
    // 15-10 + 20 (reset) = 25 over 45 s, extrapolated to 60 s.
    near(qv(s, 'increase(c_total[1m])', 60)['{}']!, (25 * 60) / 45);
    near(qv(s, 'rate(c_total[1m])', 60)['{}']!, (25 * 60) / 45 / 60);
  });

  it('extrapolates only half an interval when the series starts inside the window', () => {
    const s = storeOf(series('c_total', {}, [40, 55], [100, 130]));
    // start gap 40 s ≥ 16.5 → 7.5 s; end gap 5 s → kept; 30·(15+7.5+5)/15.
    near(qv(s, 'increase(c_total[1m])', 60)['{}']!, 55);
  });

  it('never extrapolates a counter below zero', () => {
    const s = storeOf(series('c_total', {}, [30, 45], [1, 31]));
    // zero point 0.5 s before the first sample; end gap 15 s < 16.5 kept.
    near(qv(s, 'increase(c_total[1m])', 60)['{}']!, (30 * 30.5) / 15);
  });

  it('delta does not treat drops as resets and may be negative', () => {
    const s = storeOf(every('g', {}, 15, 15, [10, 20, 5, 15]));
    near(qv(s, 'delta(g[1m])', 60)['{}']!, (5 * 60) / 45);
  });

  it('needs two samples; window is left-open', () => {
    const s = storeOf(series('c_total', {}, [0, 60], [0, 10]));
    // (0, 60]: only the sample at 60 → no result.
    expect(qv(s, 'rate(c_total[1m])', 60)).toEqual({});
    expect(Object.keys(qv(s, 'rate(c_total[61s])', 60))).toHaveLength(1);
  });

  it('irate uses the last two samples and handles resets', () => {
    const s = storeOf(every('c_total', {}, 0, 15, [0, 30, 60, 3]));
    near(qv(s, 'irate(c_total[1m])', 45)['{}']!, 3 / 15);
    near(qv(s, 'irate(c_total[1m])', 30)['{}']!, 2);
  });

  it('offset shifts the window', () => {
    const s = storeOf(every('c_total', {}, 0, 15, [0, 15, 30, 45, 60, 120, 180, 240, 300]));
    near(qv(s, 'increase(c_total[1m] offset 1m)', 120)['{}']!, 60);
  });

  it('is scale-invariant for regular counters (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 30 }), fc.double({ min: 0.001, max: 1000, noNaN: true }), (incs, k) => {
        let acc = 0;
        const vs = incs.map((x) => (acc += x));
        const ts = vs.map((_, i) => 1000 + i * 15_000);
        const end = ts[ts.length - 1]!;
        const a = extrapolatedRate(ts, vs, end - 600_000, end, true, true)!;
        const b = extrapolatedRate(ts, vs.map((v) => v * k), end - 600_000, end, true, true)!;
        expect(Math.abs(b - a * k)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(a * k)));
        expect(a).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('histogram_quantile', () => {
  const h = (le: string, v: number, extra: Record<string, string> = {}) => every('lat_bucket', { le, ...extra }, 0, 15, [v]);
  const s = storeOf(h('0.1', 10), h('0.5', 30), h('1', 40), h('+Inf', 50), h('1', 5, { f: 'x' }));
  it('interpolates inside the bucket', () => {
    near(qv(s, 'histogram_quantile(0.5, lat_bucket)', 0)['{}']!, 0.4);
    near(qv(s, 'histogram_quantile(0.05, lat_bucket)', 0)['{}']!, 0.025);
  });
  it('returns the highest finite bound when the rank falls in +Inf, NaN without +Inf', () => {
    expect(qv(s, 'histogram_quantile(0.95, lat_bucket)', 0)['{}']).toBe(1);
    expect(qv(s, 'histogram_quantile(0.5, lat_bucket)', 0)['{f="x"}']).toBeNaN();
  });
  it('handles q outside [0,1], zero counts and non-monotonic buckets', () => {
    expect(qv(s, 'histogram_quantile(1.5, lat_bucket)', 0)['{}']).toBe(Infinity);
    expect(qv(s, 'histogram_quantile(-1, lat_bucket)', 0)['{}']).toBe(-Infinity);
    expect(bucketQuantile(0.5, [{ upperBound: 1, count: 0 }, { upperBound: Infinity, count: 0 }])).toBeNaN();
    // le=1 has 5 < 10 of le=0.5: forced monotonic to 10, so the le=2 bucket holds 10, not 15.
    near(bucketQuantile(0.75, [{ upperBound: 0.5, count: 10 }, { upperBound: 1, count: 5 }, { upperBound: 2, count: 20 }, { upperBound: Infinity, count: 20 }]), 1.5);
    expect(bucketQuantile(0.1, [{ upperBound: -1, count: 5 }, { upperBound: Infinity, count: 10 }])).toBe(-1);
  });
  it('works on rates grouped by le', () => {
    const st = storeOf(
      every('d_bucket', { le: '1', f: 'a' }, 0, 15, [0, 10, 20, 30, 40]),
      every('d_bucket', { le: '2', f: 'a' }, 0, 15, [0, 20, 40, 60, 80]),
      every('d_bucket', { le: '+Inf', f: 'a' }, 0, 15, [0, 20, 40, 60, 80]),
    );
    near(qv(st, 'histogram_quantile(0.75, sum by (f, le) (rate(d_bucket[1m])))', 60)['{f="a"}']!, 1.5);
  });
});

describe('deriv / predict_linear / *_over_time', () => {
  const s = storeOf(every('g', { x: '1' }, 0, 15, [5, 35, 65, 95, 125]));
  it('fits the slope per second', () => {
    near(qv(s, 'deriv(g[1m])', 60)['{x="1"}']!, 2);
  });
  it('predicts from the evaluation time', () => {
    near(qv(s, 'predict_linear(g[1m], 600)', 60)['{x="1"}']!, 125 + 2 * 600);
    near(qv(s, 'predict_linear(g[5m], 0)', 60)['{x="1"}']!, 125);
  });
  it('over_time aggregations', () => {
    expect(qv(s, 'avg_over_time(g[1m])', 60)).toEqual({ '{x="1"}': 80 });
    expect(qv(s, 'max_over_time(g[1m])', 60)).toEqual({ '{x="1"}': 125 });
    expect(qv(s, 'min_over_time(g[1m])', 60)).toEqual({ '{x="1"}': 35 });
    expect(qv(s, 'count_over_time(g[1m])', 60)).toEqual({ '{x="1"}': 4 });
    expect(qv(s, 'sum_over_time(g[1m])', 60)).toEqual({ '{x="1"}': 320 });
    expect(qv(s, 'last_over_time(g[1m])', 60)).toEqual({ '{__name__="g",x="1"}': 125 });
  });
});

describe('instant selectors and staleness', () => {
  const s = storeOf(every('up', { job: 'a' }, 0, 15, [1, 1]), every('up', { job: 'b' }, 0, 15, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
  it('uses the latest sample within 5 minutes', () => {
    expect(Object.keys(qv(s, 'up', 300))).toEqual(['{__name__="up",job="a"}', '{__name__="up",job="b"}']);
  });
  it('drops a series with no sample in the lookback (left-open)', () => {
    // job a's last sample is at 15 s: stale from 315 s on.
    expect(Object.keys(qv(s, 'up', 315))).toEqual(['{__name__="up",job="b"}']);
    expect(qv(s, 'absent(up{job="a"})', 315)).toEqual({ '{job="a"}': 1 });
    expect(qv(s, 'absent(up{job="b"})', 315)).toEqual({});
  });
  it('matches regex anchored and negative matchers', () => {
    expect(Object.keys(qv(s, 'up{job=~"a|b"}', 0))).toHaveLength(2);
    expect(Object.keys(qv(s, 'up{job=~"b."}', 0))).toHaveLength(0);
    expect(Object.keys(qv(s, 'up{job!~"a"}', 0))).toEqual(['{__name__="up",job="b"}']);
    expect(Object.keys(qv(s, 'up{job!="a"}', 0))).toEqual(['{__name__="up",job="b"}']);
  });
});

describe('timestamp()', () => {
  // job a: samples at 0, 15 s; job b: every 15 s from 0 to 360 s.
  const s = storeOf(every('up', { job: 'a' }, 0, 15, [1, 1]), every('up', { job: 'b' }, 0, 15, Array.from({ length: 25 }, () => 1)));
  const sec = (offsetS: number) => T0 / 1000 + offsetS;
  it('of a vector selector is each sample\'s own timestamp in seconds, without the metric name', () => {
    // At 100 s: a's last sample is at 15 s, b's at 90 s.
    expect(qv(s, 'timestamp(up)', 100)).toEqual({ '{job="a"}': sec(15), '{job="b"}': sec(90) });
    expect(qv(s, 'timestamp((up{job="b"}))', 100)).toEqual({ '{job="b"}': sec(90) });
    // Offset: the timestamp of the sample the shifted selector picks (not shifted back).
    expect(qv(s, 'timestamp(up{job="b"} offset 1m)', 100)).toEqual({ '{job="b"}': sec(30) });
    // Age of the latest sample, the usual staleness check.
    expect(qv(s, 'time() - timestamp(up)', 100)).toEqual({ '{job="a"}': 85, '{job="b"}': 10 });
  });
  it('follows the lookback window: stale series are absent', () => {
    expect(qv(s, 'timestamp(up)', 315)).toEqual({ '{job="b"}': sec(315) });
  });
  it('of any other expression is the evaluation time', () => {
    expect(qv(s, 'timestamp(sum by (job) (up))', 100)).toEqual({ '{job="a"}': sec(100), '{job="b"}': sec(100) });
    expect(qv(s, 'timestamp(up * 2)', 100)).toEqual({ '{job="a"}': sec(100), '{job="b"}': sec(100) });
    expect(qv(s, 'timestamp(vector(1))', 100)).toEqual({ '{}': sec(100) });
  });
  it('rejects a range vector', () => {
    expect(() => q(s, 'timestamp(up[1m])', 100)).toThrow();
  });
});

describe('aggregations, arithmetic and vector matching', () => {
  const s = storeOf(
    every('sess', { faculty: 'med', server: 's1' }, 0, 15, [10]),
    every('sess', { faculty: 'med', server: 's2' }, 0, 15, [30]),
    every('sess', { faculty: 'law', server: 's3' }, 0, 15, [5]),
    every('cap', { faculty: 'med' }, 0, 15, [100]),
    every('cap', { faculty: 'law' }, 0, 15, [10]),
    every('info', { faculty: 'med', owner: 'alice' }, 0, 15, [1]),
  );
  it('sum/avg/min/max/count by and without', () => {
    expect(qv(s, 'sum by (faculty) (sess)', 0)).toEqual({ '{faculty="med"}': 40, '{faculty="law"}': 5 });
    expect(qv(s, 'avg(sess)', 0)).toEqual({ '{}': 15 });
    expect(qv(s, 'max without (server) (sess)', 0)).toEqual({ '{faculty="med"}': 30, '{faculty="law"}': 5 });
    expect(qv(s, 'min(sess)', 0)).toEqual({ '{}': 5 });
    expect(qv(s, 'count by (faculty) (sess)', 0)).toEqual({ '{faculty="med"}': 2, '{faculty="law"}': 1 });
    expect(Object.values(qv(s, 'topk(1, sess)', 0))).toEqual([30]);
  });
  it('one-to-one matching drops the name; comparisons filter and keep it', () => {
    expect(qv(s, 'sum by (faculty) (sess) / on (faculty) cap', 0)).toEqual({ '{faculty="med"}': 0.4, '{faculty="law"}': 0.5 });
    expect(qv(s, 'sess > 8', 0)).toEqual({ '{__name__="sess",faculty="med",server="s1"}': 10, '{__name__="sess",faculty="med",server="s2"}': 30 });
    expect(qv(s, 'sess > bool 8', 0)).toEqual({ '{faculty="med",server="s1"}': 1, '{faculty="med",server="s2"}': 1, '{faculty="law",server="s3"}': 0 });
    expect(qv(s, '2 * sess{server="s3"}', 0)).toEqual({ '{faculty="law",server="s3"}': 10 });
    expect(qv(s, '8 < sess', 0)).toEqual({ '{__name__="sess",faculty="med",server="s1"}': 10, '{__name__="sess",faculty="med",server="s2"}': 30 });
  });
  it('many-to-one with group_left copies labels from the one side', () => {
    expect(qv(s, 'sess / on (faculty) group_left cap', 0)).toEqual({
      '{faculty="med",server="s1"}': 0.1,
      '{faculty="med",server="s2"}': 0.3,
      '{faculty="law",server="s3"}': 0.5,
    });
    expect(qv(s, 'sess * on (faculty) group_left (owner) info', 0)).toEqual({
      '{faculty="med",owner="alice",server="s1"}': 10,
      '{faculty="med",owner="alice",server="s2"}': 30,
    });
    expect(qv(s, 'cap / on (faculty) group_right sess', 0)['{faculty="law",server="s3"}']).toBe(2);
  });
  it('refuses many-to-many matching', () => {
    expect(() => q(s, 'sess / on (faculty) cap', 0)).toThrow(/many-to-one matching must be explicit/);
  });
  it('and / or / unless', () => {
    expect(Object.keys(qv(s, 'cap and on (faculty) sess{server="s3"}', 0))).toEqual(['{__name__="cap",faculty="law"}']);
    expect(Object.keys(qv(s, 'cap unless on (faculty) sess{server="s3"}', 0))).toEqual(['{__name__="cap",faculty="med"}']);
    expect(Object.keys(qv(s, 'cap{faculty="med"} or cap', 0))).toHaveLength(2);
  });
  it('scalar functions and math', () => {
    expect(qv(s, 'time()', 0)).toEqual({ scalar: 1768204800 });
    expect(qv(s, 'vector(3) + scalar(cap{faculty="law"})', 0)).toEqual({ '{}': 13 });
    expect(qv(s, 'scalar(cap)', 0)).toEqual({ scalar: NaN });
    expect(qv(s, 'clamp_max(cap, 50)', 0)).toEqual({ '{faculty="med"}': 50, '{faculty="law"}': 10 });
    expect(qv(s, 'clamp(cap, 20, 50)', 0)).toEqual({ '{faculty="med"}': 50, '{faculty="law"}': 20 });
    expect(qv(s, 'clamp_min(-cap, -20)', 0)).toEqual({ '{faculty="med"}': -20, '{faculty="law"}': -10 });
    expect(qv(s, 'abs(-cap{faculty="law"}) ^ 2 % 7', 0)).toEqual({ '{faculty="law"}': 2 });
    expect(qv(s, '1 > bool 2', 0)).toEqual({ scalar: 0 });
  });
});

describe('semantics v3 (default) vs v2 (Prometheus 2.x, for promtool comparisons)', () => {
  it('v3 windows are left-open, v2 left-closed', () => {
    const s = storeOf(every('c_total', {}, 0, 15, [0, 15, 30, 45, 60]));
    const e = parsePromQL('count_over_time(c_total[1m])');
    const v3 = evaluate(e, s, T0 + 60_000);
    const v2 = evaluate(e, s, T0 + 60_000, { semantics: 'v2' });
    expect(v3.kind === 'vector' && v3.samples[0]!.value).toBe(4);
    expect(v2.kind === 'vector' && v2.samples[0]!.value).toBe(5);
    // Lookback: the sample exactly 5 min old is stale in v3, visible in v2.
    const inst = parsePromQL('c_total');
    const at = T0 + 60_000 + 300_000;
    const len = (v: Value) => (v.kind === 'vector' ? v.samples.length : -1);
    expect(len(evaluate(inst, s, at))).toBe(0);
    expect(len(evaluate(inst, s, at, { semantics: 'v2' }))).toBe(1);
  });
  it('v2 clamps to the zero point before the threshold test (pre prometheus#13725)', () => {
    // first sample 40 s after the window start, zero point 12 s before it: v3 → 7.5 s, v2 → 12 s.
    const ts = [40_000, 55_000];
    const vs = [24, 54];
    near(extrapolatedRate(ts, vs, 0, 60_000, true, false)!, (30 * (15 + 7.5 + 5)) / 15);
    near(extrapolatedRate(ts, vs, 0, 60_000, true, false, true)!, (30 * (15 + 12 + 5)) / 15);
  });
});

describe('samples loaded (the sample-evaluations the rules bench counts)', () => {
  it('counts one per instant series and every point of a range window, as Prometheus query stats do', () => {
    const s = storeOf(every('c_total', { a: '1' }, 0, 15, [0, 15, 30, 45, 60]), every('c_total', { a: '2' }, 0, 15, [0, 1, 2, 3, 4]));
    const stats = { samplesLoaded: 0 };
    evaluate(parsePromQL('c_total'), s, T0 + 60_000, { stats });
    expect(stats.samplesLoaded).toBe(2);
    // (0 s, 60 s]: 4 points per series.
    evaluate(parsePromQL('sum(rate(c_total[1m])) / sum(c_total)'), s, T0 + 60_000, { stats });
    expect(stats.samplesLoaded).toBe(2 + 8 + 2);
    // A series with no sample in the lookback loads nothing.
    evaluate(parsePromQL('c_total'), s, T0 + 600_000, { stats });
    expect(stats.samplesLoaded).toBe(12);
  });
});
