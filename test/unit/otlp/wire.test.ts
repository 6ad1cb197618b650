/**
 * Differential test of the pipeline's wire decoder (`decodeSamples`, otlp/wire.ts)
 * against the generated protobufjs decoder it replaces on the hot path
 * (`toSamples(decodeMetricsRequest(bytes))`, the oracle): on generated requests (every
 * metric type, odd attribute values, extreme timestamps, bad histograms, repeated
 * fields) and on mutated bytes, both give the same samples (with the same series keys),
 * the same rejections and examples, or both refuse the bytes.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../core/errors.ts';
import { seriesKey } from '../../../core/samples.ts';
import { createCardinalityLimiter, decodeMetricsRequest, decodeSamples, seriesKeyOf, toSamples, type ToSamplesOptions } from '../../../otlp/decode.ts';
import { recordTypicalMetrics, sdkFixture } from './otlpFixtures.ts';

interface Encodable {
  encode(o: unknown): { finish(): Uint8Array };
}
const require = createRequire(import.meta.url);
const Req = (require('otlp-proto-decoder/build/src/generated/root.js') as { opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Encodable } } } } } })
  .opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

const NOW = Date.UTC(2027, 0, 12, 9);
const NOW_NS = NOW * 1e6;

type Outcome = { error: string } | { samples: unknown[]; rejected: Record<string, number>; examples: Record<string, string>; empty: boolean };

let nowMs = NOW;
function opts(): ToSamplesOptions {
  return { nowMs, cardinality: createCardinalityLimiter({ maxSeriesPerMetric: 3, maxMetricNames: 4 }), maxLabelValueLength: 40 };
}

function viaOracle(bytes: Uint8Array): Outcome {
  try {
    const req = decodeMetricsRequest(bytes);
    const r = toSamples(req, opts());
    return { samples: r.samples.map((s) => [s.metric, s.labels, s.timestampMs, s.value, seriesKey(s.metric, s.labels)]), rejected: r.rejected, examples: r.examples, empty: (req.resourceMetrics?.length ?? 0) === 0 };
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return { error: (err as DecodeError).reason };
  }
}

function viaWire(bytes: Uint8Array): Outcome {
  try {
    const r = decodeSamples(bytes, opts());
    return { samples: r.samples.map((s) => [s.metric, s.labels, s.timestampMs, s.value, seriesKeyOf(s)]), rejected: r.rejected, examples: r.examples, empty: r.empty };
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return { error: (err as DecodeError).reason };
  }
}

const str = fc.oneof(fc.constantFrom('', 'law', 'a.b', 'a_b', 'le', 'faculty', 'service.name', 'host.name', '0abc', 'x"y\\z\n', 'é€😀'), fc.string({ maxLength: 8 }), fc.constant('v'.repeat(50)));
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: str }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: fc.integer({ min: -1e9, max: 1e9 }) }),
    fc.record({ doubleValue: fc.double() }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 4 }) }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('v'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: str, value: tie('v') }), { maxLength: 2 }) }) }),
    fc.constant({}),
  ),
})).v;
const attributes = fc.array(fc.record({ key: str, value: anyValue }, { requiredKeys: [] }), { maxLength: 5 });
const time = fc.oneof(fc.integer({ min: -3_600_000, max: 3_600_000 }).map((d) => NOW_NS + d * 1e6), fc.constantFrom(0, 1, 2 ** 63, NOW_NS - 30 * 86_400_000 * 1e6));
const numberPoint = fc.record(
  {
    attributes,
    timeUnixNano: time,
    asDouble: fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, 1.5)),
    asInt: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    flags: fc.constantFrom(0, 1, 2),
  },
  { requiredKeys: ['timeUnixNano'] },
);
const histogramPoint = fc
  .record(
    {
      attributes,
      timeUnixNano: time,
      count: fc.nat(1000),
      sum: fc.oneof(fc.double({ noNaN: true }), fc.constant(NaN)),
      bounds: fc.array(fc.double({ noNaN: true, min: -10, max: 10 }), { maxLength: 4 }),
      extra: fc.integer({ min: -1, max: 1 }),
      flags: fc.constantFrom(0, 1),
    },
    { requiredKeys: ['timeUnixNano', 'bounds', 'extra'] },
  )
  .map(({ bounds, extra, ...p }) => ({ ...p, explicitBounds: bounds, bucketCounts: Array.from({ length: Math.max(0, bounds.length + 1 + extra) }, (_, i) => i) }));
const temporality = fc.constantFrom(0, 1, 2);
const metric = fc.record(
  {
    name: fc.oneof(str, fc.constantFrom('http.server.request.duration', 'ecampus.sessions', '_', '9lives')),
    unit: fc.constantFrom('', 's'),
    gauge: fc.record({ dataPoints: fc.array(numberPoint, { maxLength: 3 }) }),
    sum: fc.record({ dataPoints: fc.array(numberPoint, { maxLength: 3 }), aggregationTemporality: temporality, isMonotonic: fc.boolean() }, { requiredKeys: ['dataPoints'] }),
    histogram: fc.record({ dataPoints: fc.array(histogramPoint, { maxLength: 2 }), aggregationTemporality: temporality }, { requiredKeys: ['dataPoints'] }),
    exponentialHistogram: fc.record({ dataPoints: fc.array(fc.record({ count: fc.nat(5), scale: fc.integer({ min: -2, max: 2 }) }), { maxLength: 2 }) }),
    summary: fc.record({ dataPoints: fc.array(fc.record({ count: fc.nat(5), sum: fc.double({ noNaN: true }) }), { maxLength: 2 }) }),
  },
  { requiredKeys: [] },
);
const request = fc.record({
  resourceMetrics: fc.array(
    fc.record(
      {
        resource: fc.record({ attributes }),
        scopeMetrics: fc.array(
          fc.record({ scope: fc.record({ name: str, version: str }, { requiredKeys: [] }), metrics: fc.array(metric, { maxLength: 4 }), schemaUrl: fc.constantFrom('', 'https://opentelemetry.io/schemas/1.24.0') }, { requiredKeys: [] }),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
});

/** Requests drawn from a few resources, names and label sets: messages of a sequence share series, or nearly (same names, other values). */
const fewStrings = fc.constantFrom('x', 'y', '', 'x'.repeat(20));
const similarPoint = fc.record({
  attributes: fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'a.b', 'a_b', 'le'), value: fc.record({ stringValue: fewStrings }) }), { maxLength: 3 }),
  timeUnixNano: fc.constant(NOW_NS),
  asDouble: fc.constantFrom(1, 2),
});
const similarRequest = fc.record({
  resourceMetrics: fc.array(
    fc.record({
      resource: fc.record({ attributes: fc.constantFrom([{ key: 'service.name', value: { stringValue: 'svc' } }], [{ key: 'host.name', value: { stringValue: 'h' } }]) }),
      scopeMetrics: fc.array(fc.record({ scope: fc.record({ name: fc.constantFrom('s', 't') }), metrics: fc.array(fc.record({ name: fc.constantFrom('m', 'n'), gauge: fc.record({ dataPoints: fc.array(similarPoint, { minLength: 1, maxLength: 4 }) }) }), { minLength: 1, maxLength: 2 }) }), { minLength: 1, maxLength: 2 }),
    }),
    { minLength: 1, maxLength: 2 },
  ),
});

describe('wire decoder (decodeSamples) against the generated protobufjs decoder', () => {
  it('gives the same samples, keys and rejections on generated requests', () => {
    nowMs = NOW;
    let samples = 0;
    const reasons = new Set<string>();
    fc.assert(
      fc.property(request, (req) => {
        const bytes = Req.encode(req).finish();
        const got = viaWire(bytes);
        expect(got).toEqual(viaOracle(bytes));
        if ('samples' in got) {
          samples += got.samples.length;
          for (const r of Object.keys(got.rejected)) reasons.add(r);
        }
      }),
      { numRuns: 600 },
    );
    // Not vacuous: samples came out, and most rejection paths were taken.
    expect(samples).toBeGreaterThan(100);
    expect(reasons.size).toBeGreaterThanOrEqual(8);
  });

  it('a limiter shared across messages (accepted label sets remembered between them) gives what a fresh start per message gives', () => {
    nowMs = NOW;
    let hits = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(request, similarRequest), fc.constantFrom(40, 10, 2048)), { minLength: 1, maxLength: 4 }), (seq) => {
        // The same requests twice: the second pass meets every label set again.
        const all = [...seq, ...seq];
        const limits = { maxSeriesPerMetric: 3, maxMetricNames: 4 };
        const shared = createCardinalityLimiter(limits);
        const state = createCardinalityLimiter(limits);
        for (const [req, maxLabelValueLength] of all) {
          const bytes = Req.encode(req).finish();
          const run = (o: ToSamplesOptions): Outcome => {
            try {
              const r = decodeSamples(bytes, o);
              return { samples: r.samples.map((x) => [x.metric, x.labels, x.timestampMs, x.value, seriesKeyOf(x)]), rejected: r.rejected, examples: r.examples, empty: r.empty };
            } catch (err) {
              return { error: (err as DecodeError).reason };
            }
          };
          const warm = run({ nowMs, cardinality: shared, maxLabelValueLength });
          // Same limiter state, but a new object each message: nothing remembered from the last one.
          const fresh = run({ nowMs, cardinality: { track: state.track, check: state.check, admit: state.admit, count: state.count, size: state.size }, maxLabelValueLength });
          expect(warm).toEqual(fresh);
          if ('samples' in warm) hits += warm.samples.length;
        }
      }),
      { numRuns: 300 },
    );
    expect(hits).toBeGreaterThan(100);
  });

  it('a label set accepted under a longer value limit is checked again under a shorter one', () => {
    nowMs = NOW;
    const limiter = createCardinalityLimiter();
    const req = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: NOW_NS, asDouble: 1, attributes: [{ key: 'exam', value: { stringValue: 'x'.repeat(30) } }] }] } }] }] }] };
    const bytes = Req.encode(req).finish();
    expect(decodeSamples(bytes, { nowMs, cardinality: limiter, maxLabelValueLength: 40 }).samples).toHaveLength(1);
    const short = decodeSamples(bytes, { nowMs, cardinality: limiter, maxLabelValueLength: 10 });
    expect(short.samples).toHaveLength(0);
    expect(short.rejected).toEqual({ label_value_too_long: 1 });
  });

  it('agrees on mutated and concatenated bytes (fields repeated, out of order, truncated, garbage)', async () => {
    const fx = sdkFixture({ 'service.name': 'ecampus', 'host.name': 'web-1' });
    recordTypicalMetrics(fx.meter, ['law', 'medicine']);
    const { bytes: base } = await fx.collect();
    await fx.shutdown();
    nowMs = Date.now();
    // The real message as it is: the same non-empty result both ways.
    const real = viaWire(base);
    expect(real).toEqual(viaOracle(base));
    expect('samples' in real && real.samples.length > 0).toBe(true);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }), n: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
      fc.record({ kind: fc.constant('splice' as const), a: fc.nat(), b: fc.nat() }),
      fc.record({ kind: fc.constant('twice' as const) }),
      fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 4096 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        let b = Uint8Array.from(base);
        for (const m of ms) {
          if (m.kind === 'flip') for (let i = 0; i < m.n; i++) b[(m.at + i * 7) % b.length]! ^= 1 << m.bit;
          else if (m.kind === 'truncate') b = b.subarray(0, m.at % (b.length + 1));
          else if (m.kind === 'insert') {
            const at = m.at % (b.length + 1);
            b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
          } else if (m.kind === 'splice') b = Uint8Array.from([...b.subarray(0, m.a % (b.length + 1)), ...base.subarray(m.b % (base.length + 1))]);
          else if (m.kind === 'twice') b = Uint8Array.from([...b, ...b]);
          else b = m.bytes;
        }
        expect(viaWire(b)).toEqual(viaOracle(b));
      }),
      { numRuns: 1500 },
    );
  });
});
