/**
 * Issue 11, item 3: series identity. Distinct label sets never share a key (nor, in
 * practice, a fingerprint), whatever their values hold: quotes, commas, `=`,
 * backslashes, newlines, NUL, Unicode. The decoder's fast key path agrees with
 * `seriesKey` on the same hostile input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint, seriesKey, type Labels } from '../../../core/samples.ts';
import { seriesKeyOf, toSamples, type OtlpMetricsRequest } from '../../../otlp/decode.ts';

/** Inverse of `seriesKey`: if it exists, the key is injective. */
function parseKey(key: string): { metric: string; labels: Record<string, string> } {
  let i = 0;
  const readUntil = (stop: string): string => {
    let out = '';
    for (;;) {
      const c = key[i++];
      if (c === undefined) throw new Error(`unterminated in ${JSON.stringify(key)}`);
      if (c === '\\') {
        const e = key[i++]!;
        out += e === 'n' ? '\n' : e;
      } else if (c === stop) return out;
      else out += c;
    }
  };
  const metric = readUntil('{');
  const labels: Record<string, string> = {};
  if (i === key.length - 1 && key[i] === '}') return { metric, labels };
  for (;;) {
    const name = readUntil('=');
    if (key[i++] !== '"') throw new Error('expected a quote');
    labels[name] = readUntil('"');
    const c = key[i++];
    if (c === '}') return { metric, labels };
    if (c !== ',') throw new Error(`expected , or } in ${JSON.stringify(key)}`);
  }
}

const hostileChar = fc.constantFrom('"', ',', '=', '\\', '\n', '\0', '{', '}', 'a', 'b', 'é', '😀', 'n', ' ');
const hostile = fc.oneof(fc.string({ unit: hostileChar, maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ maxLength: 8 }));
const labelSet = fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 'job', 'le', 'a=b', 'x"y', 'z\\'), hostile), hostile, { maxKeys: 5 });

describe('seriesKey', () => {
  it('tells apart the label sets that used to collide', () => {
    const a = { a: 'x', b: 'y' };
    const b = { a: 'x",b="y' };
    expect(seriesKey('m', a)).not.toBe(seriesKey('m', b));
    expect(fingerprint('m', a)).not.toBe(fingerprint('m', b));
  });

  it('parses back to exactly the label set it was made from (so it is injective)', () => {
    fc.assert(
      fc.property(hostile, labelSet, (metric, labels) => {
        expect(parseKey(seriesKey(metric, labels))).toEqual({ metric, labels });
      }),
      { numRuns: 2000 },
    );
  });

  it('gives distinct label sets distinct keys and fingerprints', () => {
    fc.assert(
      fc.property(labelSet, labelSet, (x, y) => {
        const same = JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
        expect(seriesKey('m', x) === seriesKey('m', y)).toBe(same);
        expect(fingerprint('m', x) === fingerprint('m', y)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves ordinary Prometheus keys as they were', () => {
    expect(seriesKey('http_requests_total', { job: 'ecampus', faculty: 'law' })).toBe('http_requests_total{faculty="law",job="ecampus"}');
  });
});

describe('the decoder key path', () => {
  it('agrees with seriesKey on hostile attribute values, histograms included', () => {
    const now = Date.UTC(2027, 0, 1);
    fc.assert(
      fc.property(fc.array(fc.tuple(hostile, hostile), { maxLength: 4 }), (attrs) => {
        const attributes = attrs.map(([k, v]) => ({ key: 'k' + k, value: { stringValue: v } }));
        const timeUnixNano = BigInt(now) * 1_000_000n;
        const request = {
          resourceMetrics: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc"x' } }] },
              scopeMetrics: [
                {
                  scope: { name: 'scope\\,"' },
                  metrics: [
                    { name: 'g', gauge: { dataPoints: [{ attributes, timeUnixNano: Number(timeUnixNano), asDouble: 1 }] } },
                    {
                      name: 'h',
                      histogram: { aggregationTemporality: 2, dataPoints: [{ attributes, timeUnixNano: Number(timeUnixNano), count: 3, sum: 1, bucketCounts: [1, 2], explicitBounds: [0.5] }] },
                    },
                  ],
                },
              ],
            },
          ],
        } as unknown as OtlpMetricsRequest;
        const { samples } = toSamples(request, { nowMs: now });
        expect(samples.length).toBeGreaterThan(0);
        for (const s of samples) expect(seriesKeyOf(s)).toBe(seriesKey(s.metric, s.labels as Labels));
      }),
      { numRuns: 500 },
    );
  });
});
