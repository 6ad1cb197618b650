import { describe, expect, it } from 'vitest';
import { decodeRemoteWrite, promSamplesToBatches, remoteWriteToBatches, snappyDecompress } from '../../../collectors/remoteWrite.ts';
import { encodeBatch } from '../../../collectors/pointBatch.ts';
import { decodeMetricsRequest, toSamples, type DecodedSample } from '../../../otlp/decode.ts';
import { encodeWriteRequest } from '../../support/prometheus.ts';

describe('snappy block decoder', () => {
  it('expands literals and overlapping copies (1-, 2- and 4-byte offsets)', () => {
    // "abcd" literal, then copy-1 (len 8, offset 4) → "abcdabcdabcd", then copy-2 (len 3, offset 2) → "cd" + "c"
    const src = Uint8Array.from([
      15, // uncompressed length 15
      (3 << 2) | 0, 97, 98, 99, 100, // literal "abcd"
      ((8 - 4) << 2) | 1, 4, // copy-1: len 8 offset 4
      ((3 - 1) << 2) | 2, 2, 0, // copy-2: len 3 offset 2
    ]);
    expect(Buffer.from(snappyDecompress(src)).toString()).toBe('abcdabcdabcdcdc');
    const four = Uint8Array.from([6, (1 << 2) | 0, 120, 121, ((4 - 1) << 2) | 3, 2, 0, 0, 0]);
    expect(Buffer.from(snappyDecompress(four)).toString()).toBe('xyxyxy');
  });

  it('refuses corrupt input instead of producing garbage', () => {
    expect(() => snappyDecompress(Uint8Array.from([10, (3 << 2) | 0, 97]))).toThrow(/literal runs past the end/);
    expect(() => snappyDecompress(Uint8Array.from([8, ((8 - 4) << 2) | 1, 4]))).toThrow(/bad copy/);
    expect(() => snappyDecompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 1000)).toThrow(/exceeds the limit/);
  });
});

describe('remote write → OTLP', () => {
  it('keeps names and labels verbatim; job/instance become the resource and come back as labels', () => {
    const t = Date.now();
    const body = encodeWriteRequest([
      { labels: { __name__: 'http_server_request_duration_bucket', job: 'moodle', instance: 'web-1', faculty: 'law', le: '0.5' }, samples: [{ timestampMs: t - 15_000, value: 3 }, { timestampMs: t, value: 5 }] },
      { labels: { __name__: 'ecampus_logins_total', job: 'moodle', instance: 'web-1', outcome: 'success' }, samples: [{ timestampMs: t, value: 9 }] },
      { labels: { __name__: 'up', job: 'node', instance: 'db-1' }, samples: [{ timestampMs: t, value: 1 }] },
    ]);
    const samples = decodeRemoteWrite(body);
    expect(samples).toHaveLength(4);
    const batches = remoteWriteToBatches(samples, {}, t);
    expect(batches.map((b) => `${b.resource['service.name']}/${b.resource['host.name']}`).sort()).toEqual(['moodle/web-1', 'node/db-1']);
    const stored = batches.flatMap((b) => toSamples(decodeMetricsRequest(encodeBatch(b)), { nowMs: t }).samples);
    const names = stored.map((s) => `${s.metric}{${Object.entries(s.labels).filter(([k]) => k !== 'otel_scope_name').map(([k, v]) => `${k}=${v}`).sort().join(',')}}@${s.timestampMs}=${s.value}`).sort();
    expect(names).toEqual([
      `ecampus_logins_total{instance=web-1,job=moodle,outcome=success}@${t}=9`,
      `http_server_request_duration_bucket{faculty=law,instance=web-1,job=moodle,le=0.5}@${t - 15_000}=3`,
      `http_server_request_duration_bucket{faculty=law,instance=web-1,job=moodle,le=0.5}@${t}=5`,
      `up{instance=db-1,job=node}@${t}=1`,
    ]);
  });

  it('turns classic histogram parts of an import into one histogram the pipeline stores as counters', () => {
    const t = Date.now();
    const h = (name: string, extra: Record<string, string>, value: number, at = t) => ({ labels: { __name__: name, job: 'moodle', instance: 'web-1', faculty: 'law', ...extra }, samples: [{ timestampMs: at, value }] });
    const body = encodeWriteRequest([
      h('http_server_request_duration_bucket', { le: '0.5' }, 3),
      h('http_server_request_duration_bucket', { le: '2' }, 7),
      h('http_server_request_duration_bucket', { le: '+Inf' }, 8),
      h('http_server_request_duration_sum', {}, 9.5),
      h('http_server_request_duration_count', {}, 8),
      // Not a histogram: buckets that decrease travel as they came, as gauges.
      h('broken_bucket', { le: '1' }, 5),
      h('broken_bucket', { le: '+Inf' }, 4),
      // A summary's _count has no buckets: untouched.
      h('rpc_duration_count', {}, 12),
    ]);
    const skipped = { nan: 0, histogramParts: 0 };
    const batches = promSamplesToBatches(decodeRemoteWrite(body), { resource: {}, nowMs: t, scope: 'test', skipped });
    const metrics = batches.flatMap((b) => b.metrics);
    const hist = metrics.find((m) => m.name === 'http_server_request_duration');
    expect(hist).toMatchObject({ kind: 'histogram', bounds: [0.5, 2] });
    expect(hist!.points).toEqual([{ attributes: { faculty: 'law' }, bucketCounts: [3, 4, 1], count: 8, sum: 9.5, timeMs: t }]);
    expect(metrics.filter((m) => m.name === 'broken_bucket').map((m) => m.kind)).toEqual(['gauge']);
    expect(metrics.find((m) => m.name === 'rpc_duration_count')?.kind).toBe('gauge');
    expect(skipped.histogramParts).toBe(2);
    const { samples } = toSamples(decodeMetricsRequest(encodeBatch(batches[0]!)), { nowMs: t });
    const of = (metric: string, le?: string) => samples.filter((x) => x.metric === metric && x.labels['le'] === le);
    expect(of('http_server_request_duration_bucket', '2').map((x) => x.value)).toEqual([7]);
    expect(of('http_server_request_duration_bucket', '+Inf').map((x) => x.value)).toEqual([8]);
    expect(of('http_server_request_duration_sum').map((x) => x.value)).toEqual([9.5]);
    expect(of('http_server_request_duration_count').map((x) => x.value)).toEqual([8]);
    // Stored with counter semantics (rate(), resets, per-minute increases), not as gauges.
    expect(of('http_server_request_duration_bucket', '2').every((x) => (x as DecodedSample).counter === true)).toBe(true);
    expect(samples.filter((x) => x.metric === 'broken_bucket').every((x) => (x as DecodedSample).counter === false)).toBe(true);
    // Remote write keeps per-series gauges (a request may carry only some buckets of an observation).
    expect(remoteWriteToBatches(decodeRemoteWrite(body), {}, t).flatMap((b) => b.metrics).every((m) => m.kind === 'gauge')).toBe(true);
  });

  it('names a series without __name__ and truncated protobuf', () => {
    expect(() => decodeRemoteWrite(encodeWriteRequest([{ labels: { a: 'b' }, samples: [{ timestampMs: 1, value: 1 }] }]))).toThrow(/without __name__/);
    const ok = encodeWriteRequest([{ labels: { __name__: 'x' }, samples: [{ timestampMs: 1, value: 1 }] }]);
    // Re-frame a cut protobuf as a valid snappy literal block.
    const raw = snappyDecompress(ok);
    const cut = raw.subarray(0, raw.length - 3);
    const framed = Uint8Array.from([cut.length, (cut.length - 1) << 2, ...cut]);
    expect(() => decodeRemoteWrite(framed)).toThrow(/protobuf/);
  });
});
