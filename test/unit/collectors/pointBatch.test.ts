import { describe, expect, it } from 'vitest';
import { decodeMetricsRequest, toSamples } from '../../../otlp/decode.ts';
import { batchKey, batchSamples, encodeBatch, type PointBatch } from '../../../collectors/pointBatch.ts';

const T = Date.UTC(2026, 11, 7, 9, 0);

describe('point batches → OTLP', () => {
  it('decode into the samples the pipeline stores, under the contract names, and count as the pipeline counts', () => {
    const b: PointBatch = {
      resource: { 'service.name': 'ecampus', 'host.name': 'web-1' },
      scope: 'vigie.accesslog',
      timeMs: T,
      startMs: T - 60_000,
      metrics: [
        { kind: 'gauge', name: 'ecampus.sessions.active', points: [{ attributes: { faculty: 'law' }, value: 12 }] },
        { kind: 'sum', name: 'ecampus.logins', monotonic: true, points: [{ attributes: { faculty: 'law', outcome: 'success' }, value: 3 }] },
        {
          kind: 'histogram',
          name: 'http.server.request.duration',
          unit: 's',
          bounds: [0.1, 1],
          points: [{ attributes: { faculty: 'law', 'http.route': '/login', 'http.response.status_code': '200' }, bucketCounts: [2, 1, 1], sum: 3.5, count: 4 }],
        },
      ],
    };
    expect(batchKey(b)).toBe('ecampus/web-1');
    const { samples, rejected } = toSamples(decodeMetricsRequest(encodeBatch(b)), { nowMs: T });
    expect(rejected).toEqual({});
    expect(samples).toHaveLength(batchSamples(b));
    const by = (m: string, le?: string) => samples.find((s) => s.metric === m && (le === undefined || s.labels['le'] === le));
    expect(by('ecampus_sessions_active')?.value).toBe(12);
    expect(by('ecampus_logins_total')?.labels).toMatchObject({ faculty: 'law', outcome: 'success', job: 'ecampus', instance: 'web-1' });
    expect(by('http_server_request_duration_bucket', '0.1')?.value).toBe(2);
    expect(by('http_server_request_duration_bucket', '1')?.value).toBe(3);
    expect(by('http_server_request_duration_bucket', '+Inf')?.value).toBe(4);
    expect(by('http_server_request_duration_count')?.value).toBe(4);
    expect(by('http_server_request_duration_sum')?.value).toBe(3.5);
    expect(samples.every((s) => s.timestampMs === T)).toBe(true);
  });

  it('refuses a histogram whose bucket counts do not fit its bounds, naming the metric', () => {
    const b: PointBatch = {
      resource: {},
      scope: 's',
      timeMs: T,
      metrics: [{ kind: 'histogram', name: 'h', bounds: [1], points: [{ attributes: {}, bucketCounts: [1], sum: 1, count: 1 }] }],
    };
    expect(() => encodeBatch(b)).toThrow(/histogram h: 1 bucket counts for 1 bounds/);
  });
});
