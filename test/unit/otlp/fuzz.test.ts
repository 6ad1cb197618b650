/**
 * Issue 11, item 8: decode and mapping never crash on hostile input. Mutated protobuf
 * (bit flips, truncation, splices, random bytes) either decodes or fails with a
 * `DecodeError`; generated requests with huge strings, deep attribute nesting, NaN/Inf
 * and extreme timestamps map to finite samples, and every gauge point is either a sample
 * or a counted rejection.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../core/errors.ts';
import { decodeMetricsRequest, toSamples, type OtlpMetricsRequest } from '../../../otlp/decode.ts';
import { recordTypicalMetrics, sdkFixture } from './otlpFixtures.ts';

interface Encodable {
  encode(o: unknown): { finish(): Uint8Array };
}
const require = createRequire(import.meta.url);
const Req = (require('otlp-proto-decoder/build/src/generated/root.js') as { opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Encodable } } } } } })
  .opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

const NOW = Date.UTC(2027, 0, 12, 9);

function checkSamples(req: OtlpMetricsRequest): { samples: number; rejected: number } {
  const r = toSamples(req, { nowMs: NOW });
  for (const s of r.samples) {
    expect(Number.isFinite(s.value)).toBe(true);
    expect(Number.isFinite(s.timestampMs)).toBe(true);
    for (const v of Object.values(s.labels)) expect(typeof v).toBe('string');
  }
  return { samples: r.samples.length, rejected: Object.values(r.rejected).reduce((a, b) => a + b, 0) };
}

async function realMessage(): Promise<Uint8Array> {
  const fx = sdkFixture({ 'service.name': 'ecampus', 'host.name': 'web-1' });
  recordTypicalMetrics(fx.meter, ['law', 'medicine']);
  const { bytes } = await fx.collect();
  await fx.shutdown();
  return bytes;
}

describe('decode fuzzing', () => {
  it('mutated protobuf decodes or fails with a DecodeError, never worse', async () => {
    const base = await realMessage();
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }), n: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
      fc.record({ kind: fc.constant('splice' as const), a: fc.nat(), b: fc.nat() }),
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
          else b = m.bytes;
        }
        let req: OtlpMetricsRequest;
        try {
          req = decodeMetricsRequest(b);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
          return;
        }
        checkSamples(req);
      }),
      { numRuns: 800 },
    );
  });

  it('hostile but well-formed requests map to finite samples, every gauge point accounted for', () => {
    const hugeOrOdd = fc.oneof(fc.string({ maxLength: 20 }), fc.constant('x'.repeat(100_000)), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constant('a\0b"c\\d\ne'));
    const nested = fc.integer({ min: 0, max: 500 }).map((depth) => {
      let v: Record<string, unknown> = { stringValue: 'leaf' };
      for (let i = 0; i < depth; i++) v = i % 2 ? { arrayValue: { values: [v] } } : { kvlistValue: { values: [{ key: 'k', value: v }] } };
      return v;
    });
    const value = fc.oneof(fc.double(), fc.constant(NaN), fc.constant(Infinity), fc.constant(-Infinity), fc.constant(-0));
    const ts = fc.oneof(
      fc.constant(0),
      fc.constant('18446744073709551615'),
      fc.constant(String(BigInt(NOW) * 1_000_000n)),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
    );
    const point = fc.record({ attrs: fc.array(fc.tuple(hugeOrOdd, fc.oneof(hugeOrOdd.map((s) => ({ stringValue: s })), nested)), { maxLength: 3 }), value, ts });
    fc.assert(
      fc.property(fc.array(fc.record({ name: hugeOrOdd, points: fc.array(point, { minLength: 1, maxLength: 4 }) }), { minLength: 1, maxLength: 4 }), (metrics) => {
        const body = {
          resourceMetrics: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] },
              scopeMetrics: [
                {
                  scope: { name: 'fuzz' },
                  metrics: metrics.map((m) => ({
                    name: m.name,
                    gauge: { dataPoints: m.points.map((p) => ({ timeUnixNano: p.ts, asDouble: p.value, attributes: p.attrs.map(([key, v]) => ({ key, value: v })) })) },
                  })),
                },
              ],
            },
          ],
        };
        let bytes: Uint8Array;
        try {
          bytes = Req.encode(body).finish();
        } catch {
          return; // the encoder refuses it (e.g. nesting beyond its own limits): nothing to feed
        }
        let req: OtlpMetricsRequest;
        try {
          req = decodeMetricsRequest(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
          return;
        }
        const points = metrics.reduce((n, m) => n + m.points.length, 0);
        const got = checkSamples(req);
        expect(got.samples + got.rejected).toBe(points);
      }),
      { numRuns: 150 },
    );
  });
});
