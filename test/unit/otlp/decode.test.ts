import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DecodeError } from '../../../core/errors.ts';
import { seriesKey } from '../../../core/samples.ts';
import { createCardinalityLimiter, decodeMetricsRequest, seriesKeyOf, toSamples, type DecodedSample, type OtlpMetricsRequest } from '../../../otlp/decode.ts';
import { countExportedSamples } from '../../../otlp/encode.ts';
import { nanosToMillis } from '../../../otlp/normalize.ts';
import { key, parseExposition, recordTypicalMetrics, sdkFixture, type SdkFixture } from './otlpFixtures.ts';

let fx: SdkFixture | undefined;
afterEach(async () => {
  await fx?.shutdown();
  fx = undefined;
});

const NOW = Date.now();

describe('decodeMetricsRequest', () => {
  it('throws DecodeError(malformed_otlp) on garbage', () => {
    for (const bytes of [new Uint8Array([1, 2, 3, 4, 5]), Buffer.from('hello world, this is not protobuf'), Buffer.from('{"resourceMetrics":[]}')]) {
      let caught: unknown;
      try {
        decodeMetricsRequest(bytes);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DecodeError);
      expect((caught as DecodeError).reason).toBe('malformed_otlp');
    }
  });

  it('converts 64-bit nanosecond timestamps to exact milliseconds', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (ns) => {
        const long = { low: Number(ns & 0xffffffffn) | 0, high: Number(ns >> 32n) | 0, unsigned: true };
        expect(nanosToMillis(long)).toBe(Number(ns / 1_000_000n));
      }),
      { numRuns: 2000 },
    );
    const exact = 1_796_031_665_979_999_999n;
    expect(nanosToMillis({ low: Number(exact & 0xffffffffn) | 0, high: Number(exact >> 32n) | 0, unsigned: true })).toBe(1_796_031_665_979);
  });
});

describe('toSamples', () => {
  it('expands exactly as countExportedSamples counts, with exporter-prometheus names and labels', async () => {
    fx = sdkFixture();
    recordTypicalMetrics(fx.meter);
    const { resourceMetrics, bytes } = await fx.collect();
    const { samples, rejected } = toSamples(decodeMetricsRequest(bytes), { nowMs: Date.now(), resourceLabels: false });
    expect(rejected).toEqual({});
    expect(samples.length).toBe(countExportedSamples(resourceMetrics));

    const exposition = parseExposition(await fx.prometheusText());
    exposition.delete([...exposition.keys()].find((k) => k.startsWith('target_info{'))!);
    const ours = new Map(samples.map((s) => [key(s.metric, s.labels), s.value]));
    expect([...ours.keys()].sort()).toEqual([...exposition.keys()].sort());
    for (const [k, v] of exposition) expect(ours.get(k), k).toBeCloseTo(v, 9);

    // The names rules and dashboards use.
    const names = new Set(samples.map((s) => s.metric));
    expect([...names].sort()).toEqual(
      [
        'ecampus_logins_total',
        'ecampus_sessions_active',
        'http_server_active_requests',
        'http_server_request_duration_bucket',
        'http_server_request_duration_count',
        'http_server_request_duration_sum',
      ].sort(),
    );
    const bucket = samples.find((s) => s.metric === 'http_server_request_duration_bucket' && s.labels['le'] === '+Inf')!;
    expect(bucket.labels).toMatchObject({ exam_id: 'E0', faculty: 'sciences', http_route: '/exam/:id', http_response_status_code: '200', otel_scope_name: 'vigie.test', otel_scope_version: '1.0.0' });
  });

  it('series-key hints equal core seriesKey for every sample (label named le included)', async () => {
    fx = sdkFixture();
    recordTypicalMetrics(fx.meter);
    fx.meter.createHistogram('odd').record(1, { le: 'mine', a: '1', z: '2', Le: 'x' });
    const { bytes } = await fx.collect();
    const { samples } = toSamples(decodeMetricsRequest(bytes), { nowMs: Date.now() });
    for (const s of samples) {
      expect((s as DecodedSample).key).toBeDefined();
      expect(seriesKeyOf(s)).toBe(seriesKey(s.metric, s.labels));
    }
  });

  it('adds job and instance from the resource; point timestamps in ms', async () => {
    fx = sdkFixture({ 'service.name': 'ecampus', 'service.namespace': 'uliege', 'host.name': 'web-7' });
    const before = Date.now();
    fx.meter.createCounter('ecampus.logins').add(1, { faculty: 'droit' });
    const { bytes } = await fx.collect();
    const [s] = toSamples(decodeMetricsRequest(bytes), { nowMs: Date.now() }).samples;
    expect(s).toMatchObject({ metric: 'ecampus_logins_total', value: 1, labels: { job: 'uliege/ecampus', instance: 'web-7', faculty: 'droit' } });
    expect(s!.timestampMs).toBeGreaterThanOrEqual(before - 1);
    expect(s!.timestampMs).toBeLessThanOrEqual(Date.now());
  });

  it('rejects non-finite values, out-of-window timestamps, long label values, over-limit series — counted by reason', async () => {
    fx = sdkFixture();
    const g = fx.meter.createGauge('g');
    g.record(NaN, { k: 'nan' });
    g.record(Infinity, { k: 'inf' });
    g.record(1, { k: 'x'.repeat(1025) });
    for (let i = 0; i < 5; i++) fx.meter.createCounter('c').add(1, { i: String(i) });
    const { bytes } = await fx.collect();
    const req = decodeMetricsRequest(bytes);
    const limiter = createCardinalityLimiter(3);
    const r = toSamples(req, { nowMs: Date.now(), cardinality: limiter });
    expect(r.rejected).toEqual({ non_finite: 2, label_value_too_long: 1, cardinality_limit: 2 });
    expect(r.samples.length).toBe(3);
    // Same series again: known series still pass, new ones still do not.
    expect(toSamples(req, { nowMs: Date.now(), cardinality: limiter }).samples.length).toBe(3);

    // Clock 1 h behind the data: everything is "from the future".
    const skew = toSamples(req, { nowMs: Date.now() - 3600_000 });
    expect(skew.samples).toEqual([]);
    expect(skew.rejected).toEqual({ non_finite: 2, clock_skew: 6 });
    // Clock 8 days ahead: everything is too old.
    expect(toSamples(req, { nowMs: Date.now() + 8 * 86400_000 }).rejected['clock_skew']).toBe(6);
  });

  it('rejects exponential histograms and summaries with a reason', async () => {
    fx = sdkFixture();
    fx.meter.createHistogram('exp.latency').record(0.3, { a: '1' });
    fx.meter.createHistogram('exp.latency').record(0.3, { a: '2' });
    const { bytes } = await fx.collect();
    const summary: OtlpMetricsRequest = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 's', summary: { dataPoints: [{}] } }] }] }] };
    expect(toSamples(decodeMetricsRequest(bytes), { nowMs: NOW }).rejected).toEqual({ unsupported_exponential_histogram: 2 });
    expect(toSamples(summary, { nowMs: NOW }).rejected).toEqual({ unsupported_summary: 1 });
  });

  it('rejects delta temporality and malformed histograms', () => {
    const ts = { low: 0, high: 0, unsigned: true };
    const req: OtlpMetricsRequest = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'd', sum: { isMonotonic: true, aggregationTemporality: 1, dataPoints: [{ asDouble: 1, timeUnixNano: ts }] } },
                { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ count: 1, sum: 1, bucketCounts: [1], explicitBounds: [1, 2], timeUnixNano: String(BigInt(NOW) * 1_000_000n) }] } },
              ],
            },
          ],
        },
      ],
    };
    expect(toSamples(req, { nowMs: NOW }).rejected).toEqual({ unsupported_delta_temporality: 1, invalid_histogram: 5 });
  });
});
