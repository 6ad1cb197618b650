import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableProducer } from '../../../collectors/durableProducer.ts';
import { startOtlpGateway, type OtlpGateway } from '../../../collectors/otlpGateway.ts';
import { encodeBatch, type PointBatch } from '../../../collectors/pointBatch.ts';
import { decodeMetricsRequest, toSamples } from '../../../otlp/decode.ts';
import { fakeProducer } from './fakeProducer.ts';

const T = Date.now();
const batch = (host: string, v: number): PointBatch => ({
  resource: { 'service.name': 'moodle', 'host.name': host },
  scope: 'test',
  timeMs: T,
  metrics: [{ kind: 'gauge', name: 'ecampus.sessions.active', points: [{ attributes: { faculty: 'law' }, value: v }] }],
});
/** Two resources in one request, as an SDK with several resources or a Collector sends. */
const twoResources = (): Uint8Array => {
  const a = decodeMetricsRequest(encodeBatch(batch('web-1', 1)));
  const b = decodeMetricsRequest(encodeBatch(batch('web-2', 2)));
  return encodeReq({ resourceMetrics: [...a.resourceMetrics!, ...b.resourceMetrics!] });
};
import { encodeRequestObject as encodeReq } from '../../../otlp/request.ts';

const open: OtlpGateway[] = [];
afterEach(async () => {
  for (const g of open.splice(0)) await g.close();
});
async function gateway(opts: Partial<Parameters<typeof startOtlpGateway>[0]> = {}) {
  const producer = opts.producer ?? fakeProducer();
  const g = await startOtlpGateway({ producer, topic: 'otlp_metrics', port: 0, ...opts });
  open.push(g);
  return { g, producer: producer as ReturnType<typeof fakeProducer> };
}

describe('OTLP/HTTP gateway', () => {
  it('splits a protobuf request per resource, keyed service/host, and answers an empty ExportMetricsServiceResponse', async () => {
    const { g, producer } = await gateway();
    const res = await fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: twoResources() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    expect(producer.sent.map((s) => s.message.key)).toEqual(['moodle/web-1', 'moodle/web-2']);
    const values = producer.sent.map((s) => toSamples(decodeMetricsRequest(s.message.value), { nowMs: T }).samples[0]!.value);
    expect(values).toEqual([1, 2]);
    expect(g.stats()).toMatchObject({ requests: 1, accepted: 1, messages: 2, points: 2 });
  });

  it('accepts OTLP/JSON with gzip (int64 as strings, enums as numbers)', async () => {
    const { g, producer } = await gateway();
    const json = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'moodle' } }, { key: 'host.name', value: { stringValue: 'web-9' } }] },
          scopeMetrics: [
            {
              scope: { name: 'sdk' },
              metrics: [
                {
                  name: 'ecampus.logins',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [{ attributes: [{ key: 'faculty', value: { stringValue: 'law' } }], startTimeUnixNano: String(BigInt(T - 1000) * 1000000n), timeUnixNano: String(BigInt(T) * 1000000n), asInt: '7' }],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${g.url}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(json)),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const [s] = toSamples(decodeMetricsRequest(producer.sent[0]!.message.value), { nowMs: T }).samples;
    expect(s).toMatchObject({ metric: 'ecampus_logins_total', value: 7, timestampMs: T, labels: { faculty: 'law', job: 'moodle', instance: 'web-9' } });
  });

  it('refuses a missing or wrong bearer token with 401 and produces nothing', async () => {
    const { g, producer } = await gateway({ bearerTokens: ['s3cret'] });
    const post = (auth?: string) =>
      fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...(auth ? { authorization: auth } : {}) }, body: twoResources() });
    expect((await post()).status).toBe(401);
    expect((await post('Bearer nope')).status).toBe(401);
    expect(producer.sent).toHaveLength(0);
    expect((await post('Bearer s3cret')).status).toBe(200);
    expect(g.stats().rejected).toEqual({ unauthorized: 2 });
  });

  it('answers 413 past the body limit, compressed or once decompressed', async () => {
    const { g } = await gateway({ maxBodyBytes: 2048 });
    const big = new Uint8Array(4096);
    const r1 = await fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: big });
    expect(r1.status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(100_000)); // ~100 bytes on the wire
    const r2 = await fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: bomb });
    expect(r2.status).toBe(413);
  });

  it('answers 400 for undecodable bodies and 415 for other media types, naming the problem', async () => {
    const { g } = await gateway();
    const bad = await fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceMetrics": 3' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const other = await fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(other.status).toBe(415);
  });

  it('answers 503 with Retry-After when the producer buffer is full, so senders retry', async () => {
    const inner = fakeProducer();
    inner.failNext = 1_000_000;
    const producer = new DurableProducer({ inner, maxBufferBytes: 300, retryInitialMs: 10_000 });
    await producer.connect();
    const { g } = await gateway({ producer, retryAfterSeconds: 7 });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeBatch(batch('web-1', i)) });
      statuses.push(r.status);
      if (r.status === 503) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(503);
    expect(retryAfter).toBe('7');
    await producer.disconnect(10);
  });

  it('answers 429 with Retry-After past the in-flight limit, while the first request is still being produced', async () => {
    let release: () => void = () => undefined;
    const slow = fakeProducer();
    const send = slow.send;
    slow.send = async (t, m) => {
      await new Promise<void>((r) => (release = r));
      return send(t, m);
    };
    const { g } = await gateway({ producer: slow, maxInFlight: 1, retryAfterSeconds: 3 });
    const post = () => fetch(`${g.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeBatch(batch('web-1', 1)) });
    const first = post();
    await new Promise((r) => setTimeout(r, 100));
    const second = await post();
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('3');
    release();
    expect((await first).status).toBe(200);
    expect(g.stats().rejected).toEqual({ throttled: 1 });
  });
});
