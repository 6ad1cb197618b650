/** The DLQ envelope always fits the DLQ topic's limit, keeps its reason/origin, and copies what fits. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dlqEnvelope, envelopeBytes } from '../../../pipeline/dlq.ts';
import { HEADERS } from '../../../transport/types.ts';

const cause = { reason: 'malformed_otlp', detail: 'cannot decode', origin: 'otlp_metrics/3/1234' };

describe('dlqEnvelope', () => {
  it('copies a small payload whole', () => {
    const value = new Uint8Array([1, 2, 3]);
    const out = dlqEnvelope({ key: 'k', value, headers: { a: 'b' }, offset: '1', timestampMs: 0 }, cause, 1_000_000);
    expect(out.value).toEqual(value);
    expect(out.headers?.[HEADERS.truncated]).toBeUndefined();
    expect(out.headers?.[HEADERS.reason]).toBe('malformed_otlp');
    expect(out.headers?.[HEADERS.origin]).toBe('otlp_metrics/3/1234');
    expect(out.headers?.['a']).toBe('b');
  });

  it('truncates a 5 MB payload under a 1 MB limit and says so', () => {
    const value = new Uint8Array(5 * 1024 * 1024).fill(7);
    const out = dlqEnvelope({ key: 'k', value, headers: {}, offset: '1', timestampMs: 0 }, cause, 1_000_000);
    expect(envelopeBytes(out)).toBeLessThanOrEqual(1_000_000);
    expect(out.value.byteLength).toBeGreaterThan(900_000);
    expect(out.headers?.[HEADERS.truncated]).toBe('true');
    expect(out.headers?.[HEADERS.originalBytes]).toBe(String(5 * 1024 * 1024));
  });

  it('stays under the limit whatever the key, headers and payload (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 5000 }),
        fc.dictionary(fc.string({ maxLength: 300 }), fc.string({ maxLength: 5000 }), { maxKeys: 60 }),
        fc.integer({ min: 0, max: 3_000_000 }),
        fc.string({ maxLength: 5000 }),
        (key, headers, size, detail) => {
          const out = dlqEnvelope({ key, value: new Uint8Array(size), headers, offset: '9', timestampMs: 0 }, { ...cause, detail }, 1_000_000);
          expect(envelopeBytes(out)).toBeLessThanOrEqual(1_000_000);
          expect(out.headers?.[HEADERS.reason]).toBe(cause.reason);
          expect(out.value.byteLength === size || out.headers?.[HEADERS.truncated] === 'true').toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
